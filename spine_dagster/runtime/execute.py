"""The body of every step op: resolve params, run the pipeline, classify failures, enforce the timeout.

Failure classes (DESIGN.md §6):

* bad params, bad data, bad config -> ``dagster.Failure(allow_retries=False)``: retrying cannot help;
* anything else (including a step timeout) -> re-raised for the step's ``RetryPolicy``; when the retry
  has ``max_delay_seconds`` the delay is computed here, capped, and requested with ``RetryRequested``
  (Dagster's ``RetryPolicy`` has no cap).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg

from ..errors import SpineError, StepRunError
from ..pipelines.base import Pipeline
from ..pipelines.context import StepContext
from ..plan.batch import group_batch_id
from ..plan.model import GroupPlan
from ..plan.planner import params_for_run
from .binding import JobBinding, SpineRuntime, StepBinding
from .failfast import arm_fail_fast
from .outcome import BATCH_TAG
from .quality import (
    RESULT_OUTPUT,
    evaluate_checks,
    jsonable,
    plan_materializations,
    record_materializations,
)

log = logging.getLogger(__name__)


class StepTimeoutError(StepRunError):
    """The step ran longer than its ``timeout_seconds`` (retryable, like any transient failure)."""


def needs_warehouse(pipeline: Pipeline) -> bool:
    """Whether a pipeline's steps get a warehouse connection (and their op the ``warehouse`` resource)."""
    return bool(pipeline.reads or pipeline.writes or pipeline.checks)


@contextmanager
def step_timeout(seconds: float | None, step: str) -> Iterator[None]:
    """Raise :class:`StepTimeoutError` in this thread after ``seconds`` (SIGALRM; main thread only).

    Ops run on the main thread of their process under the in-process and multiprocess executors. A
    timeout cannot interrupt C code that holds the GIL until it returns to Python.
    """
    if not seconds:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        log.warning("step %s: timeout_seconds not enforced (not on the main thread)", step)
        yield
        return

    def _expired(signum: int, frame: object) -> None:
        raise StepTimeoutError(f"step {step!r} exceeded its timeout of {seconds:g} seconds")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_BATCH_IDS: dict[str, str] = {}  # run id -> batch id, so in-process steps tag the run once


def batch_id_for(context: dg.OpExecutionContext, plan: GroupPlan) -> str:
    """The run's batch id: the ``spine/batch_id`` tag, else one derived from the run (and tagged)."""
    run = context.dagster_run
    batch = run.tags.get(BATCH_TAG) or _BATCH_IDS.get(run.run_id)
    if batch:
        return batch
    record = context.instance.get_run_record_by_id(run.run_id)
    created = record.create_timestamp if record is not None else dt.datetime.now(dt.UTC)
    batch = group_batch_id(plan.name, now=created, token=run.run_id[:8])
    context.instance.add_run_tags(run.run_id, {BATCH_TAG: batch})
    _BATCH_IDS[run.run_id] = batch
    return batch


def attempt_for(context: dg.OpExecutionContext) -> int:
    """1-based attempt of this step, counting retries and earlier runs of a re-execution."""
    attempt = context.retry_number + 1
    step_key = str(context.op_handle)  # "STEP" in the group's job, "JOB.STEP" in a run of its assets
    run = context.dagster_run
    parent = run.parent_run_id
    while parent:
        parent_run = context.instance.get_run_by_id(parent)
        if parent_run is None:
            break
        for record in context.instance.all_logs(parent, of_type=dg.DagsterEventType.STEP_START):
            if record.dagster_event is not None and record.dagster_event.step_key == step_key:
                attempt += 1
        for record in context.instance.all_logs(parent, of_type=dg.DagsterEventType.STEP_RESTARTED):
            if record.dagster_event is not None and record.dagster_event.step_key == step_key:
                attempt += 1
        parent = parent_run.parent_run_id
    return attempt


def capped_retry(step: StepBinding, retry_number: int) -> dg.RetryRequested | None:
    """The retry to request after attempt ``retry_number + 1`` failed, when the step's delay is capped:
    the translator's policy computes the delay, its cap bounds it (``None``: leave it to the policy)."""
    policy, cap = step.retry_policy, step.retry_delay_cap
    if policy is None or cap is None or retry_number >= policy.max_retries:
        return None
    delay = min(max(policy.calculate_delay(retry_number + 1), 0.0), cap)
    return dg.RetryRequested(max_retries=policy.max_retries, seconds_to_wait=delay)


