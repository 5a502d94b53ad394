"""Warehouse tables as assets, and their quality checks as asset checks that can be run alone from the UI.

A table that a group's step writes is part of that group's **graph-backed assets**
(:func:`build_group_assets`): the group's own graph, whose outputs are the tables it produces
(:mod:`spine_dagster.plan.ownership` picks one producing step per table), partitioned like the group.
Materializing a table from the asset graph or with ``dagster asset materialize`` runs the steps it needs,
for that partition, with the group's retries, pools, fail-fast and checks. A table that only pipelines no
group runs write stays an external asset (:func:`build_table_assets`), for lineage.

Descriptions come from what the pipelines declare (``table_descriptions``, each check's ``description``);
this module adds only what it knows itself: which pipelines write a table and each check's severity.
"""

# No `from __future__ import annotations`: Dagster inspects the check function's context annotation.

from collections.abc import Callable, Mapping

import dagster as dg

from ..errors import SpineError
from ..pipelines.base import QualityCheck
from ..pipelines.context import CheckContext
from ..pipelines.registry import PipelineRegistry
from ..plan.planner import params_for_run
from ..runtime.binding import JobBinding
from ..runtime.quality import check_result
from .jobs import graph_assets
from .translator import SpineDagsterTranslator

PartitionParams = Callable[[str], Mapping[str, object]]


def _table_spec(
    table: str,
    registry: PipelineRegistry,
    translator: SpineDagsterTranslator,
    kind: str,
    partitions_def: dg.PartitionsDefinition | None = None,
    produced_by: str = "",
) -> dg.AssetSpec:
    """A table's asset: deps from what its writers read, description from what they declare."""
    writers = [p for p in registry if table in p.writes]
    written_by = ", ".join(p.name for p in writers)
    declared = next((p.table_descriptions[table] for p in writers if p.table_descriptions.get(table)), "")
    upstream = sorted({t for p in writers for t in p.reads})
    description = f"{declared}\n\n" if declared else ""
    metadata = {"spine/table": table, "spine/written_by": written_by}
    if produced_by:
        description += f"Warehouse table {table}, written by {written_by}; produced by {produced_by}."
        metadata["spine/produced_by"] = produced_by
    else:
        description += (
            f"Warehouse table {table}, written by {written_by} (no group runs them: not materializable)."
        )
    return dg.AssetSpec(
        key=translator.get_asset_key(table),
        description=description,
        deps=[translator.get_asset_key(t) for t in upstream],
        group_name=translator.get_asset_group_name(table),
        kinds={kind},
        metadata=metadata,
        partitions_def=partitions_def,
    )


def build_table_assets(
    registry: PipelineRegistry, translator: SpineDagsterTranslator, kind: str, produced: frozenset[str]
) -> list[dg.AssetSpec]:
    """An external AssetSpec per table a registered pipeline writes that no group produces (lineage only)."""
    tables = sorted({t for p in registry for t in p.writes} - produced)
    return [_table_spec(table, registry, translator, kind) for table in tables]


def _ancestors(binding: JobBinding, alias: str) -> set[str]:
    seen: set[str] = set()
    todo = [alias]
    while todo:
        for dep in binding.step(todo.pop()).step.depends_on:
            dep_alias = binding.aliases.alias(dep)
            if dep_alias not in seen:
                seen.add(dep_alias)
                todo.append(dep_alias)
    return seen


def build_group_assets(
    binding: JobBinding,
    graph: dg.GraphDefinition,
    registry: PipelineRegistry,
    translator: SpineDagsterTranslator,
    kind: str,
) -> dg.AssetsDefinition | None:
    """The group's graph as assets: one per table it produces (and per leaf step that writes none).

    ``can_subset``: selecting one table runs only the steps it needs (its ``depends_on`` ancestors and its
    producing step); selecting all of them runs the whole group. ``None`` when the group produces no table.
    """
    outputs = graph_assets(binding, translator)
    if not outputs:
        return None
    plan = binding.plan
    partitions_def = translator.get_partitions_def(plan.spec)
    first_table = next(a.table for a in outputs.values() if a.table is not None)
    specs = []
    for asset in outputs.values():
        step = binding.step(asset.alias).step
        where = f"group {plan.name}, step {step.name}"
        if asset.table is not None:
            specs.append(_table_spec(asset.table, registry, translator, kind, partitions_def, where))
            continue
        upstream = _ancestors(binding, asset.alias)
        specs.append(
            dg.AssetSpec(
                key=asset.key,
                description=(
                    f"Step {step.name} ({step.pipeline}) of group {plan.name}: it writes no table, so this "
                    "asset stands for the step and is materialized each time it succeeds."
                ),
                deps=sorted(
                    {binding.step(a).asset_keys[t] for a in upstream for t in binding.step(a).produces},
                    key=lambda k: k.to_user_string(),
                ),
                group_name=translator.get_asset_group_name(first_table),
                kinds={"spine"},
                metadata={"spine/group": plan.name, "spine/step": step.name},
                partitions_def=partitions_def,
            )
        )
    return dg.AssetsDefinition(
        node_def=graph,
        keys_by_output_name={name: asset.key for name, asset in outputs.items()},
        specs=specs,
        can_subset=True,
    )


