"""Each step op's config schema is its pipeline's params model: the Launchpad lists every param with its
type and description, and Dagster's own config check refuses an unknown param or a wrong type before a run
is created. Valid configs still run (both shapes: an unpartitioned group's ``params:`` and a partitioned
group's op-level config), through the real webserver's GraphQL, ``dagster job execute`` and ``spine run``.
"""

from __future__ import annotations

import time

import dagster as dg
import yaml

from tests.conftest import build_location
from tests.integration.conftest import REPO, Workspace, step_params
from tests.integration.test_spine_core_canonical import LAUNCH, REPOSITORY, SCHEMA_QUERY, _post, _webserver

FINRA = (REPO / "groups" / "finra_weekly_refresh.yaml").read_text()

# Unpartitioned, no pipeline that takes any param: a required run param that one step's pipeline (sleep)
# does not take, but which every step needs (the required-param check runs in each step).
MIXED = """
name: lp.mixed
defaults:
  week_ending: "{{ params.week_ending }}"
  tier: OTC
  seconds: 0.01
steps:
  - {name: ingest, pipeline: finra.otc_transparency.ingest_week}
  - {name: nap, pipeline: spine.sleep, depends_on: [ingest]}
"""

VALID = """query($selector: PipelineSelector!, $config: RunConfigData) {
  isPipelineConfigValid(pipeline: $selector, mode: "default", runConfigData: $config) {
    __typename ... on RunConfigValidationInvalid { errors { message } } } }"""


def _schema(port: int, job: str) -> dict:
    selector = {**REPOSITORY, "pipelineName": job}
    deadline = time.time() + 90
    while True:
        schema = _post(port, SCHEMA_QUERY, selector=selector)[1]["runConfigSchemaOrError"]
        if schema["__typename"] == "RunConfigSchema" or time.time() > deadline:
            return schema
        time.sleep(0.5)  # the code location is still loading


def _fields(types: dict, key: str) -> dict[str, dict]:
    return {f["name"]: f for f in types[key]["fields"]}


def _errors(port: int, job: str, config: dict) -> list[str]:
    selector = {**REPOSITORY, "pipelineName": job}
    found = _post(port, VALID, selector=selector, config=config)[1]["isPipelineConfigValid"]
    return (
        [e["message"] for e in found.get("errors", [])]
        if found["__typename"] != "PipelineConfigValidationValid"
        else []
    )


def _launch_errors(port: int, job: str, config: dict) -> list[str]:
    selector = {**REPOSITORY, "jobName": job}
    launched = _post(port, LAUNCH, params={"selector": selector, "runConfigData": config})[1]["launchRun"]
    assert launched["__typename"] == "RunConfigValidationInvalid", launched
    return [e["message"] for e in launched["errors"]]


