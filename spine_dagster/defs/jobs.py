"""GroupPlan -> Dagster job: one op invocation per step, aliased by step name; depends_on -> Nothing edges.

Each job comes with its :class:`~spine_dagster.runtime.binding.JobBinding`: the same translator decisions
(aliases, retry policies, asset keys, check names, partition params), handed to the runtime.
"""

from __future__ import annotations

import functools

import dagster as dg

from ..pipelines.registry import PipelineRegistry
from ..plan.model import GroupPlan, StepPlan
from ..runtime.binding import JobBinding, StepAliases, StepBinding
from .config import build_job_config
from .ops import AFTER_INPUT, build_pipeline_op
from .translator import SpineDagsterTranslator


class OpCatalog:
    """Op definitions shared by every job of the code location: one per (pipeline, pool)."""

    def __init__(self, registry: PipelineRegistry, translator: SpineDagsterTranslator) -> None:
        self.registry = registry
        self.translator = translator
        self.ops: dict[str, dg.OpDefinition] = {}
        self.keys: dict[str, tuple[str, str | None]] = {}

    def get(self, pipeline: str, pool: str | None) -> dg.OpDefinition:
        name = self.translator.get_op_name(pipeline, pool)
        if name in self.ops:
            if self.keys[name] != (pipeline, pool):
                raise ValueError(
                    f"pipelines/pools {self.keys[name]} and {(pipeline, pool)} map to the same Dagster op "
                    f"name {name!r}: rename one"
                )
            return self.ops[name]
        op = build_pipeline_op(self.registry.get(pipeline), pool, name)
        self.ops[name], self.keys[name] = op, (pipeline, pool)
        return op


def step_aliases(plan: GroupPlan, translator: SpineDagsterTranslator) -> StepAliases:
    """Step names and node aliases both ways; :class:`ValueError` when two steps map to one alias."""
    return StepAliases.of({step.name: translator.get_node_alias(step) for step in plan.steps})


def _bind_step(step: StepPlan, registry: PipelineRegistry, translator: SpineDagsterTranslator) -> StepBinding:
    pipeline = registry.get(step.pipeline)
    tables = dict.fromkeys([*pipeline.writes, *(c.table for c in pipeline.checks)])
    return StepBinding(
        step=step,
        retry_policy=translator.get_retry_policy(step.retry),
        retry_delay_cap=translator.get_retry_delay_cap(step.retry),
        asset_keys={table: translator.get_asset_key(table) for table in tables},
        check_names={check.name: translator.get_check_name(check) for check in pipeline.checks},
    )


def bind_job(plan: GroupPlan, registry: PipelineRegistry, translator: SpineDagsterTranslator) -> JobBinding:
    """The runtime's view of ``plan``'s job (raises :class:`ValueError` on an alias collision)."""
    aliases = step_aliases(plan, translator)
    parts = plan.partitions
    return JobBinding(
        job_name=translator.get_job_name(plan.spec),
        plan=plan,
        aliases=aliases,
        steps={aliases.alias(step.name): _bind_step(step, registry, translator) for step in plan.steps},
        partition_params=None if parts is None else functools.partial(translator.get_partition_params, parts),
    )


def build_group_job(
    binding: JobBinding,
    catalog: OpCatalog,
    translator: SpineDagsterTranslator,
    resource_defs: dict[str, object] | None = None,
) -> dg.JobDefinition:
    """The Dagster job of a group (see DESIGN.md §5 for the mapping)."""
    plan, aliases = binding.plan, binding.aliases
    spec = plan.spec
    dependencies: dict[dg.NodeInvocation, dict[str, dg.IDependencyDefinition]] = {}
    node_defs: dict[str, dg.OpDefinition] = {}
    for alias, step_binding in binding.steps.items():
        step = step_binding.step
        op = catalog.get(step.pipeline, step.pool)
        node_defs[op.name] = op
        invocation = dg.NodeInvocation(
            name=op.name,
            alias=alias,
            tags=translator.get_op_tags(step),
            retry_policy=step_binding.retry_policy,
        )
        upstream = list(dict.fromkeys(step.depends_on))
        dependencies[invocation] = (
            {
                AFTER_INPUT: dg.MultiDependencyDefinition(
                    [dg.DependencyDefinition(aliases.alias(d)) for d in upstream]
                )
            }
            if upstream
            else {}
        )
    job_name = binding.job_name
    partitions_def = translator.get_partitions_def(spec)
    graph = dg.GraphDefinition(
        name=job_name,
        node_defs=list(node_defs.values()),
        dependencies=dependencies,
        description=spec.description or None,
    )
    return graph.to_job(
        name=job_name,
        description=translator.get_job_description(plan),
        executor_def=translator.get_executor(plan),
        tags=translator.get_job_tags(plan),
        config=build_job_config(binding, catalog.registry, partitions_def),
        partitions_def=partitions_def,
        metadata=translator.get_job_metadata(plan),
        # Given here, Definitions need not copy and re-validate every job to attach them.
        resource_defs=resource_defs,
    )
