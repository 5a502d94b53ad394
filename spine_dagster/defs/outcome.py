"""Record each group run's spine outcome as run tags (``spine/group_status``, ``spine/steps``).

Two run-status sensors (success and failure) cover runs launched from the UI, schedules and sensors;
``spine run`` records the outcome itself as soon as its run ends. They default to RUNNING because they
only write tags.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from ..runtime.outcome import GroupOutcome
from .translator import SpineDagsterTranslator


def build_outcome_sensors(
    jobs: list[dg.JobDefinition],
    outcome_of: Callable[[dg.DagsterInstance, str], GroupOutcome | None],
    translator: SpineDagsterTranslator,
) -> list[dg.SensorDefinition]:
    """A success and a failure run-status sensor over ``jobs`` that record each run's outcome as tags."""
    if not jobs:
        return []
    sensors = []
    for status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE):

        @dg.run_status_sensor(
            name=translator.get_outcome_sensor_name(status.value.lower()),
            run_status=status,
            monitored_jobs=jobs,
            default_status=dg.DefaultSensorStatus.RUNNING,
            description="Records the spine group status and step table of each finished run as run tags.",
        )
        def _record(context: dg.RunStatusSensorContext) -> dg.SkipReason:
            run = context.dagster_run
            # Always (re)compute: a re-execution launched from the UI inherits its parent's outcome tags.
            outcome = outcome_of(context.instance, run.run_id)
            if outcome is None:
                return dg.SkipReason(f"run {run.run_id} is not a spine group run")
            context.instance.add_run_tags(run.run_id, outcome.tags())
            return dg.SkipReason(f"recorded {outcome.status} for run {run.run_id}")

        sensors.append(_record)
    return sensors