def test_the_launchpad_types_every_param_and_refuses_unknown_ones_and_wrong_types(ws: Workspace) -> None:
    ws.write("finra.yaml", FINRA)
    ws.write("mixed.yaml", MIXED)
    with _webserver(ws) as port:
        # the partitioned FINRA job: op-level config, one typed params shape per op
        schema = _schema(port, "finra__weekly_refresh")
        assert schema["__typename"] == "RunConfigSchema", schema
        types = {t["key"]: t for t in schema["allConfigTypes"]}
        ops = _fields(types, _fields(types, schema["rootConfigType"]["key"])["ops"]["configTypeKey"])
        ingest_config = _fields(types, ops["ingest"]["configTypeKey"])["config"]["configTypeKey"]
        params_key = _fields(types, ingest_config)["params"]["configTypeKey"]
        assert params_key.startswith("Noneable.")
        ingest = _fields(types, params_key.removeprefix("Noneable."))
        assert sorted(ingest) == sorted(
            [
                "week_ending",
                "week_start",
                "tier",
                "force",
                "source",
                "source_type",
                "source_dir",
                "source_path",
                "file_path",
            ]
        )
        assert not any(f["isRequired"] or f["defaultValueAsJson"] for f in ingest.values())
        assert (ingest["force"]["configTypeKey"], ingest["force"]["description"]) == (
            "Bool",
            "Redo the week even when its data is already loaded. Default: false.",
        )
        assert ingest["tier"]["configTypeKey"] == "String"
        assert ingest["tier"]["description"].startswith("NMS_TIER_1, NMS_TIER_2 or OTC")
        assert ingest["week_ending"]["configTypeKey"] == "Noneable.String"
        assert ingest["week_ending"]["description"] == "The week's Friday (give this or week_start)."
        assert ingest["source"]["description"].endswith('Default: "files". Also accepted as source_type.')
        assert ingest["file_path"]["description"].startswith("Another name for source_path")
        rolling_config = _fields(types, ops["rolling"]["configTypeKey"])["config"]["configTypeKey"]
        rolling = _fields(
            types, _fields(types, rolling_config)["params"]["configTypeKey"].removeprefix("Noneable.")
        )
        assert (rolling["window_weeks"]["configTypeKey"], rolling["anomaly_z"]["configTypeKey"]) == (
            "Int",
            "Float",
        )
        assert rolling["window_weeks"]["description"] == "Weeks in the rolling window. Default: 6."

        # a param the step's pipeline does not take, and a wrong type: Dagster's errors, naming the field
        unknown = {"ops": {"ingest": {"config": {"params": {"window_weeks": 3}}}}}
        wrong = {"ops": {"ingest": {"config": {"params": {"force": "yes"}}}}}
        for check in (_errors, _launch_errors):
            [message] = check(port, "finra__weekly_refresh", unknown)
            assert message.startswith(
                'Received unexpected config entry "window_weeks" at path root:ops:ingest:config:params.'
            ), message
            [message] = check(port, "finra__weekly_refresh", wrong)
            assert message == (
                'Invalid scalar at path root:ops:ingest:config:params:force. Value "yes" of type '
                '"<class \'str\'>" is not valid for expected type "Bool".'
            ), message
        assert (
            _errors(
                port,
                "finra__weekly_refresh",
                {"ops": {"rolling": {"config": {"params": {"window_weeks": 3}}}}},
            )
            == []
        )

        # the unpartitioned job: one params shape, every param a step's pipeline takes, typed
        schema = _schema(port, "lp__mixed")
        types = {t["key"]: t for t in schema["allConfigTypes"]}
        params = _fields(types, _fields(types, schema["rootConfigType"]["key"])["params"]["configTypeKey"])
        assert {"week_ending", "tier", "seconds", "force", "source_path", "file_path"} <= set(params)
        assert params["seconds"]["configTypeKey"] == "Float"
        assert params["seconds"]["description"] == "How long to sleep (0 to 86400). Default: 1.0."
        assert params["force"]["configTypeKey"] == "Bool"
        for check in (_errors, _launch_errors):
            [message] = check(port, "lp__mixed", {"params": {"week_ending": "2025-12-26", "nope": 1}})
            assert message.startswith('Received unexpected config entry "nope" at path root:params.'), message
            [message] = check(port, "lp__mixed", {"params": {"week_ending": "2025-12-26", "seconds": "abc"}})
            assert message.startswith("Invalid scalar at path root:params:seconds."), message
        assert (
            _errors(port, "lp__mixed", {"params": {"week_ending": "2025-12-26", "file_path": "x.psv"}}) == []
        )
    assert not ws.instance().get_runs()  # every bad config was refused before a run was created


def test_valid_configs_still_run(ws: Workspace) -> None:
    ws.write("mixed.yaml", MIXED)
    config = ws.root / "run_config.yaml"
    config.write_text(
        yaml.safe_dump({"params": {"week_ending": "2025-12-26", "seconds": 0.05, "force": True}})
    )
    executed = ws.dagster(
        "job", "execute", "-m", "spine_dagster.definitions", "-j", "lp__mixed", "-c", str(config)
    )
    assert executed.returncode == 0, executed.stdout[-3000:] + executed.stderr[-3000:]
    instance = ws.instance()
    [run] = instance.get_runs(dg.RunsFilter(job_name="lp__mixed"))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    ran = step_params(instance, run.run_id)
    assert (ran["ingest"]["force"], ran["ingest"]["tier"], ran["ingest"]["week_ending"]) == (
        True,
        "OTC",
        "2025-12-26",
    )
    # nap's op config holds only seconds; the run param week_ending reached it from the run's params
    assert (ran["nap"]["seconds"], ran["nap"]["week_ending"]) == (0.05, "2025-12-26")

    # a partitioned group: spine run --partition with run params only some steps' pipelines take
    ws.write("finra.yaml", FINRA)
    (ws.root / "loc").mkdir()
    location = build_location(ws.root / "loc", {"finra.yaml": FINRA})
    binding = location.job_for_group("finra.weekly_refresh")
    partitions = location.definitions.resolve_job_def("finra__weekly_refresh").partitions_def
    assert binding.partition_params is not None and partitions is not None
    week = {"week_ending": "2025-12-26", "tier": "NMS_TIER_1"}
    key = next(k for k in partitions.get_partition_keys() if binding.partition_params(k) == week)
    out = ws.run(
        "finra.weekly_refresh", "--partition", key, "--param", "window_weeks=4", "--param", "force=true"
    )
    assert out["status"] == "completed" and out["exit_code"] == 0, out
    [run] = ws.instance().get_runs(dg.RunsFilter(job_name="finra__weekly_refresh"))
    ops = run.run_config["ops"]
    assert "window_weeks" not in ops["ingest"]["config"]["params"]
    assert ops["rolling"]["config"]["params"]["window_weeks"] == 4
    ran = step_params(ws.instance(), run.run_id)
    assert ran["rolling"]["window_weeks"] == 4 and ran["ingest"]["force"] is True
    assert {s: (p["week_ending"], p["tier"]) for s, p in ran.items()} == dict.fromkeys(
        ["ingest", "normalize", "aggregate", "rolling"], ("2025-12-26", "NMS_TIER_1")
    )
