"""``spine run --queue``: hand runs to Dagster's run queue and follow them to their outcome.

The run is created exactly as ``spine run`` creates it (the code location's origin, the same tags and run
config, :mod:`spine_dagster.origin`) and submitted to the instance's run coordinator, Dagster's
``QueuedRunCoordinator``: the daemon dequeues it under the instance's run limits (``max_concurrent_runs``,
``tag_concurrency_limits``, docs/deploy.md) and launches it in a run worker of its own, with the job's
executor (in-process, multiprocess, or Celery). A ``--partition-range`` becomes one Dagster backfill,
shown on the UI's Backfills page, whose runs the backfill daemon submits to the same queue.

This process only follows: step progress from the event log (the same lines as an in-process run), then
the group outcome. Ctrl-C stops following; the queued or running work goes on (Terminate it in the UI).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import SpineError
from .follow import StepProgress
from .launch import run_request
from .runtime.outcome import BATCH_TAG, GroupOutcome

if TYPE_CHECKING:
    import dagster as dg

    from .composition import CodeLocation
    from .settings import Settings

POLL_SECONDS = 0.5
DAEMONS = {"QUEUED_RUN_COORDINATOR": "dequeues runs", "BACKFILL": "turns a backfill into runs"}


def require_queue(instance: dg.DagsterInstance, daemons: Sequence[str]) -> None:
    """:class:`SpineError` unless the instance queues runs and the daemons that move them are alive."""
    from dagster._core.run_coordinator import QueuedRunCoordinator

    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        raise SpineError(
            f"--queue needs the QueuedRunCoordinator, but DAGSTER_HOME's dagster.yaml sets "
            f"{type(instance.run_coordinator).__name__} (remove its run_coordinator block; docs/deploy.md)"
        )
    statuses = instance.get_daemon_statuses(list(daemons))
    dead = [name for name in daemons if not statuses[name].healthy]
    if dead:
        what = "; ".join(f"{name} ({DAEMONS[name]})" for name in dead)
        raise SpineError(
            f"--queue: no live Dagster daemon for this DAGSTER_HOME: {what}. Start `spine dev` (UI and daemon) "
            "or `dagster-daemon run -w workspace.yaml` with the same DAGSTER_HOME, then try again"
        )


def require_safe_writers(
    instance: dg.DagsterInstance, location: CodeLocation, group_name: str, settings: Settings
) -> None:
    """Queued runs of a group that writes the warehouse may run side by side: refuse a single-writer
    (DuckDB) warehouse unless the queue starts one run at a time (``max_concurrent_runs: 1``, as the
    shipped dagster.yaml sets) or ``SPINE_SINGLE_WRITER=1`` (:func:`~spine_dagster.warehouse.guard.require_multi_writer`).
    """
    from .runtime.execute import needs_warehouse
    from .warehouse.guard import require_multi_writer

    job = location.job_for_group(group_name)
    if not any(needs_warehouse(location.runtime.registry.get(s.step.pipeline)) for s in job.steps.values()):
        return
    queue = instance.get_concurrency_config().run_queue_config
    limit = queue.max_concurrent_runs if queue is not None else None
    if limit == 1:
        return
    require_multi_writer(
        settings,
        f"--queue lets the daemon run {'any number' if limit in (None, -1) else limit} of {group_name}'s runs "
        "at once (DAGSTER_HOME's concurrency.runs.max_concurrent_runs)",
    )


def _follow_run(
    instance: dg.DagsterInstance,
    location: CodeLocation,
    run_id: str,
    job_name: str,
    emit: Callable[[str], None],
) -> GroupOutcome:
    """Report a queued run's status changes and step progress until it ends; its outcome (recorded as tags)."""
    progress = StepProgress(instance, run_id, location.runtime.jobs[job_name].aliases, emit)
    progress.start()
    started = time.perf_counter()
    status = None
    try:
        while True:
            run = instance.get_run_by_id(run_id)
            assert run is not None
            if run.is_finished:
                break
            if run.status != status:
                status = run.status
                emit(f"  run {run_id} {status.value.lower()} ({time.perf_counter() - started:.1f}s)")
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        emit(f"  stopped following run {run_id}; it goes on in the queue (Terminate it in the UI)")
        raise
    finally:
        progress.done.set()
        progress.join()
        progress.poll()  # the last step lines before the run's end
    emit(f"  run {run_id} {run.status.value.lower()} ({time.perf_counter() - started:.1f}s)")
    outcome = location.outcome_of(instance, run_id)
    assert outcome is not None
    instance.add_run_tags(run_id, outcome.tags())  # the outcome sensor does the same; the values are equal
    return outcome


