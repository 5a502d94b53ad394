"""The FINRA OTC Transparency domain: weekly ATS and non-ATS volume by symbol and venue.

``register(registry)`` adds its four pipelines. Nothing here imports dagster.
"""

from __future__ import annotations

from ...pipelines.registry import PipelineRegistry


def register(registry: PipelineRegistry) -> None:
    """Add ingest_week, normalize_week, aggregate_week and compute_rolling to ``registry``."""
    from .pipelines import PIPELINES

    for pipeline in PIPELINES:
        registry.register(pipeline)
