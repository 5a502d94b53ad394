"""Warehouse tables as external assets (lineage from what pipelines read and write) and their quality
checks as asset checks that can be run alone from the UI.

Descriptions come from what the pipelines declare (``table_descriptions``, each check's ``description``);
this module adds only what it knows itself: which pipelines write a table and each check's severity.
"""

# No `from __future__ import annotations`: Dagster inspects the check function's context annotation.

from collections import defaultdict

import dagster as dg

from ..pipelines.base import QualityCheck
from ..pipelines.context import CheckContext
from ..pipelines.registry import PipelineRegistry
from ..runtime.quality import check_result
from .translator import SpineDagsterTranslator


def build_table_assets(
    registry: PipelineRegistry, translator: SpineDagsterTranslator, kind: str
) -> list[dg.AssetSpec]:
    """One AssetSpec per table a registered pipeline writes; its deps are what those pipelines read."""
    writers: dict[str, list[str]] = defaultdict(list)
    upstream: dict[str, set[str]] = defaultdict(set)
    declared: dict[str, str] = {}
    for pipeline in registry:
        for table in pipeline.writes:
            writers[table].append(pipeline.name)
            upstream[table].update(pipeline.reads)
            if pipeline.table_descriptions.get(table):
                declared.setdefault(table, pipeline.table_descriptions[table])
    specs = []
    for table in sorted(writers):
        written_by = ", ".join(writers[table])
        description = f"{declared[table]}\n\n" if table in declared else ""
        specs.append(
            dg.AssetSpec(
                key=translator.get_asset_key(table),
                description=f"{description}Warehouse table {table}, written by {written_by}.",
                deps=[translator.get_asset_key(t) for t in sorted(upstream[table])],
                group_name=translator.get_asset_group_name(table),
                kinds={kind},
                metadata={"spine/table": table, "spine/written_by": written_by},
            )
        )
    return specs


def _asset_check(check: QualityCheck, translator: SpineDagsterTranslator) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=translator.get_asset_key(check.table),
        name=translator.get_check_name(check),
        description=f"{check.description} (severity {check.severity}; run alone it checks the whole table)",
        blocking=check.blocking,
        required_resource_keys={"warehouse"},
    )
    def _run(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        warehouse = context.resources.warehouse.open()
        try:
            ctx = CheckContext.for_table(warehouse, context.log)  # type: ignore[arg-type]
            return check_result(check, check.evaluate(ctx))
        finally:
            warehouse.close()

    return _run


def build_table_checks(
    registry: PipelineRegistry, translator: SpineDagsterTranslator
) -> list[dg.AssetChecksDefinition]:
    """One asset check per (table, check) that registered pipelines declare."""
    seen: dict[tuple[str, str], QualityCheck] = {}
    for pipeline in registry:
        for check in pipeline.checks:
            seen.setdefault((check.table, check.name), check)
    return [_asset_check(check, translator) for _, check in sorted(seen.items())]
