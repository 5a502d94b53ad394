"""After a step writes: one materialization per table it wrote, then its quality checks as asset check
evaluations. A failing check that is ``error`` and ``blocking`` (after the step's overrides) fails the step
without retries: the data, not the machinery, is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dagster as dg

from ..pipelines.base import CheckOutcome, Pipeline, QualityCheck, StepResult
from ..pipelines.context import CheckContext, StepContext
from .binding import StepBinding

RESULT_OUTPUT = "result"  # every step op's Nothing output, which depends_on edges leave from
_SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def metadata_value(value: Any) -> Any:
    """Metadata Dagster can store: scalars as they are, containers as JSON, anything else as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict | list | tuple):
        return dg.MetadataValue.json(jsonable(value))
    return str(value)


def jsonable(value: Any) -> Any:
    """Plain JSON values: containers recursively, anything else that is not a scalar as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def outcome_metadata(outcome: CheckOutcome) -> dict[str, Any]:
    return {k: metadata_value(v) for k, v in outcome.metadata.items() if v is not None}


def plan_materializations(
    context: dg.OpExecutionContext, binding: StepBinding, tables: Iterable[str]
) -> None:
    """Say, as the step starts, which tables (and partition) it is about to write, in the group's job.

    Dagster records these "materialization planned" events itself for asset runs, when it creates the run;
    an op job has no asset layer, so the step records them. They are what the asset's Partitions tab reads:
    a partition planned by a run that then failed shows as failed, by a run still going as in progress.
    """
    if context.has_assets_def:
        return  # an asset run: Dagster planned the selected assets when it created the run
    from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent

    partition = context.partition_key if context.has_partition_key else None
    step_key = str(context.op_handle)
    for table in tables:
        planned = AssetMaterializationPlannedData(
            binding.asset_keys[table], partition=partition if table in binding.partitioned else None
        )
        event = DagsterEvent.build_asset_materialization_planned_event(context.job_name, step_key, planned)
        context.instance.report_dagster_event(event, run_id=context.run_id)


def record_materializations(
    context: dg.OpExecutionContext, binding: StepBinding, ctx: StepContext, result: StepResult
) -> list[dg.Output]:
    """One materialization per table the step wrote, with its row count, metrics and preview.

    A table whose asset this step produces, in a run of the group's assets, comes back as the op output to
    yield (Dagster records the materialization of a selected asset output itself); every other write is
    logged here. Both carry the run's partition when the table's asset has the job's partitions.
    """
    step = binding.step
    shared = {k: metadata_value(v) for k, v in result.metrics.items() if not isinstance(v, dict | list)}
    partition = context.partition_key if context.has_partition_key else None
    selected = context.selected_output_names if context.has_assets_def else frozenset()
    outputs = []
    for table, rows in result.rows_written.items():
        description = f"{rows} rows written by {ctx.group} / {step.name} ({step.pipeline})"
        metadata: dict[str, Any] = {
            "rows": rows,
            "spine/group": ctx.group,
            "spine/step": step.name,
            "spine/batch_id": ctx.batch_id,
            **shared,
        }
        preview = result.previews.get(table)
        if preview:
            metadata["preview"] = dg.MetadataValue.md(preview)
        output = binding.produces.get(table)
        if output is not None and output in selected:
            outputs.append(dg.Output(None, output, metadata=metadata))  # (an output has no description)
            continue
        context.log_event(
            dg.AssetMaterialization(
                asset_key=binding.asset_keys[table],
                description=description,
                metadata=metadata,
                partition=partition if table in binding.partitioned else None,
            )
        )
    return outputs


def evaluate_checks(
    context: dg.OpExecutionContext, binding: StepBinding, pipeline: Pipeline, ctx: StepContext
) -> None:
    """Evaluate and record every check of the pipeline; raise when a blocking error check failed.

    Severity and blocking are the plan's (the pipeline's defaults after the step's ``checks:``).
    """
    step = binding.step
    check_ctx = CheckContext.for_step(ctx)
    partition = context.partition_key if context.has_partition_key else None
    blocking_failures = []
    for check in pipeline.checks:
        policy = step.check_policies[check.name]
        outcome = check.evaluate(check_ctx)
        context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=binding.asset_keys[check.table],
                check_name=binding.check_names[check.name],
                passed=outcome.passed,
                severity=_SEVERITY[policy.severity],
                description=outcome.message,
                metadata=outcome_metadata(outcome),
                blocking=policy.blocking,
                partition=partition if check.table in binding.partitioned else None,
            )
        )
        if not outcome.passed:  # a pass is in its evaluation event; a log line would be another event write
            context.log.warning(f"check {check.table}:{check.name} FAILED: {outcome.message}")
        if not outcome.passed and policy.severity == "error" and policy.blocking:
            blocking_failures.append(f"{check.name} ({outcome.message})")
    if blocking_failures:
        raise dg.Failure(
            description=f"blocking quality check(s) failed in step {step.name!r}: "
            + "; ".join(blocking_failures),
            allow_retries=False,
        )


def check_result(
    check: QualityCheck, outcome: CheckOutcome, partition: str | None = None
) -> dg.AssetCheckResult:
    """The result of a check run as Dagster's own check step; ``partition``: the run's partition it looked at
    (the check is unpartitioned, so Dagster records no partition on the evaluation: it is in the metadata)."""
    metadata = outcome_metadata(outcome)
    if partition is not None:
        metadata["spine/partition"] = partition
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=_SEVERITY[check.severity],
        description=outcome.message,
        metadata=metadata,
    )
