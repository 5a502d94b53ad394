"""Plans -> Dagster definitions: names, graph, Launchpad config, executors, policies, triggers, visibility."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pytest
import yaml

from spine_dagster.defs import SpineDagsterTranslator
from spine_dagster.errors import SpineError
from spine_dagster.spec import RetrySpec
from tests.conftest import build_location, evaluate_tick

REPO = Path(__file__).resolve().parents[2]


_location = build_location


FINRA_LIKE = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: finra.weekly-refresh, domain: finra, tags: {team: market-data}, owners: [team:md]}
spec:
  defaults: {week_ending: "{{ params.week_ending }}", tier: NMS_TIER_1, seconds: 0.0}
  pipelines:
    - {name: ingest, pipeline: spine.sleep}
    - {name: normalize-week, pipeline: spine.sleep, depends_on: ingest, pool: duck.db, timeout_seconds: 30}
    - {name: aggregate, pipeline: spine.noop, depends_on: [normalize-week]}
    - {name: rolling, pipeline: spine.noop, depends_on: [aggregate, ingest],
       retry: {max_retries: 3, delay_seconds: 2, backoff: exponential, jitter: full}}
  policy: {execution: parallel, max_concurrency: 3, on_failure: stop, timeout_minutes: 90}
  schedules:
    - {cron: "0 6 * * 1", timezone: America/New_York, params: {week_ending: "2026-01-02"}, default_status: running}
"""


def test_names_graph_and_tags(tmp_path: Path) -> None:
    location = _location(tmp_path, {"g.yaml": FINRA_LIKE})
    job = location.definitions.resolve_job_def("finra__weekly_refresh")
    assert set(job.graph.node_dict) == {"ingest", "normalize_week", "aggregate", "rolling"}
    structure = job.graph.dependency_structure
    upstream = {
        node: sorted(out.node_name for out in structure.all_upstream_outputs_from_node(node))
        for node in job.graph.node_dict
    }
    assert upstream == {
        "ingest": [],
        "normalize_week": ["ingest"],
        "aggregate": ["normalize_week"],
        "rolling": ["aggregate", "ingest"],
    }
    # one op definition per (pipeline, pool), reused under step aliases
    assert {n.definition.name for n in job.graph.node_dict.values()} == {
        "spine__sleep",
        "spine__sleep__pool_duck__db",
        "spine__noop",
    }
    assert job.graph.node_dict["normalize_week"].definition.pool == "duck.db"
    assert job.tags["spine/group"] == "finra.weekly-refresh"
    assert job.tags["team"] == "market-data"
    assert job.tags["dagster/max_runtime"] == str(90 * 60)
    assert job.metadata["spine/plan_order"].value == "ingest, normalize-week, aggregate, rolling"
    node_tags = job.graph.node_dict["normalize_week"].tags
    assert node_tags["spine/step"] == "normalize-week" and node_tags["dagster/priority"] == "-1"
    assert node_tags["spine/timeout_seconds"] == "30"


def test_policies_map_to_executor_and_retry(tmp_path: Path) -> None:
    location = _location(tmp_path, {"g.yaml": FINRA_LIKE})
    job = location.definitions.resolve_job_def("finra__weekly_refresh")
    assert job.executor_def.name == "multiprocess"
    # (the limit itself is measured on a real run in tests/integration/test_group_semantics.py)
    policy = job.graph.node_dict["rolling"].retry_policy
    assert policy == dg.RetryPolicy(
        max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
    )
    assert job.graph.node_dict["ingest"].retry_policy is None
    # on_failure: stop is enforced from the op body (runtime/failfast.py), not by a hook
    assert not job.hook_defs
    assert job.metadata["spine/on_failure"].value == "stop"


@pytest.mark.parametrize(
    ("retry", "policy"),
    [
        ({"max_retries": 2}, dg.RetryPolicy(max_retries=2)),
        ({"max_retries": 2, "delay_seconds": 5}, dg.RetryPolicy(max_retries=2, delay=5)),
        (
            {"max_retries": 4, "delay_seconds": 1, "backoff": "linear", "jitter": "plus_minus"},
            dg.RetryPolicy(max_retries=4, delay=1, backoff=dg.Backoff.LINEAR, jitter=dg.Jitter.PLUS_MINUS),
        ),
        ({"max_retries": 0}, None),
    ],
)
def test_retry_policy_table(retry: dict, policy: dg.RetryPolicy | None) -> None:
    assert SpineDagsterTranslator().get_retry_policy(RetrySpec(**retry)) == policy


