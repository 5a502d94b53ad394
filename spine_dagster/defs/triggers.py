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

from ..runtime.binding import JobBinding
from ..spec.models import AfterGroupSensorSpec, FileArrivalSensorSpec, PartitionsSpec
from ..spec.types import WEEKDAYS
from .config import run_config_for
from .partitions import PartitionKeys
from .translator import SpineDagsterTranslator, sunday_first_day

_STATUS = {"running": dg.DefaultScheduleStatus.RUNNING, "stopped": dg.DefaultScheduleStatus.STOPPED}
_SENSOR_STATUS = {"running": dg.DefaultSensorStatus.RUNNING, "stopped": dg.DefaultSensorStatus.STOPPED}


def build_schedules(
    binding: JobBinding, job: dg.JobDefinition, translator: SpineDagsterTranslator
) -> list[dg.ScheduleDefinition]:
    """The group's cron schedules, or its partition schedule."""
    spec = binding.plan.spec
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
        schedules.append(_partition_schedule(binding, job, translator))
    return schedules


def _partition_schedule(
    binding: JobBinding, job: dg.JobDefinition, translator: SpineDagsterTranslator
) -> dg.ScheduleDefinition:
    """Each tick: for every static value, the newest complete week minus its ``lag_weeks``."""
    spec = binding.plan.spec
    parts = spec.partitions
    assert parts is not None and parts.schedule is not None
    sched = parts.schedule
    day = "*" if sched.day_of_week is None else str(sunday_first_day(sched.day_of_week))
    cron = f"{sched.minute} {sched.hour} * * {day}"
    keys_of = PartitionKeys(spec.name, parts, translator)
    lags = sched.lag_weeks

    @dg.schedule(
        name=translator.get_schedule_name(spec, "partitions", 0),
        job=job,
        cron_schedule=cron,
        execution_timezone=sched.timezone,
        default_status=_STATUS[sched.default_status],
        description=partition_schedule_description(spec.name, parts, cron),
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
        now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        keys = keys_of.latest_weeks(now)
        requests = []
        for value in keys_of.values:
            lag = (
                lags.get(value, 0)
                if isinstance(lags, dict) and value is not None
                else (lags if isinstance(lags, int) else 0)
            )
            if lag >= len(keys):
                continue
            key = keys_of.key(keys[-1 - lag], value)
            requests.append(dg.RunRequest(run_key=key, partition_key=key))
        return requests or dg.SkipReason(f"no complete week yet at {now:%Y-%m-%d %H:%M}")

    return _schedule


_DAY_NAMES = {str(sunday_first_day(day)): day.capitalize() for day in WEEKDAYS}


def partition_schedule_description(group: str, parts: PartitionsSpec, cron: str) -> str:
    """What the partition schedule's page says, in words. Example (FINRA): ``finra.weekly_refresh: each
    Wednesday at 06:00 America/New_York, for each tier the newest complete week minus its lag: NMS_TIER_1
    2 weeks, NMS_TIER_2 4 weeks, OTC 4 weeks (cron 0 6 * * 3)``."""
    sched = parts.schedule
    assert sched is not None
    minute, hour, *_, day = cron.split()
    when = f"{'every day' if day == '*' else 'each ' + _DAY_NAMES[day]} at {int(hour):02d}:{int(minute):02d}"
    lags, static = sched.lag_weeks, parts.static
    each = f"for each {static.name} " if static is not None else ""
    if isinstance(lags, int):
        what = f"{each}the newest complete week" + (f" minus {_weeks(lags)}" if lags else "")
    else:
        assert static is not None  # the spec allows lag_weeks per value only with a static dimension
        by_value = ", ".join(f"{value} {_weeks(lags.get(value, 0))}" for value in static.values)
        what = f"{each}the newest complete week minus its lag: {by_value}"
    return f"{group}: {when} {sched.timezone}, {what} (cron {cron})"


def _weeks(n: int) -> str:
    return f"{n} week" if n == 1 else f"{n} weeks"


def _partitions_for_file(
    keys_of: PartitionKeys, sensor: FileArrivalSensorSpec, name: str
) -> list[str] | None:
    """The partition keys a file name selects (None when the name does not match the pattern)."""
    assert sensor.partition_pattern is not None
    match = re.search(sensor.partition_pattern, name)
    if match is None:
        return None
    try:
        day = dt.date.fromisoformat(match.group("week"))
    except ValueError:
        return None
    week = keys_of.week_of(day)
    static = keys_of.parts.static
    if static is None:
        return [week]
    wanted = match.groupdict().get(static.name)
    values = [wanted] if wanted else list(static.values)
    if any(v not in static.values for v in values):
        return None
    return [keys_of.key(week, v) for v in values]


def _file_requests(
    binding: JobBinding,
    sensor: FileArrivalSensorSpec,
    keys_of: PartitionKeys | None,
    path: Path,
    run_key: str,
) -> list[dg.RunRequest] | None:
    """The run requests for one new file (None: the name does not match ``partition_pattern``)."""
    key = str(path.resolve())
    params = dict(sensor.params)
    if sensor.path_param:
        params[sensor.path_param] = key
    tags = {"spine/trigger_file": key}
    if keys_of is None or sensor.partition_pattern is None:
        return [dg.RunRequest(run_key=run_key, run_config=run_config_for(binding, params), tags=tags)]
    partitions = _partitions_for_file(keys_of, sensor, path.name)
    if partitions is None:
        return None
    return [
        dg.RunRequest(
            run_key=f"{run_key}:{partition}",
            run_config=run_config_for(binding, {**params, **keys_of.params(partition)}),
            partition_key=partition,
            tags=tags,
        )
        for partition in partitions
    ]


def _file_arrival_sensor(
    binding: JobBinding,
    job: dg.JobDefinition,
    sensor: FileArrivalSensorSpec,
    name: str,
    translator: SpineDagsterTranslator,
) -> dg.SensorDefinition:
    directory = Path(sensor.directory)
    plan = binding.plan
    keys_of = PartitionKeys(plan.name, plan.partitions, translator) if plan.partitions is not None else None

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
            run_key = f"{key}:{stat.st_mtime_ns}:{stat.st_size}"
            found = _file_requests(binding, sensor, keys_of, path, run_key)
            if found is None:
                unmatched.append(path.name)
            else:
                requests.extend(found)
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
    binding: JobBinding,
    job: dg.JobDefinition,
    sensor: AfterGroupSensorSpec,
    name: str,
    upstream_job: dg.JobDefinition,
    upstream_status: Callable[[dg.DagsterInstance, str], str | None],
) -> dg.SensorDefinition:
    run_status = dg.DagsterRunStatus.SUCCESS if sensor.status == "completed" else dg.DagsterRunStatus.FAILURE
    plan = binding.plan

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
        if binding.partition_params is not None:
            if partition is None:
                return dg.SkipReason(
                    f"{plan.name} is partitioned but run {run.run_id} of {sensor.group} had no partition"
                )
            params.update(binding.partition_params(partition))
        return dg.RunRequest(
            run_key=f"after:{run.run_id}",
            run_config=run_config_for(binding, params),
            partition_key=partition if binding.partition_params is not None else None,
            tags={"spine/triggered_by_run": run.run_id},
        )

    return _sensor


def build_sensors(
    binding: JobBinding,
    job: dg.JobDefinition,
    translator: SpineDagsterTranslator,
    jobs_by_group: dict[str, dg.JobDefinition],
    upstream_status: Callable[[dg.DagsterInstance, str], str | None],
) -> list[dg.SensorDefinition]:
    """The group's file-arrival and after-group sensors."""
    spec = binding.plan.spec
    sensors: list[dg.SensorDefinition] = []
    for index, sensor in enumerate(spec.sensors):
        name = translator.get_sensor_name(spec, sensor.type, sensor.name, index)
        if isinstance(sensor, FileArrivalSensorSpec):
            sensors.append(_file_arrival_sensor(binding, job, sensor, name, translator))
        else:
            upstream = jobs_by_group[sensor.group]
            sensors.append(_after_group_sensor(binding, job, sensor, name, upstream, upstream_status))
    return sensors
