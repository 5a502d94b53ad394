"""The base of every spec model (its own module so the language's parts can live in modules of their own)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class SpecModel(BaseModel):
    """Base of every spec model: immutable, unknown keys rejected.

    ``unknown_key_note``, when set, follows the message about an unknown key in this model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    unknown_key_note: ClassVar[str] = ""
