"""What a pipeline sees while it runs (no dagster: domain code is testable with a warehouse alone)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepContext:
    """Everything a step needs besides its params.

    ``attempt`` is 1 for the first try of the step in this run and grows with each retry.
    ``warehouse`` is whatever storage the runtime hands over (``None`` for pipelines that need none).
    """

    group: str
    step: str
    run_id: str
    batch_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1
    partition_key: str | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("spine_dagster.step"))
    warehouse: Any = None