def submit_group(
    location: CodeLocation,
    settings: Settings,
    group_name: str,
    run_params: Mapping[str, Any],
    *,
    partition: str | None = None,
    emit: Callable[[str], None] | None = None,
) -> GroupOutcome:
    """Queue one run of a group's job, follow it, and return its outcome (same as ``run_group``)."""
    import dagster as dg

    from .origin import create_run

    request = run_request(location, group_name, run_params, partition)
    job_def = location.definitions.resolve_job_def(request.job_name)
    recon = dg.build_reconstructable_job(
        "spine_dagster.definitions", "job_by_name", reconstructable_args=(request.job_name,)
    )
    with dg.DagsterInstance.get() as instance:
        require_safe_writers(instance, location, group_name, settings)
        require_queue(instance, ["QUEUED_RUN_COORDINATOR"])
        run = create_run(instance, job_def, recon, run_config=request.run_config, tags=request.tags)
        instance.submit_run(run.run_id, workspace=None)  # type: ignore[arg-type]  # the queue needs none
        return _follow_run(instance, location, run.run_id, request.job_name, emit or (lambda _line: None))


def submit_backfill(
    location: CodeLocation,
    settings: Settings,
    group_name: str,
    run_params: Mapping[str, Any],
    partitions: Sequence[str],
    *,
    emit: Callable[[str], None] | None = None,
) -> tuple[str, list[GroupOutcome]]:
    """Submit ``partitions`` of a partitioned group as one Dagster backfill; follow its runs to the end.

    Each run gets its partition's config from the job (the group's defaults and the partition's params):
    Dagster's job backfills take no other run config, so ``run_params`` must be empty (the CLI refuses
    ``--param`` here). Returns the backfill id and the outcome of each of its runs, in partition order.
    """
    if run_params:
        raise ValueError("a Dagster job backfill gives its runs their partition's config: no run params")
    import dagster as dg
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.remote_origin import RemotePartitionSetOrigin
    from dagster._core.utils import make_new_backfill_id

    from .origin import remote_repository_origin

    emit = emit or (lambda _line: None)
    request = run_request(location, group_name, run_params, None)
    backfill_id = make_new_backfill_id()
    with dg.DagsterInstance.get() as instance:
        require_safe_writers(instance, location, group_name, settings)
        require_queue(instance, ["QUEUED_RUN_COORDINATOR", "BACKFILL"])
        instance.add_backfill(
            PartitionBackfill(
                backfill_id=backfill_id,
                partition_set_origin=RemotePartitionSetOrigin(
                    repository_origin=remote_repository_origin(),
                    partition_set_name=f"{request.job_name}_partition_set",
                ),
                status=BulkActionStatus.REQUESTED,
                partition_names=list(partitions),
                from_failure=False,
                reexecution_steps=None,
                tags={BATCH_TAG: request.tags[BATCH_TAG]},
                backfill_timestamp=time.time(),
                title=f"spine run {group_name} ({len(partitions)} partitions)",
            )
        )
        emit(f"  backfill {backfill_id}: {len(partitions)} runs, queued by the daemon")
        outcomes = _follow_backfill(instance, location, backfill_id, request.job_name, partitions, emit)
    missing = [p for p in partitions if p not in outcomes]
    if missing:
        emit(f"  backfill {backfill_id} ended without a run for: {', '.join(missing)}")
    return backfill_id, [outcomes[p] for p in partitions if p in outcomes]


def _follow_backfill(
    instance: dg.DagsterInstance,
    location: CodeLocation,
    backfill_id: str,
    job_name: str,
    partitions: Sequence[str],
    emit: Callable[[str], None],
) -> dict[str, GroupOutcome]:
    """Report each run of the backfill as it starts and ends, until the backfill and all its runs are done."""
    import dagster as dg
    from dagster._core.execution.backfill import BULK_ACTION_TERMINAL_STATUSES

    outcomes: dict[str, GroupOutcome] = {}
    started: set[str] = set()
    try:
        while True:
            backfill = instance.get_backfill(backfill_id)
            assert backfill is not None
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            for run in sorted(runs, key=lambda r: r.tags.get("dagster/partition", "")):
                key = run.tags.get("dagster/partition", "?")
                if run.status == dg.DagsterRunStatus.STARTED and run.run_id not in started:
                    started.add(run.run_id)
                    emit(f"  > {key} started (run {run.run_id})")
                if run.is_finished and key not in outcomes:
                    outcome = location.outcome_of(instance, run.run_id)
                    assert outcome is not None
                    instance.add_run_tags(run.run_id, outcome.tags())
                    outcomes[key] = outcome
                    emit(
                        f"  {'+' if outcome.status == 'completed' else 'x'} {key} {outcome.status} (run {run.run_id})"
                    )
            done = backfill.status in BULK_ACTION_TERMINAL_STATUSES
            if done and all(run.is_finished for run in runs) and len(outcomes) >= len(runs):
                emit(f"  backfill {backfill_id} {backfill.status.value.lower()}")
                return outcomes
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        emit(f"  stopped following backfill {backfill_id}; it goes on (cancel it on the UI's Backfills page)")
        raise
