"""``spine run``: execute one group's Dagster job against the instance in ``DAGSTER_HOME``.

The run is an ordinary Dagster run (``dagster.execute_job``), so it shows up in ``dagster dev``'s UI when
both use the same ``DAGSTER_HOME`` (default ``$SPINE_HOME/dagster``). Progress is read back from the
run's event log while it executes; Dagster's own log lines go to a file under ``$SPINE_HOME/logs``.

The caller (the CLI, an entry point) prepares the process first: ``DAGSTER_HOME`` and ``SPINE_GROUPS_DIR``
in the environment (step processes inherit only the environment) and the built
:class:`~spine_dagster.composition.CodeLocation`; nothing here changes process-wide state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .follow import TIMEOUT_TAG, RunWatch, StepProgress
from .recovery import release_ended_run_slots, worker_tags
from .runtime.outcome import BATCH_TAG, GroupOutcome
from .settings import Settings

if TYPE_CHECKING:
    from .composition import CodeLocation

INVOCATION_TAG = "spine/invocation"


def prepare_dagster_home(settings: Settings) -> Path:
    """``DAGSTER_HOME``, or ``$SPINE_HOME/dagster`` (created, with the repo's dagster.yaml when there is
    one). The caller exports it as ``DAGSTER_HOME``."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        repo_config = Path("dagster.yaml")
        if repo_config.is_file():
            shutil.copyfile(repo_config, config)
        else:
            config.write_text("telemetry:\n  enabled: false\n")
    return home


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send fd 2 (this process and the step processes it starts) to ``path`` for the duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log_file:
        os.dup2(log_file.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def interruptible_waits() -> Iterator[None]:
    """While it lasts, SIGINT or SIGTERM stops an in-process run that is waiting, not only a running step.

    Dagster's in-process executor checks for a signal only when a step's code starts (the signal is held
    until then and raised in the op). While the run waits for a pool slot or for a retry's delay, nothing
    checks: Ctrl-C did nothing until the slot came (forever, if a dead run held it), and a ``kill -9``
    then left the run's pending claim queued, to be handed the slot later and hold it for good. Its
    ``ActiveExecution.sleep_til_ready`` (called only by that executor's loop, between steps, when no step
    is ready) is wrapped here to check for a held signal every 0.2 s of the wait and raise Dagster's
    execution interrupt, as the multiprocess executor's loop does. The executor then unwinds as from an
    interrupted step: it drops the run's pending claims, and the run ends FAILURE (``UNEXPECTED_TERMINATION``)
    or CANCELED (when termination was requested).

    The wrap is undone on exit. It changes Dagster's class for the whole process meanwhile, so only the
    process that executes the run (``spine run``) uses it; step subprocesses are fresh interpreters.
    """
    from dagster._core.errors import DagsterExecutionInterruptedError
    from dagster._core.execution.plan.active import ActiveExecution
    from dagster._utils.interrupts import pop_captured_interrupt

    original = ActiveExecution.sleep_til_ready

    def sleep_til_ready(self: ActiveExecution) -> None:
        until = time.monotonic() + max(self.sleep_interval(), 0.0)
        while True:
            if pop_captured_interrupt():
                self.mark_interrupted()
                raise DagsterExecutionInterruptedError("interrupted while the run waited for a step")
            left = until - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.2))

    ActiveExecution.sleep_til_ready = sleep_til_ready  # type: ignore[method-assign]
    try:
        yield
    finally:
        ActiveExecution.sleep_til_ready = original  # type: ignore[method-assign]


@contextlib.contextmanager
def idle_pool_waits() -> Iterator[None]:
    """While it lasts, a step waiting for a pool slot sleeps until the next claim check instead of spinning.

    Dagster 1.13.27's ``InstanceConcurrencyContext.interval_to_next_pending_claim_check`` returns
    ``min([0, *timeouts])``, never positive, so the executor's loop never sleeps while a claim is pending: a
    ``spine run`` waiting for a slot held elsewhere used a full core (dagster-operations.md §2). The wrap
    returns the time to the next check (the claim is still re-polled on Dagster's own back-off). Undone on
    exit; only the process that executes the run uses it.
    """
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

    original = InstanceConcurrencyContext.interval_to_next_pending_claim_check

    def interval(self: InstanceConcurrencyContext) -> float:
        if not self._pending_claims or not self._pending_timeouts:
            return 0.0
        return max(0.0, min(self._pending_timeouts.values()) - time.time())

    InstanceConcurrencyContext.interval_to_next_pending_claim_check = interval  # type: ignore[method-assign]
    try:
        yield
    finally:
        InstanceConcurrencyContext.interval_to_next_pending_claim_check = original  # type: ignore[method-assign]


