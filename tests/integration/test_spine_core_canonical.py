"""spine-core's canonical group file (its fixture sample_group.yaml, verbatim) loads, plans and runs.

``week_ending: "{{ params.week_ending }}"`` makes week_ending a required run param. Before it is given
(``spine validate``, ``spine list``, the code location) the FINRA rule "give week_ending or week_start"
must treat it as given; once it is known (``spine plan``, ``spine run``, ``dagster job execute``) every
rule applies, with the same messages.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
import yaml

from spine_dagster.warehouse import open_warehouse
from tests.conftest import FIXTURES, build_location
from tests.integration.conftest import REPO, Workspace
from tests.integration.test_webserver import _free_port

CANONICAL = (FIXTURES / "spine_core" / "sample_group.yaml").read_text()
TIER_TEMPLATED = CANONICAL.replace("tier: NMS_TIER_1", 'tier: "{{ params.tier }}"')


@pytest.mark.parametrize("text", [CANONICAL, TIER_TEMPLATED], ids=["canonical", "tier_templated"])
def test_validate_list_and_plan(ws: Workspace, text: str) -> None:
    ws.write("sample_group.yaml", text)
    validated = ws.spine("validate")
    assert validated.returncode == 0, validated.stdout
    assert "ok  finra.weekly_refresh" in validated.stdout
    listed = ws.spine("list", "--strict")
    assert listed.returncode == 0 and "valid" in listed.stdout and "INVALID" not in listed.stdout
    missing = ws.spine("plan", "finra.weekly_refresh")
    assert missing.returncode == 1
    assert "missing required run param 'week_ending'" in missing.stderr
    params = ["--param", "week_ending=2025-12-26"] + (
        ["--param", "tier=OTC"] if "params.tier" in text else []
    )
    thursday = ws.spine("plan", "finra.weekly_refresh", "--param", "week_ending=2025-12-25", *params[2:])
    assert thursday.returncode == 1
    assert (
        "week_ending must be a Friday, got 2025-12-25 (Thursday); nearest Friday: 2025-12-26"
        in thursday.stderr
    )
    planned = ws.spine("plan", "finra.weekly_refresh", *params, "--format", "json")
    assert planned.returncode == 0, planned.stderr
    assert [s["name"] for s in yaml.safe_load(planned.stdout)["steps"]] == [
        "ingest",
        "normalize",
        "aggregate",
        "rolling",
    ]


def test_the_code_location_asks_for_the_required_param(tmp_path: Path) -> None:
    location = build_location(tmp_path, {"sample_group.yaml": CANONICAL}, strict=True)
    job = location.definitions.resolve_job_def("finra__weekly_refresh")
    with pytest.raises(dg.DagsterInvalidConfigError) as missing:
        dg.validate_run_config(job, {})
    assert str(missing.value) == _missing_line(tmp_path / "groups" / "sample_group.yaml")
    # the typed Launchpad field carries the default of the file; each step receives it with the run param
    resolved = dg.validate_run_config(job, {"params": {"week_ending": "2025-12-26"}})
    assert resolved["ops"]["ingest"]["config"]["params"] == {
        "week_ending": "2025-12-26",
        "tier": "NMS_TIER_1",
    }


def _missing_line(path: Path) -> str:
    """What `spine run` prints for the canonical group without week_ending."""
    return (
        f"{path}:11:18: missing required run param 'week_ending' (declared by {{{{ params.week_ending }}}}); "
        "all missing: week_ending; pass --param week_ending=..."
    )


def test_a_launch_without_the_required_param_fails_with_the_spine_run_message(ws: Workspace) -> None:
    path = ws.write("sample_group.yaml", CANONICAL)
    run = ws.spine("run", "finra.weekly_refresh")
    assert run.returncode == 1
    assert run.stderr.splitlines() == [_missing_line(path)]
    for config in ({}, {"params": {"tier": "OTC"}}, {"params": {"week_ending": "<week_ending>"}}):
        file = ws.root / "run_config.yaml"
        file.write_text(yaml.safe_dump(config))
        job = ["-m", "spine_dagster.definitions", "-j", "finra__weekly_refresh"]
        executed = ws.dagster("job", "execute", *job, "-c", str(file))
        assert executed.returncode != 0
        output = (executed.stdout + executed.stderr).splitlines()
        assert f"dagster._core.errors.DagsterInvalidConfigError: {_missing_line(path)}" in output, output[-5:]
    assert not ws.instance().get_runs()  # refused before a run was created


@contextmanager
def _webserver(ws: Workspace) -> Iterator[int]:
    """The real dagster-webserver on the workspace's groups; yields its port once the location is loaded."""
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml", "-p", str(port)],
        cwd=REPO, env=ws.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None, "webserver did not start"
                time.sleep(0.5)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


REPOSITORY = {"repositoryLocationName": "spine", "repositoryName": "__repository__"}
SCHEMA_QUERY = """query($selector: PipelineSelector!) { runConfigSchemaOrError(selector: $selector) {
  __typename ... on RunConfigSchema { rootDefaultYaml rootConfigType { key }
    allConfigTypes { key ... on CompositeConfigType {
      fields { name isRequired configTypeKey defaultValueAsJson description } } } } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on PythonError { className message } ... on RunConfigValidationInvalid { errors { message } } } }"""


