"""Every key of the language that should reach Dagster reaches it (in the spirit of dagster-sling's tests).

Two groups set every key: ``every.key`` (partitioned, with sensors) and ``every.cron`` (cron schedules).
The built definitions are read back into a plain snapshot (jobs, ops, tags, retry policies, executor
config, partitions, schedules, sensors, assets, checks) and compared with what each key must produce;
schedules and sensors are evaluated so the params they carry are checked too. A meta-test makes every
field of the spec models either listed here with where it shows in Dagster, or listed as not reaching
Dagster with the reason, so a new key cannot be added without deciding its mapping.
"""

from __future__ import annotations

import datetime as dt
import typing
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import BaseModel

from spine_dagster.composition import CodeLocation, build_code_location
from spine_dagster.plan.model import CheckPolicy
from spine_dagster.settings import Settings
from spine_dagster.spec.models import PipelineGroupSpec, SpecModel
from tests.conftest import evaluate_tick

EVERY_KEY = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata:
  name: every.key
  domain: test.every
  version: 3
  description: A group that sets every key that reaches Dagster
  tags: {team: market-data}
  owners: [team:market-data, ops@example.com]
spec:
  defaults:
    tier: "{{ params.tier }}"
    week_ending: "{{ params.week_ending }}"
    max_reject_rate: 0.05
  pipelines:
    - name: ingest-week
      pipeline: finra.otc_transparency.ingest_week
      description: Fetch the week's files
      params: {force: false}
      retry: {max_retries: 3, delay_seconds: 10, backoff: exponential, max_delay_seconds: 120, jitter: full}
      timeout_seconds: 600
      pool: warehouse
      tags: {layer: raw}
      owners: [team:ingest]
    - name: normalize
      pipeline: finra.otc_transparency.normalize_week
      depends_on: ingest-week
      checks:
        reject_rate: {severity: error, blocking: true}
  policy:
    execution: parallel
    max_concurrency: 2
    on_failure: continue
    timeout_minutes: 60
    retry: {max_retries: 1, delay_seconds: 5, backoff: linear, jitter: plus_minus}
  partitions:
    weekly: {start: "2025-01-03", ends_on: friday, key_day: tuesday, param: week_ending, fills: week_ending,
             end_offset: 1, timezone: America/New_York}
    static: {name: tier, values: [NMS_TIER_1, OTC], param: tier}
    schedule: {hour: 6, minute: 30, day_of_week: monday, timezone: America/New_York, default_status: running,
               lag_weeks: {OTC: 1}}
  sensors:
    - type: file_arrival
      directory: inbox
      glob: "*.psv"
      path_param: source_path
      partition_pattern: '_(?P<week>\\d{4}-\\d{2}-\\d{2})'
      name: inbox
      params: {force: true}
      minimum_interval_seconds: 45
      default_status: running
    - type: after_group
      group: every.cron
      status: partial
      name: after_cron
      params: {force: true}
      minimum_interval_seconds: 90
      default_status: stopped
  alerts:
    - on: [failed, partial]
      webhook: {url_env: OPS_WEBHOOK_URL}
    - on: [check_error]
      webhook: {url: "http://127.0.0.1:9/hook"}
    - on: failed
      email: {to: [ops@example.com], from: spine@example.com, smtp_host: smtp.example.com, smtp_port: 587,
              tls: starttls, username_env: SMTP_USER, password_env: SMTP_PASSWORD}
    - on: [failed]
      slack: {channel: "#market-data", token_env: SLACK_TOKEN}
"""

EVERY_CRON = """
name: every.cron
tags: [weekly, finra]
steps:
  - {name: wait, pipeline: spine.sleep, params: {seconds: "{{ params.seconds }}"}, tags: [slow]}
schedules:
  - {cron: "0 6 * * 1", timezone: America/New_York, name: weekly, description: Monday morning,
     params: {seconds: 1}, default_status: running}
  - {cron: "0 7 * * *", params: {seconds: 2}}