def partition_check_params(
    binding: JobBinding, table: str, registry: PipelineRegistry
) -> PartitionParams | None:
    """For a table the group produces, partitioned: a partition key -> the params its producing step runs
    with for that partition (what the step's own check of that partition sees). ``None`` otherwise."""
    if binding.partition_params is None:
        return None
    alias = next((a for a, s in binding.steps.items() if table in s.produces), None)
    if alias is None:
        return None
    plan, step, partition_params = binding.plan, binding.step(alias).step, binding.partition_params

    def params(key: str) -> Mapping[str, object]:
        given = partition_params(key)
        try:
            return params_for_run(plan, step.name, given, registry)[0]
        except SpineError:
            return given  # a required run param no partition fills: the partition's own params

    return params


def _asset_check(
    check: QualityCheck, translator: SpineDagsterTranslator, params_of: PartitionParams | None
) -> dg.AssetChecksDefinition:
    """The check as a Dagster asset check, unpartitioned so the asset page can run it on its own.

    Why not partitioned like its table: Dagster 1.13's UI disables Execute for the checks of a partitioned
    asset ("not yet supported") and its "Execute all" launches them without a partition, which fails inside
    Dagster. Unpartitioned, Execute runs it over the whole table; in a run with a partition (Materialize
    of a partition adds the table's checks after its step) it checks that partition, named in the
    evaluation's ``spine/partition`` metadata (Dagster gives an unpartitioned check's evaluation no
    partition). The evaluations a step records inside a group's run carry their partition.
    """
    in_partition = "in a run of a partition it checks that partition, " if params_of else ""

    @dg.asset_check(
        asset=translator.get_asset_key(check.table),
        name=translator.get_check_name(check),
        description=f"{check.description} (severity {check.severity}; {in_partition}run alone it checks the whole table)",
        blocking=check.blocking,
        required_resource_keys={"warehouse"},
    )
    def _run(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        warehouse = context.resources.warehouse.connection()  # the run's, shared with its steps
        log = context.log  # type: ignore[assignment]
        op_context = context.op_execution_context
        try:
            if params_of is not None and op_context.has_partition_key:
                key = op_context.partition_key
                ctx = CheckContext.for_partition(warehouse, params_of(key), key, log)  # type: ignore[arg-type]
                return check_result(check, check.evaluate(ctx), partition=key)
            ctx = CheckContext.for_table(warehouse, log)  # type: ignore[arg-type]
            return check_result(check, check.evaluate(ctx))
        except BaseException:
            context.resources.warehouse.discard()
            raise

    return _run


def build_table_checks(
    registry: PipelineRegistry, translator: SpineDagsterTranslator, partitioned: Mapping[str, PartitionParams]
) -> list[dg.AssetChecksDefinition]:
    """One asset check per (table, check) that registered pipelines declare.

    ``partitioned``: table -> the params a partition of it is written with; such a table's checks, run with
    a partition, check that partition only.
    """
    seen: dict[tuple[str, str], QualityCheck] = {}
    for pipeline in registry:
        for check in pipeline.checks:
            seen.setdefault((check.table, check.name), check)
    return [
        _asset_check(check, translator, partitioned.get(table)) for (table, _), check in sorted(seen.items())
    ]


def group_by_table(bindings: Mapping[str, JobBinding]) -> dict[str, JobBinding]:
    """table -> the job binding of the group that produces its asset."""
    found: dict[str, JobBinding] = {}
    for binding in bindings.values():
        for step in binding.steps.values():
            for table in step.produces:
                found[table] = binding
    return found
