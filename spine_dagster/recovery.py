"""Runs whose worker process is gone: found, marked failed, and their pool slots freed.

Dagster marks a dead run worker itself only when it launched the run (the code server watches the
processes it started); a run that ``spine run`` executes in its own process stays STARTED forever after a
``kill -9``, holding its pool slots, so every later run of that pool waits. Each such run therefore
carries the tag ``spine/worker`` (``host:pid:process start time``) from its creation, and
:func:`reap_dead_runs` marks a not-finished run failed when that process no longer exists on this host
(a pid reused by another process does not count: the start time differs). It also frees the slots still
claimed by runs that have finished, which Dagster's run monitoring does only when the daemon runs
(``free_slots_after_run_end_seconds``).

Called when ``spine run``, ``spine rerun``, ``spine failures`` and ``spine dev`` start, and every 30
seconds by the reaper sensor of the code location (so runs die and get reaped while the UI is up too).
Runs started on another host are left alone: this host cannot see their processes.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

WORKER_TAG = "spine/worker"
REAPED_TAG = "spine/reaped"


def worker_tags() -> dict[str, str]:
    """The ``spine/worker`` tag naming this process, for a run it is about to execute."""
    import psutil

    me = psutil.Process()
    return {WORKER_TAG: f"{socket.gethostname()}:{me.pid}:{me.create_time():.3f}"}


def _worker_gone(value: str) -> bool:
    """Whether the process a ``spine/worker`` tag names has ended (False when it is on another host)."""
    import psutil

    parts = value.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname():
        return False
    _host, pid_text, started = parts
    try:
        process = psutil.Process(int(pid_text))
        return abs(process.create_time() - float(started)) > 1.0 or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except (ValueError, psutil.Error):
        return False


@dataclass(frozen=True)
class Reaped:
    run_id: str
    job_name: str
    reason: str  # "worker gone" or "finished, slots still held"
    pools: tuple[str, ...]


def reap_dead_runs(instance: dg.DagsterInstance) -> list[Reaped]:
    """Mark runs whose ``spine run`` process is gone FAILURE, and free slots held by finished runs."""
    import dagster as dg
    from dagster._core.events import JobFailureData, RunFailureReason

    reaped: list[Reaped] = []
    unfinished = [
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
    for record in instance.get_run_records(dg.RunsFilter(statuses=unfinished)):
        run = record.dagster_run
        value = run.tags.get(WORKER_TAG)
        if value is None or not _worker_gone(value):
            continue
        pid = value.rsplit(":", 2)[1]
        message = (
            f"The process that executed this run (spine run, pid {pid} on {socket.gethostname()}) is gone: "
            "it was killed or crashed. Marked failed by spine, and its pool slots were freed; "
            f"`spine rerun {run.run_id}` re-executes it from the failed step."
        )
        instance.report_run_failed(
            run,
            message=message,
            job_failure_data=JobFailureData(error=None, failure_reason=RunFailureReason.RUN_WORKER_RESTART),
        )
        instance.add_run_tags(run.run_id, {REAPED_TAG: "worker gone"})
        pools = tuple(sorted(_pools_of(instance).get(run.run_id, ())))
        release_ended_run_slots(instance, run.run_id)  # the run is finished (FAILURE) now
        reaped.append(Reaped(run.run_id, run.job_name, "worker gone", pools))
    reaped.extend(_free_slots_of_finished_runs(instance, {r.run_id for r in reaped}))
    return reaped


def _pools_of(instance: dg.DagsterInstance) -> dict[str, set[str]]:
    """Run id -> the pools in which it holds or waits for a slot."""
    storage = instance.event_log_storage
    held: dict[str, set[str]] = {}
    if not storage.supports_global_concurrency_limits:
        return held
    for pool in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(pool)
        for run_id in {*info.active_run_ids, *(s.run_id for s in info.pending_steps)}:
            held.setdefault(run_id, set()).add(pool)
    return held


RELEASED_MESSAGE = "spine: the run ended with pool slots still held; freed them:"


def release_ended_run_slots(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """Free the pool slots (and queued claims) a finished run still holds; return the (pool, step) freed.

    Dagster frees a step's slot when its executor handles the step's outcome event. One ending has none:
    when the multiprocess executor is interrupted (fail-fast, Ctrl-C) just after it launched a step, the
    step's process stops before the step starts, and the slot the executor claimed for it stays claimed
    after the run has ended. Dagster's run monitoring frees such slots ``free_slots_after_run_end_seconds``
    after a run ends, but only in a running daemon; ``spine run`` executes the run itself, so it does the
    same when the run is over (every step process has exited by then), with the same call
    (``free_concurrency_slots_for_run``), and records it on the run as an engine event.
    """
    storage = instance.event_log_storage
    run = instance.get_run_by_id(run_id)
    if run is None or not run.is_finished or not storage.supports_global_concurrency_limits:
        return []
    if run_id not in storage.get_concurrency_run_ids():
        return []
    held = sorted(
        (pool, slot.step_key)
        for pool in storage.get_concurrency_keys()
        for slot in storage.get_concurrency_info(pool).claimed_slots
        if slot.run_id == run_id
    )
    storage.free_concurrency_slots_for_run(run_id)
    if held:
        listed = ", ".join(f"{step} (pool {pool})" for pool, step in held)
        instance.report_engine_event(f"{RELEASED_MESSAGE} {listed}", run)
    return held


def _free_slots_of_finished_runs(instance: dg.DagsterInstance, skip: set[str]) -> list[Reaped]:
    freed = []
    for run_id, pools in _pools_of(instance).items():
        run = instance.get_run_by_id(run_id)
        if run_id in skip or (run is not None and not run.is_finished):
            continue
        if run is None:  # a deleted run: nothing to record the release on
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        else:
            release_ended_run_slots(instance, run_id)
        job = run.job_name if run is not None else "?"
        freed.append(Reaped(run_id, job, "finished, slots still held", tuple(sorted(pools))))
    return freed


def describe(reaped: Reaped) -> str:
    """One line for ``spine run``'s output and the reaper sensor's tick."""
    pools = f"; freed pool slot(s): {', '.join(reaped.pools)}" if reaped.pools else ""
    if reaped.reason == "worker gone":
        return f"run {reaped.run_id} ({reaped.job_name}): its process is gone, marked failed{pools}"
    return f"run {reaped.run_id} ({reaped.job_name}): finished but still held slots{pools}"


__all__ = [
    "REAPED_TAG",
    "RELEASED_MESSAGE",
    "WORKER_TAG",
    "Reaped",
    "describe",
    "reap_dead_runs",
    "release_ended_run_slots",
    "worker_tags",
]