"""

# Where each spec field shows in Dagster (checked by the tests below), by its path in the spec models.
REACHES_DAGSTER = {
    "name": "job name, spine/group tag and metadata",
    "domain": "spine/domain job tag",
    "version": "spine/version job metadata",
    "description": "job description",
    "tags": "job tags (a list: spine/labels)",
    "owners": "spine/owners job metadata",
    "defaults": "run config of every partition (and Launchpad defaults of unpartitioned groups)",
    "steps.name": "node alias (sanitized) and spine/step op tag",
    "steps.pipeline": "op definition and spine/pipeline op tag",
    "steps.depends_on": "Nothing dependencies between nodes",
    "steps.params": "resolved per step at run time from the plan (spine/params output metadata)",
    "steps.retry.max_retries": "node RetryPolicy",
    "steps.retry.delay_seconds": "node RetryPolicy",
    "steps.retry.backoff": "node RetryPolicy",
    "steps.retry.max_delay_seconds": "runtime binding retry_delay_cap",
    "steps.retry.jitter": "node RetryPolicy",
    "steps.timeout_seconds": "spine/timeout_seconds op tag",
    "steps.pool": "op pool",
    "steps.tags": "op tags (a list: spine/labels)",
    "steps.owners": "spine/owners op tag",
    "steps.checks.severity": "check policy of the step's binding (severity of the check evaluation)",
    "steps.checks.blocking": "check policy of the step's binding (blocking of the check evaluation)",
    "policy.execution": "executor (in_process or multiprocess)",
    "policy.max_concurrency": "multiprocess executor max_concurrent",
    "policy.on_failure": "spine/on_failure job metadata (fail-fast in the runtime)",
    "policy.timeout_minutes": "dagster/max_runtime job tag",
    "policy.retry.max_retries": "RetryPolicy of steps without their own retry",
    "policy.retry.delay_seconds": "RetryPolicy of steps without their own retry",
    "policy.retry.backoff": "RetryPolicy of steps without their own retry",
    "policy.retry.max_delay_seconds": "runtime binding retry_delay_cap",
    "policy.retry.jitter": "RetryPolicy of steps without their own retry",
    "schedules.cron": "schedule cron",
    "schedules.timezone": "schedule timezone",
    "schedules.name": "schedule name",
    "schedules.description": "schedule description",
    "schedules.params": "schedule run config",
    "schedules.default_status": "schedule default status",
    "partitions.weekly.ends_on": "the day a partition's week ends (the params it fills)",
    "partitions.weekly.key_day": "weekly partitions day offset (the key's day)",
    "partitions.weekly.start": "weekly partitions start",
    "partitions.weekly.param": "param a partition fills",
    "partitions.weekly.fills": "the day a partition fills (week's last or first)",
    "partitions.weekly.end_offset": "weekly partitions end offset",
    "partitions.weekly.timezone": "weekly partitions timezone",
    "partitions.static.name": "multi-partition dimension name",
    "partitions.static.values": "static partition keys",
    "partitions.static.param": "param the static value fills",
    "partitions.schedule.hour": "partition schedule cron",
    "partitions.schedule.minute": "partition schedule cron",
    "partitions.schedule.day_of_week": "partition schedule cron",
    "partitions.schedule.timezone": "partition schedule timezone",
    "partitions.schedule.default_status": "partition schedule default status",
    "partitions.schedule.lag_weeks": "partition keys the schedule requests",
    "sensors[file_arrival].type": "a sensor that requests runs per file",
    "sensors[file_arrival].directory": "files the sensor sees",
    "sensors[file_arrival].glob": "files the sensor sees",
    "sensors[file_arrival].path_param": "run config param with the file's path",
    "sensors[file_arrival].partition_pattern": "partition key of each file's run",
    "sensors[file_arrival].name": "sensor name",
    "sensors[file_arrival].params": "run config of each run",
    "sensors[file_arrival].minimum_interval_seconds": "sensor interval",
    "sensors[file_arrival].default_status": "sensor default status",
    "sensors[after_group].type": "a run-status sensor",
    "sensors[after_group].group": "the job the sensor monitors",
    "sensors[after_group].status": "run status the sensor watches",
    "sensors[after_group].name": "sensor name",
    "sensors[after_group].params": "run config of the requested run",
    "sensors[after_group].minimum_interval_seconds": "sensor interval",
    "sensors[after_group].default_status": "sensor default status",
    "alerts.on": "run statuses the alert sensors watch, and when they send (tests/defs/test_alerts.py)",
    "alerts.webhook.url": "alert sensor description; where the sensor POSTs (tests/defs/test_alerts.py)",
    "alerts.webhook.url_env": "alert sensor description; read when the sensor sends",
    "alerts.email.to": "alert sensor description; the email's recipients",
    "alerts.email.sender": "alert sensor description; the email's From (written `from`)",
    "alerts.email.smtp_host": "alert sensor description; the SMTP server the sensor sends through",
    "alerts.email.smtp_port": "the SMTP server the sensor sends through",
    "alerts.email.tls": "how the sensor connects to the SMTP server",
    "alerts.email.username_env": "read when the sensor sends",
    "alerts.email.password_env": "read when the sensor sends",
    "alerts.slack.channel": "alert sensor description; the channel the sensor posts to",
    "alerts.slack.token_env": "read when the sensor sends (through dagster-slack)",
}
# (apiVersion and kind are format markers checked when a file loads; they are not fields of the model.)
NOT_IN_DAGSTER = {
    "steps.description": "one op definition serves every step that runs a pipeline; shown by `spine plan`",
}


def _spec_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every leaf field path of a spec model (nested models expanded; sensor kinds by their type)."""
    paths = set()
    for name, field in model.model_fields.items():
        nested = [m for m in _models_in(field.annotation) if issubclass(m, SpecModel)]
        if not nested:
            paths.add(prefix + name)
            continue
        for sub in nested:
            kind = sub.model_fields["type"].annotation if "type" in sub.model_fields else None
            label = f"{name}[{typing.get_args(kind)[0]}]" if kind is not None else name
            paths |= _spec_fields(sub, f"{prefix}{label}.")
    return paths


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(m for m in _models_in(arg) if m not in found)
    return found


