"""Schedules and sensors of a group.

Default status: every schedule and sensor a group declares starts STOPPED (Dagster's default) unless it
says ``default_status: running``; turn it on in the UI or with ``dagster schedule start``/``sensor start``.
They need the Dagster daemon (``dagster dev`` runs one).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from ..plan.model import GroupPlan
from ..spec.models import AfterGroupSensorSpec, FileArrivalSensorSpec
from .config import run_config_for
from .translator import SpineDagsterTranslator

_STATUS = {"running": dg.DefaultScheduleStatus.RUNNING, "stopped": dg.DefaultScheduleStatus.STOPPED}
_CRON_DAY = {
    "sunday": 0,
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
}
_SENSOR_STATUS = {"running": dg.DefaultSensorStatus.RUNNING, "stopped": dg.DefaultSensorStatus.STOPPED}


def build_schedules(
    plan: GroupPlan, job: dg.JobDefinition, translator: SpineDagsterTranslator
) -> list[dg.ScheduleDefinition]:
    spec = plan.group.spec
    schedules: list[dg.ScheduleDefinition] = []
    for index, schedule in enumerate(spec.schedules):
        schedules.append(
            dg.ScheduleDefinition(
                name=translator.get_schedule_name(spec, schedule.name, index),
                job=job,
                cron_schedule=schedule.cron,
                execution_timezone=schedule.timezone,
                run_config={"params": dict(schedule.params)},
                description=schedule.description or f"{spec.name}: {schedule.cron} ({schedule.timezone})",
                default_status=_STATUS[schedule.default_status],
            )
        )
    parts = spec.partitions
    if parts is not None and parts.schedule is not None:
        schedules.append(_partition_schedule(plan, job, translator))
    return schedules


def _partition_schedule(
    plan: GroupPlan, job: dg.JobDefinition, translator: SpineDagsterTranslator
) -> dg.ScheduleDefinition:
    """Each tick: for every static value, the newest complete week minus its ``lag_weeks``."""
    spec = plan.group.spec
    parts = spec.partitions
    assert parts is not None and parts.schedule is not None
    sched = parts.schedule
    day = "*" if sched.day_of_week is None else str(_CRON_DAY[sched.day_of_week])
    cron = f"{sched.minute} {sched.hour} * * {day}"
    week_def = translator.get_week_partitions_def(parts.weekly)
    values: list[str | None] = list(parts.static.values) if parts.static is not None else [None]
    lags = sched.lag_weeks

    @dg.schedule(
        name=translator.get_schedule_name(spec, "partitions", 0),
        job=job,
        cron_schedule=cron,
        execution_timezone=sched.timezone,
        default_status=_STATUS[sched.default_status],
        description=f"{spec.name}: the newest complete week"
        + (f" minus lag_weeks {lags}" if lags else "")
        + f" ({cron}, {sched.timezone})",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
        now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        keys = week_def.get_partition_keys(current_time=now)
        requests = []
        for value in values:
            lag = (
                lags.get(value, 0)
                if isinstance(lags, dict) and value is not None
                else (lags if isinstance(lags, int) else 0)
            )
            if lag >= len(keys):
                continue
            week = keys[-1 - lag]
            key = (
                week if value is None else str(dg.MultiPartitionKey({"week": week, parts.static.name: value}))
            )  # type: ignore[union-attr]
            requests.append(dg.RunRequest(run_key=key, partition_key=key))
        return requests or dg.SkipReason(f"no complete week yet at {now:%Y-%m-%d %H:%M}")

    return _schedule


def _partitions_for_file(
    plan: GroupPlan, sensor: FileArrivalSensorSpec, translator: SpineDagsterTranslator, name: str
) -> list[str] | None:
    """The partition keys a file name selects (None when the name does not match the pattern)."""
    parts = plan.group.spec.partitions
    assert parts is not None and sensor.partition_pattern is not None
    match = re.search(sensor.partition_pattern, name)
    if match is None:
        return None
    try:
        day = dt.date.fromisoformat(match.group("week"))
    except ValueError:
        return None
    week = translator.get_week_partitions_def(parts.weekly).get_partition_key_for_timestamp(
        dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC).timestamp()
    )
    if parts.static is None:
        return [week]
    wanted = match.groupdict().get(parts.static.name)
    values = [wanted] if wanted else list(parts.static.values)
    if any(v not in parts.static.values for v in values):
        return None
    return [str(dg.MultiPartitionKey({"week": week, parts.static.name: v})) for v in values]


def _file_arrival_sensor(
    plan: GroupPlan,
    job: dg.JobDefinition,
    sensor: FileArrivalSensorSpec,
    name: str,
    translator: SpineDagsterTranslator,
    aliases: list[str],
) -> dg.SensorDefinition:
    directory = Path(sensor.directory)

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=sensor.minimum_interval_seconds,
        default_status=_SENSOR_STATUS[sensor.default_status],
        description=f"{plan.name}: one run per new file matching {sensor.glob!r} in {sensor.directory}",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not directory.is_dir():
            return dg.SkipReason(f"directory {directory} does not exist (yet)")
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        requests, unmatched = [], []
        for path in sorted(p for p in directory.glob(sensor.glob) if p.is_file()):
            stat = path.stat()
            key = str(path.resolve())
            if seen.get(key) == stat.st_mtime_ns:
                continue
            seen[key] = stat.st_mtime_ns
            params = dict(sensor.params)
            if sensor.path_param:
                params[sensor.path_param] = key
            run_key = f"{key}:{stat.st_mtime_ns}:{stat.st_size}"
            tags = {"spine/trigger_file": key}
            if sensor.partition_pattern is None:
                requests.append(
                    dg.RunRequest(
                        run_key=run_key, run_config=run_config_for(plan, aliases, params), tags=tags
                    )
                )
                continue
            partitions = _partitions_for_file(plan, sensor, translator, path.name)
            if partitions is None:
                unmatched.append(path.name)
                continue
            for partition in partitions:
                requests.append(
                    dg.RunRequest(
                        run_key=f"{run_key}:{partition}",
                        run_config=run_config_for(
                            plan,
                            aliases,
                            {
                                **params,
                                **translator.get_partition_params(plan.group.spec.partitions, partition),
                            },
                        ),  # type: ignore[arg-type]
                        partition_key=partition,
                        tags=tags,
                    )
                )
        if unmatched:
            context.log.warning(
                f"{len(unmatched)} file(s) do not match partition_pattern {sensor.partition_pattern!r} and were "
                f"not run: {', '.join(unmatched[:10])}"
            )
        if not requests:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(f"no new file matching {sensor.glob!r} in {directory}"),
                cursor=json.dumps(seen, sort_keys=True),
            )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))

    return _sensor


def _after_group_sensor(
    plan: GroupPlan,
    job: dg.JobDefinition,
    sensor: AfterGroupSensorSpec,
    name: str,
    upstream_job: dg.JobDefinition,
    upstream_status: Callable[[dg.DagsterInstance, str], str | None],
    translator: SpineDagsterTranslator,
    aliases: list[str],
) -> dg.SensorDefinition:
    run_status = dg.DagsterRunStatus.SUCCESS if sensor.status == "completed" else dg.DagsterRunStatus.FAILURE

    @dg.run_status_sensor(
        name=name,
        run_status=run_status,
        monitored_jobs=[upstream_job],
        request_job=job,
        minimum_interval_seconds=sensor.minimum_interval_seconds,
        default_status=_SENSOR_STATUS[sensor.default_status],
        description=f"{plan.name}: after each run of {sensor.group} that ends {sensor.status}",
    )
    def _sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        run = context.dagster_run
        status = upstream_status(context.instance, run.run_id)
        if status != sensor.status:
            return dg.SkipReason(f"run {run.run_id} of {sensor.group} ended {status}, not {sensor.status}")
        partition = run.tags.get("dagster/partition")
        params = dict(sensor.params)
        if plan.group.spec.partitions is not None:
            if partition is None:
                return dg.SkipReason(
                    f"{plan.name} is partitioned but run {run.run_id} of {sensor.group} had no partition"
                )
            params.update(translator.get_partition_params(plan.group.spec.partitions, partition))
        return dg.RunRequest(
            run_key=f"after:{run.run_id}",
            run_config=run_config_for(plan, aliases, params),
            partition_key=partition if plan.group.spec.partitions is not None else None,
            tags={"spine/triggered_by_run": run.run_id},
        )

    return _sensor


def build_sensors(
    plan: GroupPlan,
    job: dg.JobDefinition,
    translator: SpineDagsterTranslator,
    jobs_by_group: dict[str, dg.JobDefinition],
    upstream_status: Callable[[dg.DagsterInstance, str], str | None],
    aliases: list[str],
) -> list[dg.SensorDefinition]:
    spec = plan.group.spec
    sensors: list[dg.SensorDefinition] = []
    for index, sensor in enumerate(spec.sensors):
        name = translator.get_sensor_name(spec, sensor.type, sensor.name, index)
        if isinstance(sensor, FileArrivalSensorSpec):
            sensors.append(_file_arrival_sensor(plan, job, sensor, name, translator, aliases))
        else:
            upstream = jobs_by_group[sensor.group]
            sensors.append(
                _after_group_sensor(plan, job, sensor, name, upstream, upstream_status, translator, aliases)
            )
    return sensors