def _post(port: int, query: str, **variables: object) -> tuple[int, dict]:
    """(HTTP status, data) of a GraphQL request with variables."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())["data"]
    except urllib.error.HTTPError as error:  # a PythonError comes with status 500; the UI shows the data
        return error.code, json.loads(error.read())["data"]


def test_the_launchpad_lists_the_required_param_and_a_launch_without_it_fails(ws: Workspace) -> None:
    path = ws.write("sample_group.yaml", CANONICAL)
    selector = {**REPOSITORY, "pipelineName": "finra__weekly_refresh"}
    with _webserver(ws) as port:
        deadline = time.time() + 90
        schema = _post(port, SCHEMA_QUERY, selector=selector)[1]["runConfigSchemaOrError"]
        while schema["__typename"] != "RunConfigSchema" and time.time() < deadline:
            time.sleep(0.5)  # the code location is still loading
            schema = _post(port, SCHEMA_QUERY, selector=selector)[1]["runConfigSchemaOrError"]
        types = {t["key"]: t for t in schema["allConfigTypes"]}
        root = {f["name"]: f for f in types[schema["rootConfigType"]["key"]]["fields"]}
        assert not root["params"]["isRequired"]
        params = {f["name"]: f for f in types[root["params"]["configTypeKey"]]["fields"]}
        week, tier = params["week_ending"], params["tier"]
        assert (week["configTypeKey"], week["isRequired"]) == ("String", False)
        assert json.loads(week["defaultValueAsJson"]) == "<week_ending>"
        assert week["description"] == (
            f"Required run param (declared by {{{{ params.week_ending }}}} at {path}:11:18). Give its value "
            "here (replace <week_ending>; spine run: --param week_ending=...): a launch without it fails "
            "before any step runs."
        )
        assert (tier["configTypeKey"], json.loads(tier["defaultValueAsJson"])) == ("String", "NMS_TIER_1")
        # what the Launchpad opens with (and "Scaffold all default config" writes)
        assert yaml.safe_load(schema["rootDefaultYaml"])["params"] == {
            "week_ending": "<week_ending>",
            "tier": "NMS_TIER_1",
        }
        job = {**REPOSITORY, "jobName": "finra__weekly_refresh"}
        for config in ({}, {"params": {"tier": "OTC"}}, {"params": {"week_ending": "<week_ending>"}}):
            status, data = _post(port, LAUNCH, params={"selector": job, "runConfigData": config})
            launched = data["launchRun"]
            assert (status, launched["__typename"]) == (500, "PythonError")
            assert launched["className"] == "DagsterInvalidConfigError"
            expected = f"dagster._core.errors.DagsterInvalidConfigError: {_missing_line(path)}\n"
            assert launched["message"] == expected
    assert not ws.instance().get_runs()


def test_spine_run_and_dagster_job_execute(ws: Workspace) -> None:
    ws.write("sample_group.yaml", CANONICAL)
    out = ws.run("finra.weekly_refresh", "--param", "week_ending=2025-12-26")
    assert out["status"] == "completed" and out["exit_code"] == 0, out
    assert [s["status"] for s in out["steps"]] == ["completed"] * 4
    config = ws.root / "run_config.yaml"
    config.write_text(yaml.safe_dump({"params": {"week_ending": "2025-12-19"}}))
    executed = ws.dagster(
        "job", "execute", "-m", "spine_dagster.definitions", "-j", "finra__weekly_refresh", "-c", str(config)
    )
    assert executed.returncode == 0, executed.stdout[-3000:] + executed.stderr[-3000:]
    # DuckDB's bindings complained at exit when the code location's gc.freeze() had frozen them.
    assert "nanobind" not in executed.stdout + executed.stderr
    runs = ws.instance().get_runs(dg.RunsFilter(job_name="finra__weekly_refresh"))
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.SUCCESS]


def test_spine_core_ingest_names_run_unchanged_and_explain_shows_them(ws: Workspace) -> None:
    sample = REPO / "data" / "samples" / "finra_otc" / "finra_otc_ats_T1_2025-12-22_pub20260112.psv"
    ws.write(
        "core_names.yaml",
        CANONICAL.replace(
            "      pipeline: finra.otc_transparency.ingest_week\n",
            "      pipeline: finra.otc_transparency.ingest_week\n"
            f"      params: {{file_path: {sample}, source_type: file}}\n",
        ),
    )
    explained = ws.spine("explain", "finra.weekly_refresh", "ingest", "--param", "week_ending=2025-12-26")
    assert explained.returncode == 0, explained.stderr
    assert "file_path (alias of source_path)" in explained.stdout
    assert "source_type (alias of source)" in explained.stdout
    out = ws.run("finra.weekly_refresh", "--param", "week_ending=2025-12-26")
    assert out["status"] == "completed", out
    warehouse = open_warehouse(f"duckdb:///{ws.root / 'spine_home' / 'warehouse.duckdb'}")
    try:
        sources = warehouse.query_df("SELECT source_kind, source FROM finra_otc.captures")
    finally:
        warehouse.close()
    assert sources.to_dict("records") == [{"source_kind": "path", "source": str(sample)}]  # from file_path