def test_every_spec_field_has_a_decided_mapping() -> None:
    fields = _spec_fields(PipelineGroupSpec)
    decided = set(REACHES_DAGSTER) | set(NOT_IN_DAGSTER)
    assert fields - decided == set(), "new spec fields: decide how they reach Dagster"
    assert decided - fields == set(), "listed fields that the spec models no longer have"


@pytest.fixture(name="location", scope="module")
def location_fixture(tmp_path_factory: pytest.TempPathFactory) -> CodeLocation:
    root = tmp_path_factory.mktemp("every_key")
    groups = root / "groups"
    groups.mkdir()
    (groups / "every_key.yaml").write_text(EVERY_KEY)
    (groups / "every_cron.yaml").write_text(EVERY_CRON)
    settings = Settings(
        home=root / "home", groups_dir=groups, warehouse_url="duckdb:///:memory:", strict=True
    )
    return build_code_location(settings)


def _nodes(job: dg.JobDefinition) -> dict[str, dict[str, Any]]:
    nodes = {}
    for name, node in job.graph.node_dict.items():
        policy = node.retry_policy
        upstream = job.graph.dependency_structure.input_to_upstream_outputs_for_node(name)
        nodes[name] = {
            "op": node.definition.name,
            "pool": node.definition.pool,  # type: ignore[union-attr]
            "tags": dict(node.tags),
            "retry": None
            if policy is None
            else (policy.max_retries, policy.delay, policy.backoff, policy.jitter),
            "after": sorted(out.node_name for outs in upstream.values() for out in outs),
        }
    return nodes


