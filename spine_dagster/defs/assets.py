"""Warehouse tables as external assets (lineage from what pipelines read and write) and their quality
checks as asset checks that can be run alone from the UI."""

# No `from __future__ import annotations`: Dagster inspects the check function's context annotation.

from collections import defaultdict

import dagster as dg

from ..pipelines.base import QualityCheck
from ..pipelines.context import StepContext
from ..pipelines.registry import PipelineRegistry
from ..runtime.quality import check_result
from .translator import SpineDagsterTranslator


def build_table_assets(
    registry: PipelineRegistry, translator: SpineDagsterTranslator, kind: str
) -> list[dg.AssetSpec]:
    """One AssetSpec per table a registered pipeline writes; its deps are what those pipelines read."""
    writers: dict[str, list[str]] = defaultdict(list)
    upstream: dict[str, set[str]] = defaultdict(set)
    for pipeline in registry:
        for table in pipeline.writes:
            writers[table].append(pipeline.name)
            upstream[table].update(pipeline.reads)
    specs = []
    for table in sorted(writers):
        specs.append(
            dg.AssetSpec(
                key=translator.get_asset_key(table),
                description=f"Warehouse table {table}, written by {', '.join(writers[table])}. "
                f"The `{table}_latest` view shows the newest capture of each (week, tier).",
                deps=[translator.get_asset_key(t) for t in sorted(upstream[table])],
                group_name=table.split(".")[0],
                kinds={kind},
                metadata={"spine/table": table, "spine/written_by": ", ".join(writers[table])},
            )
        )
    return specs


def _asset_check(check: QualityCheck, translator: SpineDagsterTranslator) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=translator.get_asset_key(check.table),
        name=check.name,
        description=f"{check.description} (severity {check.severity}; run alone it checks every (week, tier))",
        blocking=check.blocking,
        required_resource_keys={"warehouse"},
    )
    def _run(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        warehouse = context.resources.warehouse.open()
        try:
            ctx = StepContext(
                group="", step=f"check {check.name}", run_id=context.op_execution_context.run_id, batch_id="", warehouse=warehouse,
                log=context.log,  # type: ignore[arg-type]
            )  # fmt: skip
            return check_result(check, check.evaluate(ctx))
        finally:
            warehouse.close()

    return _run


def build_table_checks(
    registry: PipelineRegistry, translator: SpineDagsterTranslator
) -> list[dg.AssetChecksDefinition]:
    seen: dict[tuple[str, str], QualityCheck] = {}
    for pipeline in registry:
        for check in pipeline.checks:
            seen.setdefault((check.table, check.name), check)
    return [_asset_check(check, translator) for _, check in sorted(seen.items())]
