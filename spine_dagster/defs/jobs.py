"""GroupPlan -> Dagster job: one op invocation per step, aliased by step name; depends_on -> Nothing edges.

Each job comes with its :class:`~spine_dagster.runtime.binding.JobBinding`: the same translator decisions
(aliases, retry policies, asset keys, check names, partition params), handed to the runtime.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from ..pipelines.registry import PipelineRegistry
from ..plan.model import GroupPlan, StepPlan
from ..plan.ownership import TableOwnership, table_ownership
from ..runtime.binding import JobBinding, StepAliases, StepBinding
from ..runtime.quality import RESULT_OUTPUT
from ..spec.models import PartitionsSpec
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
        definition = self.registry.get(pipeline)
        outputs = {table: self.translator.get_table_output_name(table) for table in definition.writes}
        if len(set(outputs.values())) < len(outputs) or RESULT_OUTPUT in outputs.values():
            raise ValueError(f"pipeline {pipeline!r}: its tables {list(outputs)} map to clashing op outputs")
        op = build_pipeline_op(definition, pool, name, outputs)
        self.ops[name], self.keys[name] = op, (pipeline, pool)
        return op


def step_aliases(plan: GroupPlan, translator: SpineDagsterTranslator) -> StepAliases:
    """Step names and node aliases both ways; :class:`ValueError` when two steps map to one alias."""
    return StepAliases.of({step.name: translator.get_node_alias(step) for step in plan.steps})


@dataclass(frozen=True)
class AssetLayout:
    """Where every table's asset comes from (:mod:`spine_dagster.plan.ownership`) and its partitions.

    ``partitions``: table -> the partitions of its asset (its owner group's; ``None``: unpartitioned).
    """

    ownership: TableOwnership
    partitions: Mapping[str, PartitionsSpec | None]

    @classmethod
    def of(cls, plans: Sequence[GroupPlan], registry: PipelineRegistry) -> AssetLayout:
        ownership = table_ownership(plans, registry)
        by_name = {plan.name: plan for plan in plans}
        return cls(ownership, {t: by_name[w.group].partitions for t, w in ownership.owners.items()})


def _bind_step(
    plan: GroupPlan,
    step: StepPlan,
    registry: PipelineRegistry,
    translator: SpineDagsterTranslator,
    layout: AssetLayout,
) -> StepBinding:
    pipeline = registry.get(step.pipeline)
    tables = dict.fromkeys([*pipeline.writes, *(c.table for c in pipeline.checks)])
    owned = layout.ownership.owned_by(plan.name)
    return StepBinding(
        step=step,
        retry_policy=translator.get_retry_policy(step.retry),
        retry_delay_cap=translator.get_retry_delay_cap(step.retry),
        asset_keys={table: translator.get_asset_key(table) for table in tables},
        check_names={check.name: translator.get_check_name(check) for check in pipeline.checks},
        produces={
            table: translator.get_table_output_name(table)
            for table in pipeline.writes
            if owned.get(table) == step.name
        },
        partitioned=frozenset(
            t for t in tables if plan.partitions is not None and layout.partitions.get(t) == plan.partitions
        ),
    )


def bind_job(
    plan: GroupPlan,
    registry: PipelineRegistry,
    translator: SpineDagsterTranslator,
    layout: AssetLayout | None = None,
) -> JobBinding:
    """The runtime's view of ``plan``'s job (raises :class:`ValueError` on an alias collision).

    ``layout`` says which tables' assets the group produces (default: ``plan`` alone decides).
    """
    layout = layout or AssetLayout.of([plan], registry)
    aliases = step_aliases(plan, translator)
    parts = plan.partitions
    return JobBinding(
        job_name=translator.get_job_name(plan.spec),
        plan=plan,
        aliases=aliases,
        steps={
            aliases.alias(step.name): _bind_step(plan, step, registry, translator, layout)
            for step in plan.steps
        },
        partition_params=None if parts is None else functools.partial(translator.get_partition_params, parts),
    )


@dataclass(frozen=True)
class GraphAsset:
    """One output of a group's graph that is an asset: a table, or a leaf step that writes no table."""

    alias: str
    op_output: str
    key: dg.AssetKey
    table: str | None  # None: the step's own asset


def graph_assets(binding: JobBinding, translator: SpineDagsterTranslator) -> dict[str, GraphAsset]:
    """The group graph's outputs (by graph output name) that are assets.

    Every table the group produces (:class:`AssetLayout`), from its producing step. Dagster requires every
    leaf of a graph-backed asset to produce one, so a leaf step that produces no table gets an asset of
    its own (:meth:`~SpineDagsterTranslator.get_step_asset_key`), materialized when the step succeeds: it
    stays in the graph and runs in its place. A group that produces no table has no assets (empty).
    """
    found: dict[str, GraphAsset] = {}
    for alias, step in binding.steps.items():
        for table, output in step.produces.items():
            found[output] = GraphAsset(alias, output, step.asset_keys[table], table)
    if not found:
        return found
    upstream = {dep for step in binding.steps.values() for dep in step.step.depends_on}
    for alias, step in binding.steps.items():
        if step.step.name in upstream or step.produces:
            continue
        name = f"{alias}__{RESULT_OUTPUT}"
        if name in found:
            raise ValueError(f"step {step.step.name!r}: graph output {name!r} clashes with a table's output")
        found[name] = GraphAsset(
            alias, RESULT_OUTPUT, translator.get_step_asset_key(binding.plan, alias), None
        )
    return found


def build_group_graph(
    binding: JobBinding, catalog: OpCatalog, translator: SpineDagsterTranslator
) -> dg.GraphDefinition:
    """The group's graph: one op invocation per step, ``depends_on`` as Nothing edges, and an output for
    each of :func:`graph_assets`. Both the group's job and its graph-backed assets are built from it."""
    plan, aliases = binding.plan, binding.aliases
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
                    [dg.DependencyDefinition(aliases.alias(d), RESULT_OUTPUT) for d in upstream]
                )
            }
            if upstream
            else {}
        )
    return dg.GraphDefinition(
        name=binding.job_name,
        node_defs=list(node_defs.values()),
        dependencies=dependencies,
        description=plan.spec.description or None,
        output_mappings=[
            dg.OutputMapping(
                graph_output_name=name, mapped_node_name=asset.alias, mapped_node_output_name=asset.op_output
            )
            for name, asset in graph_assets(binding, translator).items()
        ],
    )


def build_group_job(
    binding: JobBinding,
    graph: dg.GraphDefinition,
    registry: PipelineRegistry,
    translator: SpineDagsterTranslator,
    resource_defs: dict[str, object] | None = None,
) -> dg.JobDefinition:
    """The Dagster job of a group (see DESIGN.md §5 for the mapping), from :func:`build_group_graph`."""
    plan = binding.plan
    partitions_def = translator.get_partitions_def(plan.spec)
    return graph.to_job(
        name=binding.job_name,
        description=translator.get_job_description(plan),
        executor_def=translator.get_executor(plan),
        tags=translator.get_job_tags(plan),
        config=build_job_config(binding, registry, partitions_def),
        partitions_def=partitions_def,
        metadata=translator.get_job_metadata(plan),
        # Given here, Definitions need not copy and re-validate every job to attach them.
        resource_defs=resource_defs,
    )