def execute_step(
    context: dg.OpExecutionContext, runtime: SpineRuntime, run_params: Mapping[str, Any]
) -> Iterator[dg.Output]:
    """Run the step this op invocation stands for and yield its outputs (under ``on_failure: stop``, a final
    failure stops the run)."""
    job, step = runtime.step_of(context)
    try:
        yield from _execute_step(context, runtime, job, step, run_params)
    except Exception:
        if job.plan.policy.on_failure == "stop":
            arm_fail_fast(context)
        raise


def _execute_step(
    context: dg.OpExecutionContext,
    runtime: SpineRuntime,
    job: JobBinding,
    binding: StepBinding,
    run_params: Mapping[str, Any],
) -> Iterator[dg.Output]:
    step = binding.step
    pipeline = runtime.registry.get(step.pipeline)
    plan_materializations(context, binding, pipeline.writes)
    params = dict(run_params)
    has_partition = context.has_partition_key
    if job.partition_params is not None and has_partition:
        params.update(job.partition_params(context.partition_key))
    values, model = _validated_params(job.plan, step.name, params, runtime)
    batch_id = batch_id_for(context, job.plan)
    attempt = attempt_for(context)
    # Every context.log line is an event-log write; the attempt and batch of a step are in its output
    # metadata (spine/attempt, spine/batch_id), so only a repeated attempt is worth a line in the UI.
    message = f"step {step.name} ({step.pipeline}) attempt {attempt}, batch {batch_id}"
    if attempt > 1:
        context.log.info(message)
    else:
        log.debug(message)
    # The run's connection in this process (closed with the run's resources), not one per step: each close
    # is a DuckDB checkpoint, which costs more as the tables grow (warehouse/session.py).
    warehouse = context.resources.warehouse.connection() if needs_warehouse(pipeline) else None
    ctx = StepContext(
        group=job.plan.name,
        step=step.name,
        run_id=context.run_id,
        batch_id=batch_id,
        params={**values, "batch_id": batch_id},
        attempt=attempt,
        partition_key=context.partition_key if has_partition else None,
        log=context.log,  # type: ignore[arg-type]  # DagsterLogManager quacks like a Logger
        warehouse=warehouse,
    )
    started = time.monotonic()
    try:
        with step_timeout(step.timeout_seconds, step.name):
            result = pipeline.run(ctx, model)
        # Outputs are yielded outside the timer: the alarm must not go off inside Dagster's own handling
        # of them. The checks then get what is left of the step's time.
        yield from record_materializations(context, binding, ctx, result)
        with step_timeout(_time_left(step.timeout_seconds, started, step.name), step.name):
            evaluate_checks(context, binding, pipeline, ctx)
    except BaseException as exc:
        if (
            warehouse is not None
        ):  # whatever state a failure left the connection in, the next step starts anew
            context.resources.warehouse.discard()
        if isinstance(exc, dg.Failure) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, StepRunError) and not exc.retryable:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        capped = capped_retry(binding, context.retry_number)
        if capped is not None:
            raise capped from exc
        raise
    if not context.has_assets_def or RESULT_OUTPUT in context.selected_output_names:
        yield dg.Output(None, RESULT_OUTPUT, metadata=_output_metadata(attempt, batch_id, ctx, result))


def _time_left(seconds: float | None, started: float, step: str) -> float | None:
    """What remains of a step's timeout; :class:`StepTimeoutError` when nothing does."""
    if not seconds:
        return None
    left = seconds - (time.monotonic() - started)
    if left <= 0:
        raise StepTimeoutError(f"step {step!r} exceeded its timeout of {seconds:g} seconds")
    return left


def _validated_params(
    plan: GroupPlan, step: str, params: Mapping[str, Any], runtime: SpineRuntime
) -> tuple[dict[str, Any], Any]:
    """The step's final params and its pipeline's params model; bad params fail the step unretried."""
    try:
        return params_for_run(plan, step, params, runtime.registry)
    except SpineError as exc:
        raise dg.Failure(
            description=f"step {step!r}: invalid params (not retried)",
            metadata={"errors": "\n".join(d.message for d in exc.diagnostics)},
            allow_retries=False,
        ) from exc


def _output_metadata(attempt: int, batch_id: str, ctx: StepContext, result: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "spine/attempt": attempt,
        "spine/batch_id": batch_id,
        "spine/params": dg.MetadataValue.json(jsonable(ctx.params)),
    }
    metadata.update({f"rows/{table}": rows for table, rows in result.rows_written.items()})
    metadata.update(
        {f"metric/{k}": v for k, v in result.metrics.items() if isinstance(v, int | float | str | bool)}
    )
    return metadata
