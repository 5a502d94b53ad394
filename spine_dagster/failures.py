"""The failure queue (spine-core's dead-letter queue) as a view of Dagster's run storage: no table of ours.

A group run is *in the queue* when its spine outcome is ``failed`` or ``partial``, it is the newest run of
its re-execution family (the runs sharing Dagster's ``root_run_id``), and nobody resolved it. So:

* a re-execution that completes takes its whole family out of the queue, with nothing to clear;
* a re-execution that fails again replaces its parent in the queue (one entry per family, the newest);
* ``resolve`` marks the entry handled with run tags (``spine/resolved`` = the note, ``spine/resolved_at``),
  which the UI can filter on; a later failed re-execution of the family is in the queue again.

A family whose newest run has not finished yet is left out: it is still being worked on. A run that was
CANCELED has the outcome of the steps it finished (usually ``failed``), and is listed like any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

    from .composition import CodeLocation

RESOLVED_TAG = "spine/resolved"
RESOLVED_AT_TAG = "spine/resolved_at"
PARTITION_TAG = "dagster/partition"


@dataclass(frozen=True)
class FailedStep:
    name: str
    error: str  # the first line of the step's error ("" when the step was never started)


@dataclass(frozen=True)
class QueuedFailure:
    """One entry of the failure queue: the newest run of a family that did not complete."""

    run_id: str
    group: str
    partition: str | None
    outcome: str  # "failed" | "partial"
    dagster_status: str  # FAILURE (a partial group's run too: a step failed), or CANCELED
    ended_at: dt.datetime | None
    root_run_id: str
    failed_steps: tuple[FailedStep, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "group": self.group,
            "partition": self.partition,
            "outcome": self.outcome,
            "dagster_status": self.dagster_status,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "root_run_id": self.root_run_id,
            "failed_steps": [{"step": s.name, "error": s.error} for s in self.failed_steps],
        }


def failure_queue(
    location: CodeLocation,
    instance: dg.DagsterInstance,
    *,
    group: str | None = None,
    since: dt.date | None = None,
) -> list[QueuedFailure]:
    """The queue, oldest failure first; ``group`` and ``since`` (the run ended on or after) narrow it."""
    import dagster as dg

    jobs = {
        binding.job_name: binding
        for binding in location.runtime.jobs.values()
        if group is None or binding.plan.name == group
    }
    newest: dict[str, dg.RunRecord] = {}
    for job_name in jobs:
        for record in instance.get_run_records(dg.RunsFilter(job_name=job_name)):
            run = record.dagster_run
            family = run.root_run_id or run.run_id
            kept = newest.get(family)
            if kept is None or record.create_timestamp > kept.create_timestamp:
                newest[family] = record
    entries = []
    for family, record in newest.items():
        run = record.dagster_run
        if not run.is_finished or RESOLVED_TAG in run.tags:
            continue
        ended = record.end_time
        ended_at = dt.datetime.fromtimestamp(ended, tz=dt.UTC) if ended else None
        if since is not None and (ended_at is None or ended_at.date() < since):
            continue
        outcome = location.outcome_of(instance, run.run_id)
        if outcome is None or outcome.status == "completed":
            continue
        failed = tuple(FailedStep(s.name, s.error or "") for s in outcome.steps if s.status == "failed")
        entries.append(
            QueuedFailure(
                run.run_id,
                outcome.group,
                run.tags.get(PARTITION_TAG),
                outcome.status,
                run.status.value,
                ended_at,
                family,
                failed,
            )
        )
    return sorted(entries, key=lambda e: (e.ended_at or dt.datetime.max.replace(tzinfo=dt.UTC), e.run_id))


def resolve_failure(
    location: CodeLocation, instance: dg.DagsterInstance, run_id: str, note: str
) -> QueuedFailure:
    """Mark a queued failure handled (run tags); LookupError when the run is not in the queue."""
    entry = next((e for e in failure_queue(location, instance) if e.run_id == run_id), None)
    if entry is None:
        raise LookupError(
            f"run {run_id} is not in the failure queue (see `spine failures`: it completed, was re-executed, "
            "was resolved already, or is not a group run of this code location)"
        )
    if not note.strip():
        raise LookupError("--note must say how the failure was handled")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    instance.add_run_tags(run_id, {RESOLVED_TAG: note.strip(), RESOLVED_AT_TAG: now})
    return entry
