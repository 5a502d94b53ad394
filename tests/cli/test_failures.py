"""``spine failures``: the failure queue read from a real Dagster instance, retried and resolved."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

FLAKY = """
from pathlib import Path

from spine_dagster.pipelines import Pipeline, StepResult


class Flaky(Pipeline):
    name = "team.flaky"
    description = "Fails while the file fail-now exists in the working directory."

    def run(self, ctx, params):
        if Path("fail-now").exists():
            raise RuntimeError("upstream feed not ready (fail-now is present)\\nsecond line of detail")
        return StepResult()
"""

GROUP = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {{name: {name}}}
spec:
  pipelines:
    - {{name: first, pipeline: spine.noop}}
    - {{name: flaky, pipeline: team.flaky, depends_on: [first]}}
    - {{name: other, pipeline: spine.noop, depends_on: [first]}}
  policy: {{execution: sequential, on_failure: {on_failure}}}
"""


def _spine(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SPINE_PIPELINE_MODULES": "team_flaky",
        "SPINE_GROUPS_DIR": str(cwd / "groups"),
        "SPINE_HOME": str(cwd / "home"),
    }
    env.pop("DAGSTER_HOME", None)
    spine = str(Path(sys.executable).with_name("spine"))
    return subprocess.run([spine, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _queue(cwd: Path, *args: str) -> list[dict]:
    listed = _spine(cwd, "failures", *args, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)["failures"]


def _run_id(cwd: Path, group: str) -> str:
    ran = _spine(cwd, "run", group, "--format", "json")
    assert ran.returncode in (0, 1), ran.stderr
    return json.loads(ran.stdout)["run_id"]


def test_failure_queue_lists_retries_and_resolves(tmp_path: Path) -> None:
    (tmp_path / "team_flaky.py").write_text(FLAKY)
    groups = tmp_path / "groups"
    groups.mkdir()
    (groups / "stop.yaml").write_text(GROUP.format(name="team.stop", on_failure="stop"))
    (groups / "cont.yaml").write_text(GROUP.format(name="team.cont", on_failure="continue"))
    (groups / "fine.yaml").write_text(
        GROUP.format(name="team.fine", on_failure="stop").replace("team.flaky", "spine.noop")
    )
    (tmp_path / "fail-now").touch()

    stopped, partial = _run_id(tmp_path, "team.stop"), _run_id(tmp_path, "team.cont")
    _run_id(tmp_path, "team.fine")

    queue = {e["run_id"]: e for e in _queue(tmp_path)}
    assert set(queue) == {stopped, partial}
    assert queue[stopped]["outcome"] == "failed" and queue[stopped]["dagster_status"] == "FAILURE"
    assert queue[partial]["outcome"] == "partial" and queue[partial]["dagster_status"] == "FAILURE"
    assert queue[stopped]["failed_steps"] == [
        {"step": "flaky", "error": "RuntimeError: upstream feed not ready (fail-now is present)"}
    ]
    assert [e["run_id"] for e in _queue(tmp_path, "--group", "team.cont")] == [partial]
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    assert _queue(tmp_path, "--since", tomorrow) == []
    text = _spine(tmp_path, "failures")
    assert stopped in text.stdout and "upstream feed not ready" in text.stdout and "2 waiting" in text.stdout
    bad = _spine(tmp_path, "failures", "--since", "last week")
    assert bad.returncode == 1 and "--since 'last week': expected a date, YYYY-MM-DD" in bad.stderr

    # Resolved: out of the queue, tagged for the UI; a second resolve is refused.
    resolved = _spine(tmp_path, "failures", "resolve", partial, "--note", "vendor re-sent the file")
    assert resolved.returncode == 0, resolved.stderr
    assert [e["run_id"] for e in _queue(tmp_path)] == [stopped]
    again = _spine(tmp_path, "failures", "resolve", partial, "--note", "x")
    assert again.returncode == 1 and "is not in the failure queue" in again.stderr
    with dg.DagsterInstance.from_config(str(tmp_path / "home" / "dagster")) as instance:
        assert instance.get_run_by_id(partial).tags["spine/resolved"] == "vendor re-sent the file"

    # A retry that fails again replaces its parent in the queue (one entry per re-execution family).
    retried = _spine(tmp_path, "failures", "retry", stopped, "--format", "json")
    assert retried.returncode == 1, retried.stderr
    (rerun,) = json.loads(retried.stdout)["runs"]
    assert [e["run_id"] for e in _queue(tmp_path)] == [rerun["run_id"]]
    assert _queue(tmp_path)[0]["root_run_id"] == stopped

    # Fixed upstream: retry --all completes it, and the queue empties by itself.
    (tmp_path / "fail-now").unlink()
    fixed = _spine(tmp_path, "failures", "retry", "--all")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "completed" in fixed.stdout
    assert _queue(tmp_path) == []
    assert "no failures waiting" in _spine(tmp_path, "failures").stdout
    usage = _spine(tmp_path, "failures", "retry")
    assert usage.returncode == 1 and "give one RUN_ID or --all" in usage.stderr