def _execute(
    location: CodeLocation,
    settings: Settings,
    job_name: str,
    emit: Callable[[str], None] | None,
    *,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
    parent: Any = None,
    instance: Any = None,
) -> GroupOutcome:
    """Create the run as the UI would (spine_dagster.origin), or a re-execution of ``parent`` from its
    failure, execute it in this process reporting progress, and record the outcome as tags.

    ``instance``: the caller's Dagster instance (``spine run`` shares one across its runs: each
    ``DagsterInstance.get()`` costs 0.1-0.2 s of storage set-up); None opens one for this run."""
    import dagster as dg
    from dagster._core.execution.api import execute_run

    from .origin import create_run
    from .warehouse.guard import require_multi_writer

    if settings.executor == "celery":  # before the run exists: Celery on a DuckDB warehouse is refused
        require_multi_writer(settings, "SPINE_EXECUTOR=celery runs a run's steps in several worker processes")
    invocation = uuid.uuid4().hex
    # spine/worker names this process, so a run it leaves behind when killed is found and reaped (recovery.py).
    tags = {**tags, INVOCATION_TAG: invocation, **worker_tags()}
    aliases = location.runtime.jobs[job_name].aliases
    recon = dg.build_reconstructable_job(
        "spine_dagster.definitions",
        "job_by_name",
        reconstructable_args=(job_name,),
        reconstructor_working_directory=os.getcwd(),
    )
    job_def = location.definitions.resolve_job_def(job_name)
    max_runtime = job_def.run_tags.get("dagster/max_runtime")
    log_path = settings.home.resolve() / "logs" / f"spine-run-{invocation}.log"
    owned = instance is None
    with _instance_or_new(instance) as instance:
        if owned:  # a shared instance was pooled by its owner (spine run)
            hold_storage_connections(instance)
        run = create_run(instance, job_def, recon, run_config=run_config, tags=tags, parent=parent)
        progress = StepProgress(instance, run.run_id, aliases, emit or (lambda _line: None))
        watch = RunWatch(instance, run.run_id, float(max_runtime) if max_runtime else None)
        progress.start()
        watch.start()
        started = time.perf_counter()
        try:
            with stderr_to(log_path), interruptible_waits(), idle_pool_waits():
                execute_run(recon, run, instance)
        finally:
            watch.done.set()
            progress.done.set()
            watch.join()
            progress.join()
            progress.poll()
        release_ended_run_slots(instance, run.run_id)  # what Dagster's executor missed (recovery.py)
        outcome = location.outcome_of(instance, run.run_id)
        assert outcome is not None
        instance.add_run_tags(run.run_id, outcome.tags())
        if emit is not None:
            if watch.timed_out:
                emit(
                    f"  the group's timeout_minutes passed after {time.perf_counter() - started:.0f}s: steps stopped"
                )
            emit(
                f"  run {run.run_id} finished in {time.perf_counter() - started:.2f}s (Dagster log: {log_path})"
            )
    return outcome


def _instance_or_new(instance: Any) -> contextlib.AbstractContextManager[Any]:
    """``instance`` as is (its owner disposes of it), else a new instance from ``DAGSTER_HOME``."""
    import dagster as dg

    return contextlib.nullcontext(instance) if instance is not None else dg.DagsterInstance.get()