def test_group_keys_reach_the_job(location: CodeLocation) -> None:
    job = location.definitions.resolve_job_def("every__key")
    assert job.description == "A group that sets every key that reaches Dagster"
    assert dict(job.tags) == {
        "spine/group": "every.key",
        "spine/domain": "test.every",
        "team": "market-data",
        "dagster/max_runtime": "3600",
    }
    metadata = {k: v.value for k, v in job.metadata.items()}
    assert {k: v for k, v in metadata.items() if k != "spine/group_file"} == {
        "spine/group": "every.key",
        "spine/version": "3",
        "spine/execution": "parallel",
        "spine/on_failure": "continue",
        "spine/plan_order": "ingest-week, normalize",
        "spine/owners": "team:market-data, ops@example.com",
    }
    assert str(metadata["spine/group_file"]).endswith("every_key.yaml")
    assert job.executor_def.name == "multiprocess"
    executor_config = job.executor_def.config_schema.resolve_config({}).value  # type: ignore[union-attr]
    assert executor_config["config"]["max_concurrent"] == 2
    assert list(executor_config["config"]["start_method"]) == ["forkserver"]
    cron_job = location.definitions.resolve_job_def("every__cron")
    assert cron_job.executor_def.name == "in_process"
    assert dict(cron_job.tags) == {"spine/group": "every.cron", "spine/labels": "weekly,finra"}


def test_step_keys_reach_the_nodes(location: CodeLocation) -> None:
    nodes = _nodes(location.definitions.resolve_job_def("every__key"))
    assert nodes == {
        "ingest_week": {
            "op": "finra__otc_transparency__ingest_week__pool_warehouse",
            "pool": "warehouse",
            "tags": {
                "spine/pipeline": "finra.otc_transparency.ingest_week",
                "spine/step": "ingest-week",
                "dagster/priority": "0",
                "layer": "raw",
                "spine/timeout_seconds": "600",
                "spine/owners": "team:ingest",
            },
            "retry": (3, 10, dg.Backoff.EXPONENTIAL, dg.Jitter.FULL),
            "after": [],
        },
        "normalize": {  # no retry of its own: the group's policy.retry
            "op": "finra__otc_transparency__normalize_week",
            "pool": None,
            "tags": {
                "spine/pipeline": "finra.otc_transparency.normalize_week",
                "spine/step": "normalize",
                "dagster/priority": "-1",
            },
            "retry": (1, 5, dg.Backoff.LINEAR, dg.Jitter.PLUS_MINUS),
            "after": ["ingest_week"],
        },
    }
    cron_nodes = _nodes(location.definitions.resolve_job_def("every__cron"))
    assert cron_nodes["wait"]["tags"]["spine/labels"] == "slow"


def test_runtime_binding_carries_the_cap_and_the_check_policy(location: CodeLocation) -> None:
    binding = location.runtime.jobs["every__key"]
    assert binding.step("ingest_week").retry_delay_cap == 120
    assert binding.step("normalize").retry_delay_cap is None
    assert binding.step("normalize").step.check_policies["reject_rate"] == CheckPolicy(
        "finra_otc.rejects", "error", True, overridden=True
    )
    assert binding.step("normalize").check_names["reject_rate"] == "reject_rate"
    assert binding.step("normalize").asset_keys["finra_otc.rejects"] == dg.AssetKey(["finra_otc", "rejects"])


def test_partitions_reach_the_partitioned_config(location: CodeLocation) -> None:
    job = location.definitions.resolve_job_def("every__key")
    partitions = job.partitions_def
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    assert [d.name for d in partitions.partitions_defs] == ["date", "tier"]  # Dagster's order: keys DATE|TIER
    week = next(d.partitions_def for d in partitions.partitions_defs if d.name == "date")
    assert isinstance(week, dg.WeeklyPartitionsDefinition)
    # Weeks end on Friday (Sat..Fri) and are keyed by their Tuesday: Dagster windows Tue..Mon; the first
    # week ends on 2025-01-03, its Tuesday is 2024-12-31.
    assert week.start.date() == dt.date(2024, 12, 31) and week.day_offset == 2
    assert week.timezone == "America/New_York" and week.end_offset == 1
    config = job.partitioned_config.get_run_config_for_partition_key("2025-01-07|OTC")  # type: ignore[union-attr]
    params = {"tier": "OTC", "week_ending": "2025-01-10", "max_reject_rate": 0.05}
    # each op gets the params its pipeline takes: ingest has no max_reject_rate (its schema refuses it)
    ingest = {"tier": "OTC", "week_ending": "2025-01-10"}
    assert config == {
        "ops": {"ingest_week": {"config": {"params": ingest}}, "normalize": {"config": {"params": params}}}
    }


