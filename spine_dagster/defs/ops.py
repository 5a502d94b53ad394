"""One op definition per (registered pipeline, pool), reused by every step that runs it."""

# No `from __future__ import annotations` here: Dagster reads the op signature at runtime.

import dagster as dg

from ..pipelines.base import Pipeline
from ..runtime.execute import execute_step, needs_warehouse

AFTER_INPUT = "after"


# What each step op receives in run config: ``{"params": {...}}``, the run params (filled by the job's
# config mapping). A plain config schema, not a ``dg.Config`` class: the class would be validated and
# built again for every step (about 0.2 ms each, bench/overhead.py), and the op only reads one dict.
STEP_RUN_CONFIG = dg.Field(
    dg.Shape({"params": dg.Field(dg.Noneable(dg.Map(str, dg.Any)), default_value={}, is_required=False)}),
    description="What each step op receives in run config: the run params (filled by the job's config mapping).",
)


def build_pipeline_op(pipeline: Pipeline, pool: str | None, name: str) -> dg.OpDefinition:
    """The op that runs ``pipeline``; ``after`` is a Nothing input that carries ``depends_on`` edges.

    Only ops whose pipeline uses the warehouse require the ``warehouse`` resource: Dagster initializes a
    run's resources only for the ops that require them, so a run of warehouse-free steps skips it.
    """

    @dg.op(
        name=name,
        description=pipeline.description or None,
        ins={AFTER_INPUT: dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
        required_resource_keys={"spine", "warehouse"} if needs_warehouse(pipeline) else {"spine"},
        pool=pool,
        tags={"spine/pipeline": pipeline.name},
        config_schema=STEP_RUN_CONFIG,
    )
    def _step(context: dg.OpExecutionContext) -> None:
        execute_step(context, context.resources.spine, context.op_config["params"] or {})

    return _step