def hold_storage_connections(instance: Any) -> None:
    """Let a long-lived process keep its Dagster storage connections open between uses.

    Dagster's Postgres storages connect anew for every write (SQLAlchemy ``NullPool``), so that an idle
    process holds no connection: each of a run's ~40 events costs a new server session, 5-8 ms on loopback
    against 0.7 ms on an open one (bench/RESULTS.md §6). ``optimize_for_webserver`` is Dagster's own switch
    to a pool, the one ``dagster-webserver`` uses: one open connection per storage and more on demand, held
    until the process exits (Dagster's storages do not dispose of their engines). No statement timeout (0),
    connections renewed after an hour. The SQLite storages ignore it (they connect to a file per write,
    which a pool cannot change safely: the UI follows a SQLite run by watching its file change). Call it once
    per instance: each call builds new engines.
    """
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)


def interrupted_by_signal(run_id: str, instance: Any = None) -> bool:
    """Whether the run ended because this process got SIGINT/SIGTERM (Ctrl-C), not by a timeout or a
    Terminate: ``spine run --partition-range`` then starts no further run."""
    with _instance_or_new(instance) as instance:
        run = instance.get_run_by_id(run_id)
    return (
        run is not None
        and run.tags.get("dagster/failure_reason") == "UNEXPECTED_TERMINATION"
        and TIMEOUT_TAG not in run.tags
    )


def rerun_from_failure(
    location: CodeLocation, settings: Settings, run_id: str, *, emit: Callable[[str], None] | None = None
) -> GroupOutcome:
    """Re-execute a failed run from its failure: only failed and not-run steps run (Dagster's re-execution),
    with the parent's batch id and partition (Dagster passes neither on: the steps would lose their
    partition's params)."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        parent = instance.get_run_by_id(run_id)
        if parent is None:
            raise LookupError(f"no run {run_id} in DAGSTER_HOME ({os.environ['DAGSTER_HOME']})")
        if parent.job_name not in location.runtime.jobs:
            raise LookupError(
                f"run {run_id} is of job {parent.job_name!r}, not a group of this code location"
            )
        if parent.status not in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            raise LookupError(
                f"run {run_id} is {parent.status.value}: only a failed or canceled run is re-executed from its "
                "failure"
            )
    tags = {k: v for k, v in parent.tags.items() if k == BATCH_TAG or k.startswith("dagster/partition")}
    return _execute(
        location, settings, parent.job_name, emit, run_config=parent.run_config, tags=tags, parent=parent
    )


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """What a run of a group's job is created with, however it is then executed (here or by the queue)."""

    job_name: str
    run_config: Mapping[str, Any]
    tags: Mapping[str, str]


def partition_tags(job_def: Any, partition: str) -> dict[str, str]:
    """The tags Dagster's own partition launches carry (Partitions tab, backfills, tag limits)."""
    import dagster as dg

    tags = {"dagster/partition": partition, "dagster/partition_set": f"{job_def.name}_partition_set"}
    if isinstance(job_def.partitions_def, dg.MultiPartitionsDefinition):
        key = job_def.partitions_def.get_partition_key_from_str(partition)
        tags.update({f"dagster/partition/{dim}": value for dim, value in key.keys_by_dimension.items()})
    return tags


def run_request(
    location: CodeLocation, group_name: str, run_params: Mapping[str, Any], partition: str | None
) -> RunRequest:
    """The job, run config and tags of one run of a group (:class:`GroupNotFoundError` if it has no job)."""
    from .defs.config import run_config_for
    from .plan.batch import group_batch_id

    job = location.job_for_group(group_name)
    tags = {BATCH_TAG: group_batch_id(group_name)}
    if partition is not None:
        tags.update(partition_tags(location.definitions.resolve_job_def(job.job_name), partition))
    return RunRequest(job.job_name, run_config_for(job, dict(run_params)), tags)


def run_group(
    location: CodeLocation,
    settings: Settings,
    group_name: str,
    run_params: Mapping[str, Any],
    *,
    partition: str | None = None,
    emit: Callable[[str], None] | None = None,
    instance: Any = None,
) -> GroupOutcome:
    """Execute a group's job in this process and return its spine outcome (also recorded as run tags).

    Raises :class:`~spine_dagster.errors.GroupNotFoundError` when the group has no job in ``location``.
    """
    request = run_request(location, group_name, run_params, partition)
    return _execute(
        location, settings, request.job_name, emit, run_config=request.run_config, tags=request.tags,
        instance=instance,
    )  # fmt: skip
