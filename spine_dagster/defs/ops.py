"""One op definition per (registered pipeline, pool), reused by every step that runs it."""

# No `from __future__ import annotations` here: Dagster reads the op signature at runtime.

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from ..pipelines.base import Pipeline
from ..runtime.execute import execute_step, needs_warehouse
from ..runtime.quality import RESULT_OUTPUT
from .config import step_params_fields

AFTER_INPUT = "after"


def step_run_config(pipeline: Pipeline) -> dg.Field:
    """What a step op receives in run config: ``{"params": {...}}``, the step's run params.

    ``params`` is typed from the pipeline's params model (:func:`~spine_dagster.defs.config.step_params_fields`):
    every param and alias with its type, description and default in words, all optional, so the
    Launchpad lists them and Dagster rejects a wrong type or an unknown param before the run starts. A
    pipeline that takes any param (``extra="allow"``, like ``spine.noop``) keeps a permissive ``params``.
    A plain config schema, not a ``dg.Config`` class: the class would be validated and built again for
    every step (about 0.2 ms each, bench/overhead.py), and the op only reads one dict.
    """
    fields = step_params_fields(pipeline)
    shape = dg.Permissive(fields) if pipeline.accepts_any_param() else dg.Shape(fields)
    return dg.Field(
        dg.Shape({"params": dg.Field(dg.Noneable(shape), default_value={}, is_required=False)}),
        description=f"The run params of a {pipeline.name} step (the job's config mapping or the partition fills them).",
    )


def run_params_of(
    run_config: Mapping[str, Any], own: Mapping[str, Any], accepted: frozenset[str] | None
) -> dict[str, Any]:
    """A step's run params: its op's ``params``, plus the run params its pipeline does not take.

    A step's templates and the required-run-param check may read a run param its pipeline does not take,
    which its op's config cannot hold: it comes from the run's ``params`` (an unpartitioned job's run
    config) or from the other ops' ``params`` (op-level config, the first op that gives it; in a run of the
    group's assets the ops' config sits one level down, under the group's graph).
    """
    others: dict[str, Any] = {}
    if isinstance(run_config.get("params"), Mapping):
        others = dict(run_config["params"])
    for op_config in _op_configs(run_config.get("ops")):
        for name, value in (op_config.get("params") or {}).items():
            others.setdefault(name, value)
    extra = {k: v for k, v in others.items() if k not in own and (accepted is None or k not in accepted)}
    return {**extra, **own}


def _op_configs(ops: object) -> Iterator[Mapping[str, Any]]:
    """Every op's ``config`` in a run config's ``ops`` section, graphs' ops included."""
    if not isinstance(ops, Mapping):
        return
    for node in ops.values():
        if not isinstance(node, Mapping):
            continue
        if isinstance(node.get("config"), Mapping):
            yield node["config"]
        yield from _op_configs(node.get("ops"))


def build_pipeline_op(
    pipeline: Pipeline, pool: str | None, name: str, table_outputs: Mapping[str, str]
) -> dg.OpDefinition:
    """The op that runs ``pipeline``; ``after`` is a Nothing input that carries ``depends_on`` edges.

    Outputs: ``result`` (Nothing) is what ``depends_on`` edges leave from; ``table_outputs`` gives one more
    optional Nothing output per table the pipeline writes (table -> output name). In the group's job they
    are unused; in the group's graph-backed assets (:func:`~spine_dagster.defs.assets.build_group_assets`)
    the producing step's output is the asset, so materializing it from the asset graph runs this op.

    Only ops whose pipeline uses the warehouse require the ``warehouse`` resource: Dagster initializes a
    run's resources only for the ops that require them, so a run of warehouse-free steps skips it.
    """
    accepted = None if pipeline.accepts_any_param() else frozenset(pipeline.accepted_param_names())
    outs = {RESULT_OUTPUT: dg.Out(dg.Nothing)}
    for table, output in table_outputs.items():
        outs[output] = dg.Out(dg.Nothing, is_required=False, description=f"table {table} (as an asset)")

    @dg.op(
        name=name,
        description=pipeline.description or None,
        ins={AFTER_INPUT: dg.In(dg.Nothing)},
        out=outs,
        required_resource_keys={"spine", "warehouse"} if needs_warehouse(pipeline) else {"spine"},
        pool=pool,
        tags={"spine/pipeline": pipeline.name},
        config_schema=step_run_config(pipeline),
    )
    def _step(context: dg.OpExecutionContext) -> Iterator[dg.Output]:
        params = run_params_of(context.run_config, context.op_config["params"] or {}, accepted)
        yield from execute_step(context, context.resources.spine, params)

    return _step
