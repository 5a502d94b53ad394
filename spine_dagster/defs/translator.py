"""SpineDagsterTranslator: every naming and mapping rule from spine plans to Dagster objects.

Subclass it and override a ``get_*`` method to change one rule (like dagster-dbt's translator). The
definitions, the ``spine`` CLI and the runtime inside every step process all get their translator from
:func:`spine_dagster.composition.get_translator`, which reads ``SPINE_TRANSLATOR`` (``module:Class``), so
one subclass reaches every path; docs/dagster.md shows how. Nothing else decides a spine -> Dagster rule:
the runtime receives the results (retry policy and its cap, asset keys, check names, partition params)
through :class:`spine_dagster.runtime.binding.JobBinding`, built from this class.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from ..pipelines.base import QualityCheck
from ..plan.model import GroupPlan, StepPlan
from ..spec.models import PartitionsSpec, PipelineGroupSpec, RetrySpec, WeeklyPartitionSpec
from ..spec.types import WEEK_DIMENSION, WEEKDAYS

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_BACKOFF = {"constant": None, "linear": dg.Backoff.LINEAR, "exponential": dg.Backoff.EXPONENTIAL}
_JITTER = {"none": None, "full": dg.Jitter.FULL, "plus_minus": dg.Jitter.PLUS_MINUS}


def sunday_first_day(day: str) -> int:
    """A weekday name as cron and Dagster's weekly partitions number it: Sunday 0 .. Saturday 6
    (Python's ``weekday()`` and :data:`WEEKDAYS` start from Monday)."""
    return (WEEKDAYS.index(day) + 1) % 7


@dataclass(frozen=True)
class TranslatorSettings:
    """Switches for the default rules.

    ``multiprocess_start_method``: how parallel groups start step processes. ``forkserver`` halves the
    per-step start cost (each step re-imports the code location either way).

    ``executor``: ``default`` (in-process for sequential groups, multiprocess for parallel ones) or
    ``celery`` (every step on Celery workers, ``SPINE_EXECUTOR``). ``celery_broker_env`` /
    ``celery_backend_env``: the environment variables the run worker reads the broker and backend URLs from
    (``SPINE_CELERY_BROKER`` / ``SPINE_CELERY_BACKEND``; ``None``: unset, the local defaults apply), so a
    password never sits in the definitions. ``celery_queue``: the queue steps go to unless a step's
    ``dagster-celery/queue`` tag names another (``SPINE_CELERY_QUEUE``).
    """

    multiprocess_start_method: str = "forkserver"
    executor: str = "default"
    celery_broker_env: str | None = None
    celery_backend_env: str | None = None
    celery_queue: str = "dagster"


class SpineDagsterTranslator:
    """Maps spine names and policies to Dagster names and objects."""

    def __init__(self, settings: TranslatorSettings | None = None) -> None:
        self.settings = settings or TranslatorSettings()

    # --- names --------------------------------------------------------------------------------------------
    def sanitize(self, name: str) -> str:
        """Dagster names allow ``[A-Za-z0-9_]``: ``.`` becomes ``__``, anything else ``_``.

        Example: ``finra.weekly-refresh`` -> ``finra__weekly_refresh``.
        """
        return _UNSAFE.sub("_", name.replace(".", "__"))

    def get_job_name(self, group: PipelineGroupSpec) -> str:
        """Example: ``finra.weekly_refresh`` -> ``finra__weekly_refresh``."""
        return self.sanitize(group.name)

    def get_op_name(self, pipeline: str, pool: str | None) -> str:
        """One op definition per (pipeline, pool). Example: ``spine.sleep`` in pool ``db`` -> ``spine__sleep__pool_db``."""
        name = self.sanitize(pipeline)
        return f"{name}__pool_{self.sanitize(pool)}" if pool else name

    def get_node_alias(self, step: StepPlan) -> str:
        """The op invocation name of a step. Example: ``load-orders`` -> ``load_orders``."""
        return self.sanitize(step.name)

    def get_schedule_name(self, group: PipelineGroupSpec, name: str | None, index: int) -> str:
        """Example: the first unnamed schedule of ``finra.weekly_refresh`` -> ``finra__weekly_refresh__schedule``;
        a partitioned group's schedule is named ``partitions``."""
        base = f"{self.get_job_name(group)}__schedule"
        return f"{base}_{name}" if name else (base if index == 0 else f"{base}_{index}")

    def get_sensor_name(self, group: PipelineGroupSpec, kind: str, name: str | None, index: int) -> str:
        """Example: the first file-arrival sensor -> ``finra__weekly_refresh__file_arrival_sensor``."""
        base = f"{self.get_job_name(group)}__{kind}_sensor"
        return f"{base}_{name}" if name else (base if index == 0 else f"{base}_{index}")

    def get_outcome_sensor_name(self, run_status: str) -> str:
        """The run-status sensors that record group outcomes. Example: ``failure`` ->
        ``spine__record_group_outcome_failure``."""
        return f"spine__record_group_outcome_{run_status}"

    def get_alert_sensor_name(self, group: PipelineGroupSpec, run_status: str) -> str:
        """The run-status sensors that send a group's ``alerts``, one per Dagster run status. Example:
        ``failure`` -> ``finra__weekly_refresh__alert_sensor_failure``."""
        return f"{self.get_job_name(group)}__alert_sensor_{run_status}"

    def get_alert_sensor_interval(self, group: PipelineGroupSpec) -> int:
        """Seconds between two ticks of a group's alert sensors (Dagster's default sensor interval)."""
        return 30

    def get_reaper_sensor_name(self) -> str:
        """The sensor that marks runs failed whose ``spine run`` process is gone: ``spine__reap_dead_runs``."""
        return "spine__reap_dead_runs"

    # --- assets and checks ----------------------------------------------------------------------------------
    def get_asset_key(self, table: str) -> dg.AssetKey:
        """Example: ``finra_otc.weekly_volume`` -> ``AssetKey(["finra_otc", "weekly_volume"])``."""
        return dg.AssetKey(table.split("."))

    def get_asset_group_name(self, table: str) -> str:
        """The asset group of a table: its schema. Example: ``finra_otc.weekly_volume`` -> ``finra_otc``."""
        return self.sanitize(table.split(".")[0])

    def get_table_output_name(self, table: str) -> str:
        """The op output that stands for a table in its group's graph-backed assets.
        Example: ``finra_otc.symbol_week`` -> ``finra_otc__symbol_week``."""
        return self.sanitize(table)

    def get_step_asset_key(self, plan: GroupPlan, alias: str) -> dg.AssetKey:
        """The asset of a leaf step that writes no table, in a group whose graph has assets (Dagster needs
        every leaf of a graph-backed asset to produce one). Example: ``AssetKey(["my_group", "notify"])``."""
        return dg.AssetKey([self.get_job_name(plan.spec), alias])

    def get_check_name(self, check: QualityCheck) -> str:
        """The asset check name of a pipeline's quality check. Example: ``reject_rate`` -> ``reject_rate``."""
        return self.sanitize(check.name)

    def get_problems_asset_key(self) -> dg.AssetKey:
        """The asset that lists bad group files in the UI."""
        return dg.AssetKey(["spine", "group_files"])

    # --- tags and metadata ----------------------------------------------------------------------------------
    def get_job_tags(self, plan: GroupPlan) -> dict[str, str]:
        """Tags on the job and on each of its runs; ``timeout_minutes`` becomes ``dagster/max_runtime``."""
        spec = plan.spec
        tags: dict[str, str] = {"spine/group": spec.name}
        if spec.domain:
            tags["spine/domain"] = spec.domain
        if isinstance(spec.tags, Mapping):
            tags.update(spec.tags)
        elif spec.tags:
            tags["spine/labels"] = ",".join(spec.tags)
        if spec.policy.timeout_minutes is not None:
            tags["dagster/max_runtime"] = str(round(spec.policy.timeout_minutes * 60))
        return tags

    def get_job_description(self, plan: GroupPlan) -> str:
        """The group's description, else ``spine group NAME``."""
        return plan.spec.description or f"spine group {plan.name}"

    def get_job_metadata(self, plan: GroupPlan) -> dict[str, dg.RawMetadataValue]:
        """What the job page shows about the group: version, policy, plan order, file and owners."""
        spec = plan.spec
        metadata: dict[str, dg.RawMetadataValue] = {
            "spine/group": spec.name,
            "spine/version": str(spec.version),
            "spine/execution": spec.policy.execution,
            "spine/on_failure": spec.policy.on_failure,
            "spine/plan_order": ", ".join(s.name for s in plan.steps),
        }
        if plan.group.source.path:
            metadata["spine/group_file"] = plan.group.source.path
        if spec.owners:
            metadata["spine/owners"] = ", ".join(spec.owners)
        return metadata

    def get_op_tags(self, step: StepPlan) -> dict[str, str]:
        """Step tags; ``dagster/priority`` makes executors pick ready steps in plan order (earlier = higher)."""
        tags = {
            "spine/step": step.name,
            "spine/pipeline": step.pipeline,
            "dagster/priority": str(-step.order),
        }
        if isinstance(step.tags, Mapping):
            tags.update(step.tags)
        elif step.tags:
            tags["spine/labels"] = ",".join(step.tags)
        if step.timeout_seconds is not None:
            tags["spine/timeout_seconds"] = f"{step.timeout_seconds:g}"
        if step.owners:
            tags["spine/owners"] = ",".join(step.owners)
        if self.settings.executor == "celery":
            # dagster-celery orders by its own tag and warns on every run when only dagster/priority is set;
            # its default, so the plan order (dagster/priority) decides among ready steps (defs/celery.py).
            tags.setdefault("dagster-celery/priority", "5")
        return tags

    # --- policies -------------------------------------------------------------------------------------------
    def get_retry_policy(self, retry: RetrySpec | None) -> dg.RetryPolicy | None:
        """``constant`` is Dagster's no-backoff; no policy when there is nothing to retry.

        The runtime computes delays from this same policy when it applies :meth:`get_retry_delay_cap`.
        """
        if retry is None or retry.max_retries == 0:
            return None
        return dg.RetryPolicy(
            max_retries=retry.max_retries,
            delay=retry.delay_seconds or None,
            backoff=_BACKOFF[retry.backoff],
            jitter=_JITTER[retry.jitter],
        )

    def get_retry_delay_cap(self, retry: RetrySpec | None) -> float | None:
        """The longest wait between attempts (``max_delay_seconds``); Dagster's ``RetryPolicy`` has no cap, so
        the runtime computes the policy's delay, caps it, and requests the retry itself."""
        return None if retry is None else retry.max_delay_seconds

    def get_executor(self, plan: GroupPlan) -> dg.ExecutorDefinition:
        """``sequential``: in-process, one step at a time; ``parallel``: multiprocess, ``max_concurrency`` at once.

        With ``SPINE_EXECUTOR=celery`` every step runs on a Celery worker instead (:meth:`get_celery_executor`):
        ``sequential`` one step at a time, ``parallel`` up to ``max_concurrency`` steps at once.
        """
        policy = plan.policy
        if self.settings.executor == "celery":
            return self.get_celery_executor(
                1 if policy.execution == "sequential" else policy.max_concurrency,
                fail_fast=policy.on_failure == "stop",
            )
        if policy.execution == "sequential":
            return dg.in_process_executor
        return self._multiprocess(policy.max_concurrency)

    def get_asset_executor(self) -> dg.ExecutorDefinition:
        """The executor of runs Dagster builds from an asset selection (Materialize in the asset graph,
        ``dagster asset materialize``, a check run alone): multiprocess, as many steps at once as there are
        CPUs (``depends_on`` edges and pools still order and bound them), step processes started like a
        parallel group's. A run can span several groups, so no single group's policy applies.
        With ``SPINE_EXECUTOR=celery``: Celery, with no limit of its own (the workers' slots bound it)."""
        if self.settings.executor == "celery":
            return self.get_celery_executor(0, fail_fast=False)
        return self._multiprocess(0)

    def get_celery_executor(self, max_concurrent: int, *, fail_fast: bool) -> dg.ExecutorDefinition:
        """dagster-celery's executor (:mod:`spine_dagster.defs.celery`): at most ``max_concurrent`` steps of a
        run submitted at once (0: no limit), ``fail_fast`` for ``on_failure: stop``. Workers acknowledge a
        task when it ends (``task_acks_late``) and hand it back to the broker when their process dies
        (``task_reject_on_worker_lost``), so a killed worker's step is redelivered to another worker."""
        from ..settings import DEFAULT_CELERY_BROKER
        from .celery import spine_celery_executor

        env = self.settings
        config: dict[str, object] = {
            "max_concurrent": max_concurrent,
            "fail_fast": fail_fast,
            "broker": {"env": env.celery_broker_env} if env.celery_broker_env else DEFAULT_CELERY_BROKER,
            "config_source": {
                "task_acks_late": True,
                "task_reject_on_worker_lost": True,
                "task_default_queue": env.celery_queue,
            },
        }
        if env.celery_backend_env:
            config["backend"] = {"env": env.celery_backend_env}
        return spine_celery_executor.configured(config)

    def _multiprocess(self, max_concurrent: int) -> dg.ExecutorDefinition:
        start: dict[str, object] = {}
        if self.settings.multiprocess_start_method == "forkserver":
            # Step processes fork from a server that has already imported the definitions code.
            start = {"preload_modules": ["dagster._core.executor.multiprocess", "spine_dagster.composition"]}
        return dg.multiprocess_executor.configured(
            {
                "max_concurrent": max_concurrent,
                "start_method": {self.settings.multiprocess_start_method: start},
            }
        )

    # --- partitions -----------------------------------------------------------------------------------------
    def get_partitions_def(self, spec: PipelineGroupSpec) -> dg.PartitionsDefinition | None:
        """Weekly partitions keyed by the date of the week's ``key_day`` (default Monday), optionally times a
        static dimension. The weekly dimension is named ``date`` (:meth:`get_week_dimension_name`) so that the
        multi-partition key, whose parts Dagster joins in alphabetical order of the dimension names, reads
        ``2025-11-17|NMS_TIER_1`` (unless the static name sorts before ``date``)."""
        return None if spec.partitions is None else self.get_partitions_def_of(spec.partitions)

    def get_partitions_def_of(self, parts: PartitionsSpec) -> dg.PartitionsDefinition:
        week = self.get_week_partitions_def(parts.weekly)
        if parts.static is None:
            return week
        return dg.MultiPartitionsDefinition(
            {
                self.get_week_dimension_name(): week,
                parts.static.name: dg.StaticPartitionsDefinition(list(parts.static.values)),
            }
        )

    def get_week_dimension_name(self) -> str:
        """The weekly dimension's name in a multi-partition (tags ``dagster/partition/date``): ``date``."""
        return WEEK_DIMENSION

    def get_week_partitions_def(self, weekly: WeeklyPartitionSpec) -> dg.WeeklyPartitionsDefinition:
        """Dagster windows of 7 days starting at 00:00 on ``key_day`` (``day_offset``), so a key is the date of
        the week's ``key_day``; the first is the ``key_day`` of the week ending on ``start``.

        Example: ``ends_on: friday``, ``key_day: monday``, ``start: 2025-11-21`` ->
        ``WeeklyPartitionsDefinition(start_date="2025-11-17", day_offset=1)``, keys ``2025-11-17``,
        ``2025-11-24``, ... Dagster offers a key once its window has passed: the Monday after the week.
        """
        first_key = week_key_of(weekly, dt.date.fromisoformat(weekly.start))
        return dg.WeeklyPartitionsDefinition(
            start_date=first_key.isoformat(),
            day_offset=sunday_first_day(weekly.key_day),
            timezone=weekly.timezone,
            end_offset=weekly.end_offset,
        )

    def get_partition_params(self, parts: PartitionsSpec, key: str | dg.MultiPartitionKey) -> dict[str, str]:
        """The run params a partition key fills (the week's last or first day, and the static value).

        Example (FINRA): ``2025-11-17|NMS_TIER_1`` -> ``{"week_ending": "2025-11-21", "tier": "NMS_TIER_1"}``.
        """
        if parts.static is not None and not isinstance(key, dg.MultiPartitionKey):
            partitions_def = self.get_partitions_def_of(parts)
            assert isinstance(partitions_def, dg.MultiPartitionsDefinition)
            key = partitions_def.get_partition_key_from_str(key)
        if isinstance(key, dg.MultiPartitionKey):
            week_key = key.keys_by_dimension[self.get_week_dimension_name()]
            static_value = key.keys_by_dimension[parts.static.name] if parts.static else None
        else:
            week_key, static_value = key, None
        first_day, last_day = week_of_key(parts.weekly, dt.date.fromisoformat(week_key))
        day = last_day if parts.weekly.fills == "week_ending" else first_day
        params = {parts.weekly.param: day.isoformat()}
        if parts.static is not None and static_value is not None:
            params[parts.static.target_param] = static_value
        return params


def week_key_of(weekly: WeeklyPartitionSpec, day: dt.date) -> dt.date:
    """The key of the week holding ``day``: the week is the 7 days ending on the first ``ends_on`` day on or
    after ``day``, and its key is the date of its ``key_day``.

    Example (``ends_on: friday``, ``key_day: monday``): Wednesday 2025-11-19, Friday 2025-11-21 -> 2025-11-17;
    Saturday 2025-11-22 (the next week, which ends on Friday 2025-11-28) -> 2025-11-24.
    """
    first = _next(weekly.ends_on, day) - dt.timedelta(days=6)
    return _next(weekly.key_day, first)


def week_of_key(weekly: WeeklyPartitionSpec, key: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the week a key names. Example (Friday weeks, Monday keys): 2025-11-17 ->
    (2025-11-15, 2025-11-21)."""
    last = _next(weekly.ends_on, key)
    return last - dt.timedelta(days=6), last


def _next(weekday: str, day: dt.date) -> dt.date:
    """The first ``weekday`` on or after ``day``."""
    return day + dt.timedelta(days=(WEEKDAYS.index(weekday) - day.weekday()) % 7)
