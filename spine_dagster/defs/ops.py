"""One op definition per (registered pipeline, pool), reused by every step that runs it."""

# No `from __future__ import annotations` here: Dagster reads the op signature's config type at runtime.

from typing import Any

import dagster as dg

from ..pipelines.base import Pipeline
from ..runtime.execute import execute_step

AFTER_INPUT = "after"


class StepRunConfig(dg.Config):
    """What each step op receives in run config: the run params (filled by the job's config mapping)."""

    params: dict[str, Any] = {}


def build_pipeline_op(pipeline: Pipeline, pool: str | None, name: str) -> dg.OpDefinition:
    """The op that runs ``pipeline``; ``after`` is a Nothing input that carries ``depends_on`` edges."""

    @dg.op(
        name=name,
        description=pipeline.description or None,
        ins={AFTER_INPUT: dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
        required_resource_keys={"spine", "warehouse"},
        pool=pool,
        tags={"spine/pipeline": pipeline.name},
    )
    def _step(context: dg.OpExecutionContext, config: StepRunConfig) -> None:
        execute_step(context, context.resources.spine, config.params)

    return _step