def test_launchpad_config_has_typed_defaults_and_required_params(tmp_path: Path) -> None:
    location = _location(tmp_path, {"g.yaml": FINRA_LIKE})
    job = location.definitions.resolve_job_def("finra__weekly_refresh")
    params_field = job.run_config_schema.config_type.fields["params"]
    # a required run param is an optional field with a placeholder: the config mapping reports it missing
    # with the planner's message (tests/integration/test_spine_core_canonical.py)
    assert not params_field.is_required
    fields = params_field.config_type.fields
    assert not fields["week_ending"].is_required
    assert fields["week_ending"].default_value == "<week_ending>"
    assert fields["week_ending"].description.startswith(
        f"Required run param (declared by {{{{ params.week_ending }}}} at {tmp_path}/groups/g.yaml:6:"
    )
    assert fields["tier"].default_value == "NMS_TIER_1"
    assert fields["seconds"].default_value == 0.0
    assert fields["seconds"].config_type.given_name == "Float"  # typed from spine.sleep's params model
    assert type(params_field.config_type).__name__ == "Permissive"  # extra run params are allowed
    with pytest.raises(dg.DagsterInvalidConfigError, match="missing required run param 'week_ending'"):
        dg.validate_run_config(job, {"params": {"week_ending": "<week_ending>"}})  # the placeholder left in
    # a required param whose type takes no string has no placeholder (and still says it is required)
    text = FINRA_LIKE.replace("seconds: 0.0", 'seconds: "{{ params.seconds }}"')
    (tmp_path / "float").mkdir()
    job = _location(tmp_path / "float", {"g.yaml": text}).definitions.resolve_job_def("finra__weekly_refresh")
    seconds = job.run_config_schema.config_type.fields["params"].config_type.fields["seconds"]
    assert not seconds.is_required and not seconds.default_provided
    assert seconds.description.startswith("Required run param")
    with pytest.raises(dg.DagsterInvalidConfigError, match="all missing: week_ending, seconds"):
        dg.validate_run_config(job, {})


def test_sequential_group_is_in_process(tmp_path: Path) -> None:
    location = _location(tmp_path, {"g.yaml": "name: s\nsteps: [{name: a, pipeline: spine.noop}]\n"})
    job = location.definitions.resolve_job_def("s")
    assert job.executor_def.name == "in_process"
    assert not job.hook_defs
    assert job.tags.get("dagster/max_runtime") is None


def test_cron_schedule_evaluates_with_its_params(tmp_path: Path) -> None:
    location = _location(tmp_path, {"g.yaml": FINRA_LIKE})
    schedule = location.definitions.resolve_schedule_def("finra__weekly_refresh__schedule")
    assert schedule.cron_schedule == "0 6 * * 1"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        result = evaluate_tick(
            schedule, instance=instance, scheduled_execution_time=dt.datetime(2026, 1, 5, 6)
        )
    assert [r.run_config for r in result.run_requests] == [{"params": {"week_ending": "2026-01-02"}}]


PARTITIONED = """
name: part.weekly
defaults: {week_ending: "{{ params.week_ending }}", tier: "{{ params.tier }}"}
steps: [{name: a, pipeline: spine.noop}]
partitions:
  weekly: {start: "2025-01-03", ends_on: friday, param: week_ending}
  static: {name: tier, values: [NMS_TIER_1, OTC]}
  schedule: {hour: 6, day_of_week: monday, timezone: UTC}
"""


