"""Acme's market-data pipelines for spine-dagster.

The entry point ``acme.prices`` (pyproject.toml) names :func:`register`: spine-dagster calls it with the
registry to fill, in every process that discovers pipelines. Its name is the namespace of the pipelines it
registers (``acme.prices.*``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .daily_close import DailyClose

if TYPE_CHECKING:
    from spine_dagster.pipelines import PipelineRegistry


def register(registry: PipelineRegistry) -> None:
    """Add this package's pipelines to ``registry``."""
    registry.register(DailyClose)
