"""GroupPlan -> Dagster job: one op invocation per step, aliased by step name; depends_on -> Nothing edges."""

from __future__ import annotations

import dagster as dg

from ..pipelines.registry import PipelineRegistry
from ..plan.model import GroupPlan
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


def step_aliases(plan: GroupPlan, translator: SpineDagsterTranslator) -> dict[str, str]:
    """Step name -> node alias; raises ValueError when two steps map to one alias."""
    aliases: dict[str, str] = {}
    seen: dict[str, str] = {}
    for step in plan.steps:
        alias = translator.get_node_alias(step)
        if alias in seen:
            raise ValueError(
                f"steps {seen[alias]!r} and {step.name!r} both become op {alias!r} in Dagster: rename one"
            )
        seen[alias] = step.name
        aliases[step.name] = alias
    return aliases


def build_group_job(
    plan: GroupPlan,
    catalog: OpCatalog,
    translator: SpineDagsterTranslator,
    resource_defs: dict[str, object] | None = None,
) -> dg.JobDefinition:
    """The Dagster job of a group (see DESIGN.md §5 for the mapping)."""
    spec = plan.group.spec
    aliases = step_aliases(plan, translator)
    dependencies: dict[dg.NodeInvocation, dict[str, dg.IDependencyDefinition]] = {}
    node_defs: dict[str, dg.OpDefinition] = {}
    for step in plan.steps:
        op = catalog.get(step.pipeline, step.pool)
        node_defs[op.name] = op
        invocation = dg.NodeInvocation(
            name=op.name,
            alias=aliases[step.name],
            tags=translator.get_op_tags(step),
            retry_policy=translator.get_retry_policy(step.retry),
        )
        upstream = list(dict.fromkeys(step.depends_on))
        dependencies[invocation] = (
            {
                AFTER_INPUT: dg.MultiDependencyDefinition(
                    [dg.DependencyDefinition(aliases[d]) for d in upstream]
                )
            }
            if upstream
            else {}
        )
    job_name = translator.get_job_name(spec)
    partitions_def = translator.get_partitions_def(spec)
    graph = dg.GraphDefinition(
        name=job_name,
        node_defs=list(node_defs.values()),
        dependencies=dependencies,
        description=spec.description or None,
    )
    metadata: dict[str, dg.RawMetadataValue] = {
        "spine/group": spec.name,
        "spine/version": str(spec.version),
        "spine/execution": spec.policy.execution,
        "spine/on_failure": spec.policy.on_failure,
        "spine/plan_order": ", ".join(s.name for s in plan.steps),
    }
    if plan.group.source.path:
        metadata["spine/group_file"] = plan.group.source.path
    if spec.owners:
        metadata["spine/owners"] = ", ".join(spec.owners)
    return graph.to_job(
        name=job_name,
        description=spec.description or f"spine group {spec.name}",
        executor_def=translator.get_executor(plan),
        tags=translator.get_job_tags(plan),
        config=build_job_config(
            plan, catalog.registry, list(aliases.values()), partitions_def, translator.get_partition_params
        ),
        partitions_def=partitions_def,
        metadata=metadata,
        # Given here, Definitions need not copy and re-validate every job to attach them.
        resource_defs=resource_defs,
    )