def test_schedules_reach_dagster_and_evaluate(location: CodeLocation) -> None:
    defs = location.definitions
    found = {
        s.name: (s.job_name, s.cron_schedule, s.execution_timezone, s.default_status, s.description)
        for s in defs.schedules  # type: ignore[union-attr]
    }
    assert found == {
        "every__cron__schedule_weekly": (
            "every__cron", "0 6 * * 1", "America/New_York", dg.DefaultScheduleStatus.RUNNING, "Monday morning",
        ),
        "every__cron__schedule_1": (
            "every__cron", "0 7 * * *", "UTC", dg.DefaultScheduleStatus.STOPPED, "every.cron: 0 7 * * * (UTC)",
        ),
        "every__key__schedule_partitions": (
            "every__key", "30 6 * * 1", "America/New_York", dg.DefaultScheduleStatus.RUNNING,
            "every.key: each Monday at 06:30 America/New_York, for each tier the newest complete week minus its "
            "lag: NMS_TIER_1 0 weeks, OTC 1 week (cron 30 6 * * 1)",
        ),
    }  # fmt: skip
    with dg.instance_for_test() as instance:
        weekly = defs.resolve_schedule_def("every__cron__schedule_weekly")
        tick = evaluate_tick(weekly, instance=instance)
        assert [r.run_config for r in tick.run_requests] == [{"params": {"seconds": 1}}]  # type: ignore[union-attr]
        partitioned = defs.resolve_schedule_def("every__key__schedule_partitions")
        when = dt.datetime(2025, 1, 20, 6, 30, tzinfo=dt.UTC)
        tick = evaluate_tick(
            partitioned,
            instance=instance,
            scheduled_execution_time=when,
            repository_def=defs.get_repository_def(),
        )
        # At Monday 2025-01-20 01:30 New York the newest Dagster window that has passed is Tue 01-07..Mon 01-13;
        # end_offset 1 adds the next key, 2025-01-14 (the week ending Friday 01-17); OTC lags one week.
        assert [r.partition_key for r in tick.run_requests] == ["2025-01-14|NMS_TIER_1", "2025-01-07|OTC"]  # type: ignore[union-attr]


