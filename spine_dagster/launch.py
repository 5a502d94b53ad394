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
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .recovery import worker_tags
from .runtime.binding import StepAliases
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


class _Progress(threading.Thread):
    """Polls the run's event log and reports step transitions as they happen."""

    def __init__(self, instance: Any, invocation: str, aliases: StepAliases, emit: Callable[[str], None]):
        super().__init__(daemon=True)
        self.instance, self.invocation, self.emit = instance, invocation, emit
        self.step_of = aliases.step_by_alias
        self.done = threading.Event()
        self.cursor = 0

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.poll()

    def poll(self) -> None:
        import dagster as dg

        runs = self.instance.get_run_ids(dg.RunsFilter(tags={INVOCATION_TAG: self.invocation}), limit=1)
        if not runs:
            return
        records = self.instance.all_logs(runs[0])
        for record in records[self.cursor :]:
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            step = self.step_of.get(event.step_key, event.step_key)
            kind = event.event_type
            if kind == dg.DagsterEventType.STEP_START:
                self.emit(f"  > {step} started")
            elif kind == dg.DagsterEventType.STEP_RESTARTED:
                self.emit(f"  > {step} retrying")
            elif kind == dg.DagsterEventType.STEP_SUCCESS:
                self.emit(f"  + {step} completed")
            elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY:
                self.emit(f"  ! {step} failed, will retry")
            elif kind == dg.DagsterEventType.STEP_FAILURE:
                self.emit(f"  x {step} failed")
        self.cursor = len(records)


def _execute(
    location: CodeLocation,
    settings: Settings,
    job_name: str,
    emit: Callable[[str], None] | None,
    **execute_kwargs: Any,
) -> GroupOutcome:
    """Execute (or re-execute) a job in this process, reporting progress, and record the outcome as tags."""
    import dagster as dg

    invocation = uuid.uuid4().hex
    # spine/worker names this process, so a run it leaves behind when killed is found and reaped (recovery.py).
    execute_kwargs["tags"] = {**execute_kwargs.get("tags", {}), INVOCATION_TAG: invocation, **worker_tags()}
    aliases = location.runtime.jobs[job_name].aliases
    recon = dg.build_reconstructable_job(
        "spine_dagster.definitions",
        "job_by_name",
        reconstructable_args=(job_name,),
        reconstructor_working_directory=os.getcwd(),
    )
    log_path = settings.home.resolve() / "logs" / f"spine-run-{invocation}.log"
    with dg.DagsterInstance.get() as instance:
        progress = _Progress(instance, invocation, aliases, emit or (lambda _line: None))
        progress.start()
        started = time.perf_counter()
        try:
            with stderr_to(log_path):
                result = dg.execute_job(recon, instance, **execute_kwargs)
        finally:
            progress.done.set()
            progress.join()
            progress.poll()
        outcome = location.outcome_of(instance, result.run_id)
        assert outcome is not None
        instance.add_run_tags(result.run_id, outcome.tags())
        if emit is not None:
            emit(
                f"  run {result.run_id} finished in {time.perf_counter() - started:.2f}s (Dagster log: {log_path})"
            )
    return outcome


def rerun_from_failure(
    location: CodeLocation, settings: Settings, run_id: str, *, emit: Callable[[str], None] | None = None
) -> GroupOutcome:
    """Re-execute a failed run from its failure: only failed and not-run steps run (Dagster's re-execution)."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        parent = instance.get_run_by_id(run_id)
        if parent is None:
            raise LookupError(f"no run {run_id} in DAGSTER_HOME ({os.environ['DAGSTER_HOME']})")
        if parent.job_name not in location.runtime.jobs:
            raise LookupError(
                f"run {run_id} is of job {parent.job_name!r}, not a group of this code location"
            )
        options = dg.ReexecutionOptions.from_failure(run_id, instance)
        tags = {BATCH_TAG: parent.tags[BATCH_TAG]} if BATCH_TAG in parent.tags else {}
    return _execute(
        location,
        settings,
        parent.job_name,
        emit,
        reexecution_options=options,
        run_config=parent.run_config,
        tags=tags,
    )


def run_group(
    location: CodeLocation,
    settings: Settings,
    group_name: str,
    run_params: Mapping[str, Any],
    *,
    partition: str | None = None,
    emit: Callable[[str], None] | None = None,
) -> GroupOutcome:
    """Execute a group's job and return its spine outcome (also recorded as run tags).

    Raises :class:`~spine_dagster.errors.GroupNotFoundError` when the group has no job in ``location``.
    """
    import dagster as dg

    from .defs.config import run_config_for
    from .plan.batch import group_batch_id

    job = location.job_for_group(group_name)
    job_name = job.job_name
    tags = {BATCH_TAG: group_batch_id(group_name)}
    if partition is not None:  # the tags Dagster's own partition launches carry (Partitions tab, backfills)
        tags["dagster/partition"] = partition
        tags["dagster/partition_set"] = f"{job_name}_partition_set"
        job_def = location.definitions.resolve_job_def(job_name)
        if isinstance(job_def.partitions_def, dg.MultiPartitionsDefinition):
            key = job_def.partitions_def.get_partition_key_from_str(partition)
            tags.update({f"dagster/partition/{dim}": value for dim, value in key.keys_by_dimension.items()})
    run_config = run_config_for(job, dict(run_params))
    return _execute(location, settings, job_name, emit, run_config=run_config, tags=tags)
