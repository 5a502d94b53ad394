"""The spine outcome of a Dagster run: group status and per-step status, derived from the run's events.

Step status: ``completed`` (STEP_SUCCESS), ``failed`` (STEP_FAILURE, after retries, including steps
interrupted by fail-fast; also a step that started but never ended, such as one waiting for its retry when
the run was interrupted), ``skipped`` (never started: a dependency failed, or fail-fast stopped the run).
Group status follows spine-core: ``completed`` when every step completed; ``failed`` under
``on_failure: stop`` or when nothing completed; ``partial`` when some steps completed and some did not.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import dagster as dg

    from .binding import JobBinding

StepStatus = Literal["completed", "failed", "skipped"]
GroupStatus = Literal["completed", "failed", "partial"]

GROUP_STATUS_TAG = "spine/group_status"
STEPS_TAG = "spine/steps"
BATCH_TAG = "spine/batch_id"


@dataclass(frozen=True)
class StepOutcome:
    name: str
    status: StepStatus
    attempts: int
    duration_seconds: float | None
    error: str | None


@dataclass(frozen=True)
class GroupOutcome:
    group: str
    run_id: str
    batch_id: str | None
    status: GroupStatus
    steps: tuple[StepOutcome, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "group": self.group,
            "run_id": self.run_id,
            "batch_id": self.batch_id,
            "status": self.status,
            "steps": [asdict(s) for s in self.steps],
        }

    def tags(self) -> dict[str, str]:
        """Run tags that record the outcome (compact enough to rebuild the step table)."""
        steps = {s.name: [s.status, s.attempts, s.duration_seconds] for s in self.steps}
        return {GROUP_STATUS_TAG: self.status, STEPS_TAG: json.dumps(steps, separators=(",", ":"))}


def group_status(statuses: list[StepStatus], on_failure: str) -> GroupStatus:
    """spine-core's rule (an empty group is completed)."""
    completed = statuses.count("completed")
    if completed == len(statuses):
        return "completed"
    if on_failure == "stop" or completed == 0:
        return "failed"
    return "partial"


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    return text.strip().splitlines()[0][:500]


def derive_outcome(instance: dg.DagsterInstance, run_id: str, job: JobBinding) -> GroupOutcome:
    """Read the run's step events and turn them into the spine outcome.

    Step events name Dagster node aliases; ``job.aliases`` maps them back to step names (they differ when
    names need sanitizing). For a re-execution, the steps it did not select keep the outcome they had in
    the parent run.
    """
    plan = job.plan
    run = instance.get_run_by_id(run_id)
    assert run is not None, f"no run {run_id}"
    own = _step_outcomes(instance, run_id, job)
    selected = set(run.step_keys_to_execute or [])
    inherited: dict[str, StepOutcome] = {}
    if run.parent_run_id and selected:
        parent = derive_outcome(instance, run.parent_run_id, job)
        inherited = {s.name: s for s in parent.steps if job.aliases.alias(s.name) not in selected}
    steps = tuple(inherited.get(step.name, own[step.name]) for step in plan.steps)
    status = group_status([s.status for s in steps], plan.policy.on_failure)
    return GroupOutcome(plan.name, run_id, run.tags.get(BATCH_TAG), status, steps)


def _step_outcomes(instance: dg.DagsterInstance, run_id: str, job: JobBinding) -> dict[str, StepOutcome]:
    import dagster as dg

    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.STEP_RESTARTED,
        dg.DagsterEventType.STEP_UP_FOR_RETRY,
    }
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    attempts: dict[str, int] = {}
    final: dict[str, StepStatus] = {}
    errors: dict[str, str | None] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.event_type not in kinds or event.step_key is None:
            continue
        key = event.step_key
        if event.event_type in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_RESTARTED):
            starts.setdefault(key, record.timestamp)
            attempts[key] = attempts.get(key, 0) + 1
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            final[key], ends[key] = "completed", record.timestamp
            errors.pop(key, None)  # an earlier attempt's error, retried away
        else:
            ends[key] = record.timestamp
            if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
                error = event.step_retry_data.error if event.step_retry_data else None
            else:
                final[key] = "failed"
                error = event.step_failure_data.error if event.step_failure_data else None
            cause = error.cause if error is not None and error.cause is not None else error
            errors[key] = _first_line(cause.message if cause is not None else None)
    outcomes = {}
    for step in job.plan.steps:
        key = job.aliases.alias(step.name)
        duration = round(ends[key] - starts[key], 3) if key in ends and key in starts else None
        outcomes[step.name] = StepOutcome(
            step.name,
            final.get(key, "failed" if attempts.get(key) else "skipped"),
            attempts.get(key, 0),
            duration,
            errors.get(key),
        )
    return outcomes