def test_sensors_reach_dagster_and_evaluate(
    location: CodeLocation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = location.definitions
    alerts = (
        "webhook (url_env OPS_WEBHOOK_URL) on failed/partial, webhook (http://127.0.0.1:9/hook) on check_error, "
        "email (to ops@example.com via smtp.example.com:587) on failed, slack (#market-data) on failed"
    )
    found = {
        s.name: (type(s).__name__, s.minimum_interval_seconds, s.default_status, s.description)
        for s in defs.sensors  # type: ignore[union-attr]
    }
    group_files = found.pop("spine__group_files_sensor")
    assert group_files[:3] == ("SensorDefinition", 60, dg.DefaultSensorStatus.RUNNING)
    assert (
        "reports spine/group_files materialized and records its check all_group_files_valid" in group_files[3]
    )
    assert found == {
        "every__key__file_arrival_sensor_inbox": (
            "SensorDefinition", 45, dg.DefaultSensorStatus.RUNNING,
            "every.key: one run per new file matching '*.psv' in inbox",
        ),
        "every__key__after_group_sensor_after_cron": (
            "RunStatusSensorDefinition", 90, dg.DefaultSensorStatus.STOPPED,
            "every.key: after each run of every.cron that ends partial",
        ),
        "every__key__alert_sensor_success": (
            "RunStatusSensorDefinition", 30, dg.DefaultSensorStatus.RUNNING,
            f"every.key: alerts for runs that end SUCCESS ({alerts})",
        ),
        "every__key__alert_sensor_failure": (
            "RunStatusSensorDefinition", 30, dg.DefaultSensorStatus.RUNNING,
            f"every.key: alerts for runs that end FAILURE ({alerts})",
        ),
        "spine__record_group_outcome_success": (
            "RunStatusSensorDefinition", 30, dg.DefaultSensorStatus.RUNNING,
            "Records the spine group status and step table of each finished run as run tags.",
        ),
        "spine__record_group_outcome_failure": (
            "RunStatusSensorDefinition", 30, dg.DefaultSensorStatus.RUNNING,
            "Records the spine group status and step table of each finished run as run tags.",
        ),
        "spine__reap_dead_runs": (
            "SensorDefinition", 30, dg.DefaultSensorStatus.RUNNING,
            "Marks failed the runs whose spine run process is gone (killed or crashed), and frees pool slots "
            "still held by finished runs, so later runs of the pool do not wait forever.",
        ),
    }  # fmt: skip
    after = defs.resolve_sensor_def("every__key__after_group_sensor_after_cron")
    assert after.job_name == "every__key"
    monkeypatch.chdir(tmp_path)  # the sensor's directory is relative: inbox/ under the working directory
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "otc_2025-01-08.psv").write_text("x")
    (tmp_path / "inbox" / "ignored.txt").write_text("x")
    with dg.instance_for_test() as instance:
        sensor = defs.resolve_sensor_def("every__key__file_arrival_sensor_inbox")
        result = evaluate_tick(sensor, instance=instance, repository_def=defs.get_repository_def())
    path = str((tmp_path / "inbox" / "otc_2025-01-08.psv").resolve())
    requests = {
        r.partition_key: r.run_config["ops"]["normalize"]["config"]["params"] for r in result.run_requests
    }
    # source_path (the file) reaches only the op whose pipeline takes it
    assert {
        r.run_config["ops"]["ingest_week"]["config"]["params"]["source_path"] for r in result.run_requests
    } == {path}
    assert requests == {
        f"2025-01-07|{tier}": {
            "tier": tier, "week_ending": "2025-01-10", "max_reject_rate": 0.05, "force": True,
        }
        for tier in ("NMS_TIER_1", "OTC")
    }  # fmt: skip


def test_tables_and_checks_reach_the_asset_graph(location: CodeLocation) -> None:
    defs = location.definitions
    specs = {
        spec.key: spec
        for asset in defs.assets or []
        for spec in (asset.specs if isinstance(asset, dg.AssetsDefinition) else [asset])  # type: ignore[list-item]
    }
    weekly = specs[dg.AssetKey(["finra_otc", "weekly_volume"])]
    # produced by the group's graph (its last writer), with the group's partitions
    graph = defs.resolve_asset_graph()
    assert graph.get(weekly.key).is_materializable
    assert weekly.partitions_def == defs.resolve_job_def("every__key").partitions_def is not None
    assert weekly.metadata["spine/produced_by"] == "group every.key, step normalize"
    # a table no group writes stays external: lineage only, unpartitioned
    symbol_week = specs[dg.AssetKey(["finra_otc", "symbol_week"])]
    assert not graph.get(symbol_week.key).is_materializable
    assert symbol_week.partitions_def is None
    assert [d.asset_key for d in weekly.deps] == [dg.AssetKey(["finra_otc", "raw_weekly"])]
    assert weekly.group_name == "finra_otc" and weekly.kinds == {"duckdb"}
    # the description is what the pipeline declares, then what the framework knows (who writes it)
    assert (weekly.description or "").startswith("Accepted rows, typed:")
    assert "written by finra.otc_transparency.normalize_week" in (weekly.description or "")
    checks = sorted(
        (key.asset_key.to_user_string(), key.name) for c in defs.asset_checks for key in c.check_keys
    )  # type: ignore[union-attr]
    assert ("finra_otc/rejects", "reject_rate") in checks
    assert ("spine/group_files", "all_group_files_valid") in checks