def test_partitions_are_weeks_ending_friday_times_tiers(tmp_path: Path) -> None:
    location = _location(tmp_path, {"g.yaml": PARTITIONED})
    job = location.definitions.resolve_job_def("part__weekly")
    partitions = job.partitions_def
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    keys = partitions.get_partition_keys(current_time=dt.datetime(2025, 1, 20))
    # Weeks Sat..Fri, keyed by their Monday (key_day's default); dimensions joined in alphabetical order
    # of their names (date < tier). A week is offered once its Monday..Sunday window has passed.
    weeks = ["2024-12-30", "2025-01-06", "2025-01-13"]
    assert sorted(keys) == sorted(f"{week}|{tier}" for week in weeks for tier in ("NMS_TIER_1", "OTC"))
    translator = SpineDagsterTranslator()
    spec = location.runtime.jobs["part__weekly"].plan.spec
    key = dg.MultiPartitionKey({"date": "2025-01-06", "tier": "OTC"})
    expected = {"week_ending": "2025-01-10", "tier": "OTC"}
    assert translator.get_partition_params(spec.partitions, key) == expected
    assert translator.get_partition_params(spec.partitions, "2025-01-06|OTC") == expected
    # a partitioned job's run config is generated per partition (Dagster allows no config mapping there)
    config = job.partitioned_config.get_run_config_for_partition_key("2025-01-06|OTC")
    assert config == {"ops": {"a": {"config": {"params": {"week_ending": "2025-01-10", "tier": "OTC"}}}}}
    schedule = location.definitions.resolve_schedule_def("part__weekly__schedule_partitions")
    assert schedule.cron_schedule == "0 6 * * 1"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    with dg.instance_for_test() as instance:
        result = evaluate_tick(
            schedule,
            instance=instance,
            scheduled_execution_time=dt.datetime(2025, 1, 13, 6, tzinfo=dt.UTC),
            repository_def=location.definitions.get_repository_def(),
        )
    assert sorted(r.partition_key for r in result.run_requests) == ["2025-01-06|NMS_TIER_1", "2025-01-06|OTC"]


def test_partition_schedule_follows_per_value_lags(tmp_path: Path) -> None:
    text = PARTITIONED.replace(
        "schedule: {hour: 6, day_of_week: monday, timezone: UTC}",
        "schedule: {hour: 8, day_of_week: wednesday, timezone: America/New_York, lag_weeks: {NMS_TIER_1: 2, OTC: 4}}",
    )
    location = _location(tmp_path, {"g.yaml": text})
    with dg.instance_for_test() as instance:
        schedule = location.definitions.resolve_schedule_def("part__weekly__schedule_partitions")
        assert schedule.cron_schedule == "0 8 * * 3"
        result = evaluate_tick(
            schedule,
            instance=instance,
            scheduled_execution_time=dt.datetime(2025, 3, 5, 8, tzinfo=dt.UTC),  # a Wednesday
            repository_def=location.definitions.get_repository_def(),
        )
    # newest complete week at Wed 2025-03-05 is the week of Monday 2025-02-24; T1 lags 2 weeks, OTC 4.
    assert sorted(r.partition_key for r in result.run_requests) == ["2025-01-27|OTC", "2025-02-10|NMS_TIER_1"]
    assert schedule.description == (
        "part.weekly: each Wednesday at 08:00 America/New_York, for each tier the newest complete week minus its "
        "lag: NMS_TIER_1 2 weeks, OTC 4 weeks (cron 0 8 * * 3)"
    )


