"""A custom translator (``SPINE_TRANSLATOR=module:Class``) reaches every path: the loaded definitions,
``spine run`` in process, and the step processes of the multiprocess executor (which re-import the code
location). The subclass renames jobs and grants one retry more than the group file asks for; with the
default translator the same groups fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from spine_dagster.composition import build_code_location, get_translator
from spine_dagster.errors import SpineError
from spine_dagster.settings import get_settings
from tests.integration.conftest import Workspace, step_events

TRANSLATOR = '''
import dagster as dg
from spine_dagster.defs import SpineDagsterTranslator


class TeamTranslator(SpineDagsterTranslator):
    """Team naming, and one retry more than each group file asks for."""

    def get_job_name(self, group):
        return "team_" + super().get_job_name(group)

    def get_asset_key(self, table):
        return dg.AssetKey(["team", *table.split(".")])

    def get_retry_policy(self, retry):
        policy = super().get_retry_policy(retry)
        if policy is None:
            return None
        return dg.RetryPolicy(
            max_retries=policy.max_retries + 1, delay=policy.delay, backoff=policy.backoff, jitter=policy.jitter
        )
'''

# Fails its first two attempts. The file allows one retry: it fails under the default translator and
# completes on attempt 3 under TeamTranslator. `max_delay_seconds` sends the parallel group's retries
# through the runtime's capped RetryRequested, which must use the translator's policy too.
GROUPS = {
    "seq.yaml": """
name: tr.seq
steps:
  - {name: flaky, pipeline: spine.fail, params: {fail_times: 2}, retry: {max_retries: 1}}
""",
    "par.yaml": """
name: tr.par
steps:
  - name: flaky
    pipeline: spine.fail
    params: {fail_times: 2}
    retry: {max_retries: 1, delay_seconds: 0.2, max_delay_seconds: 0.5}
  - {name: other, pipeline: spine.noop}
policy: {execution: parallel, max_concurrency: 2}
""",
}


@pytest.fixture(name="team_ws")
def team_workspace(ws: Workspace) -> Workspace:
    (ws.root / "team_translator.py").write_text(TRANSLATOR)
    for name, text in GROUPS.items():
        ws.write(name, text)
    return ws


def _team_env(ws: Workspace) -> dict[str, str]:
    return ws.env(SPINE_TRANSLATOR="team_translator:TeamTranslator", PYTHONPATH=str(ws.root))


def test_the_loaded_definitions_use_the_custom_translator(
    team_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(team_ws.root))
    for key, value in _team_env(team_ws).items():
        monkeypatch.setenv(key, value)
    location = build_code_location()
    assert type(location.translator).__name__ == "TeamTranslator"
    job = location.definitions.resolve_job_def("team_tr__seq")
    assert job.graph.node_dict["flaky"].retry_policy.max_retries == 2  # type: ignore[union-attr]
    keys = {spec.key for spec in location.definitions.assets if isinstance(spec, dg.AssetSpec)}  # type: ignore[union-attr]
    assert dg.AssetKey(["team", "finra_otc", "weekly_volume"]) in keys
    # Dagster's own loader (a fresh process, as `dagster dev` loads the code location) sees the same jobs.
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "job", "list", "-m", "spine_dagster.definitions"],
        capture_output=True,
        text=True,
        env=_team_env(team_ws),
        cwd=team_ws.root,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "team_tr__seq" in listed.stdout and "team_tr__par" in listed.stdout


def _spine_run(ws: Workspace, group: str, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [sys.executable, "-m", "spine_dagster", "run", group, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ws.root,
        timeout=240,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    data = json.loads(result.stdout)
    data["exit_code"] = result.returncode
    return data


@pytest.mark.parametrize("group", ["tr.seq", "tr.par"])
def test_spine_run_and_step_processes_use_the_custom_translator(team_ws: Workspace, group: str) -> None:
    default = _spine_run(team_ws, group, team_ws.env(PYTHONPATH=str(team_ws.root)))
    assert default["status"] == "failed" and default["exit_code"] == 1
    assert [s["attempts"] for s in default["steps"] if s["name"] == "flaky"] == [2]

    team = _spine_run(team_ws, group, _team_env(team_ws))
    assert team["status"] == "completed" and team["exit_code"] == 0, team
    assert [s["attempts"] for s in team["steps"] if s["name"] == "flaky"] == [3]
    instance = team_ws.instance()
    run = instance.get_run_by_id(team["run_id"])
    assert run is not None and run.job_name == "team_" + group.replace(".", "__")
    events = step_events(instance, team["run_id"])
    assert [kind for key, kind, _ in events if key == "flaky"].count("STEP_UP_FOR_RETRY") == 2
    if group == "tr.par":
        # The step ran in a step process of the multiprocess executor, not in the run worker.
        launched = [
            r
            for r in instance.all_logs(team["run_id"], of_type=dg.DagsterEventType.STEP_WORKER_STARTED)
            if r.dagster_event is not None and r.dagster_event.step_key == "flaky"
        ]
        assert launched, "flaky did not run in a step process"


def test_a_bad_translator_setting_is_a_clear_error(ws: Workspace) -> None:
    ws.write("seq.yaml", GROUPS["seq.yaml"])
    for value, message in [
        ("no_colon", "expected package.module:ClassName"),
        ("missing_module:X", "cannot import it"),
        ("spine_dagster.settings:Settings", "is not a subclass of SpineDagsterTranslator"),
    ]:
        with pytest.raises(SpineError, match=message):
            get_translator(get_settings({"SPINE_TRANSLATOR": value}))
    result = subprocess.run(
        [sys.executable, "-m", "spine_dagster", "run", "tr.seq"],
        capture_output=True,
        text=True,
        env=ws.env(SPINE_TRANSLATOR="missing_module:X"),
        cwd=ws.root,
        timeout=120,
    )
    assert result.returncode == 1
    assert "SPINE_TRANSLATOR='missing_module:X': cannot import it" in result.stderr
    assert "Traceback" not in result.stderr