def test_file_arrival_sensor_runs_each_file_once(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.psv").write_text("x")
    (inbox / "ignore.txt").write_text("x")
    text = f"""
name: sense.files
steps: [{{name: a, pipeline: spine.noop}}]
sensors: [{{type: file_arrival, directory: "{inbox}", glob: "*.psv", path_param: source_path}}]
"""
    location = _location(tmp_path, {"g.yaml": text})
    with dg.instance_for_test() as instance:
        # resolved inside the instance context: Dagster's definitions loading looks up the current instance
        sensor = location.definitions.resolve_sensor_def("sense__files__file_arrival_sensor")
        assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
        first = evaluate_tick(sensor, instance=instance)
        assert [r.run_config for r in first.run_requests] == [
            {"params": {"source_path": str((inbox / "a.psv").resolve())}}
        ]
        run_key = first.run_requests[0].run_key
        again = evaluate_tick(sensor, instance=instance, cursor=first.cursor)
        assert again.run_requests == [] and again.skip_message
        (inbox / "b.psv").write_text("y")
        third = evaluate_tick(sensor, instance=instance, cursor=first.cursor)
        assert [r.run_config["params"]["source_path"] for r in third.run_requests] == [
            str((inbox / "b.psv").resolve())
        ]
        assert third.run_requests[0].run_key != run_key


def test_after_group_sensor_and_outcome_sensor_use_the_spine_status(tmp_path: Path) -> None:
    files = {
        "up.yaml": "name: up.stream\npolicy: {on_failure: continue}\nsteps:\n"
        "  - {name: a, pipeline: spine.noop}\n  - {name: b, pipeline: spine.fail}\n",
        "down.yaml": "name: down.stream\nsteps: [{name: a, pipeline: spine.noop}]\n"
        "sensors:\n  - {type: after_group, group: up.stream, status: partial, params: {x: 1}}\n"
        "  - {type: after_group, group: up.stream, status: completed, name: on_success}\n",
    }
    location = _location(tmp_path, files)
    defs = location.definitions
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("up__stream").execute_in_process(
            instance=instance, raise_on_error=False
        )
        run = instance.get_run_by_id(result.run_id)
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="down__stream__after_group_sensor",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=failure,
        )
        request = defs.resolve_sensor_def("down__stream__after_group_sensor")(context)
        assert isinstance(request, dg.RunRequest) and request.run_config == {"params": {"x": 1}}
        assert request.run_key == f"after:{run.run_id}"
        # the outcome sensor records the partial status on the run
        outcome_sensor = defs.resolve_sensor_def("spine__record_group_outcome_failure")
        outcome_sensor(
            dg.build_run_status_sensor_context(
                sensor_name=outcome_sensor.name,
                dagster_instance=instance,
                dagster_run=run,
                dagster_event=failure,
            )
        )
        tags = instance.get_run_by_id(result.run_id).tags
        assert tags["spine/group_status"] == "partial"


def test_bad_files_are_visible_not_silent(tmp_path: Path) -> None:
    files = {
        "good.yaml": "name: good\nsteps: [{name: a, pipeline: spine.noop}]\n",
        "bad.yaml": "name: bad\nsteps: [{name: a}]\n",
    }
    location = _location(tmp_path, files)
    defs = location.definitions
    assert [j.name for j in defs.jobs if not j.name.startswith("__")] == ["good"]  # type: ignore[union-attr]
    spec = next(a for a in defs.assets if a.key == dg.AssetKey(["spine", "group_files"]))  # type: ignore[union-attr]
    assert "bad.yaml:2:9: missing required key 'pipeline' in steps[0]" in spec.description
    with dg.instance_for_test() as instance:
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        evaluations = [
            e for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ]
        assert len(evaluations) == 1 and evaluations[0].event_specific_data.passed is False
    with pytest.raises(SpineError, match="SPINE_STRICT"):
        _location(tmp_path, files, strict=True)


def test_name_collisions_are_reported(tmp_path: Path) -> None:
    files = {
        "a.yaml": "name: a.b\nsteps: [{name: x, pipeline: spine.noop}]\n",
        "b.yaml": "name: a__b\nsteps: [{name: x, pipeline: spine.noop}]\n",
        "c.yaml": "name: c\nsteps: [{name: s-1, pipeline: spine.noop}, {name: s_1, pipeline: spine.noop}]\n",
    }
    location = _location(tmp_path, files)
    messages = [d.message for d in location.diagnostics]
    assert any("both become Dagster job 'a__b'" in m for m in messages)
    assert any("steps 's-1' and 's_1' both become op 's_1'" in m for m in messages)
    assert sorted(location.runtime.jobs) == ["a__b"]


def test_shipped_groups_pass_dagster_definitions_validate() -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPINE_", "DAGSTER_HOME"))}
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-m",
            "spine_dagster.definitions",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_repo_dagster_yaml_enables_run_monitoring_and_pools() -> None:
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert config["run_monitoring"]["enabled"] is True
    assert config["concurrency"]["pools"]["default_limit"] == 1
