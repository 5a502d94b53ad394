"""``SPINE_PIPELINE_MODULES`` through the real ``spine`` console script, from the working directory: every
command sees the same pipelines, step processes included, and a broken module is reported, not fatal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

TEAM_MODULE = """
import os

from spine_dagster.pipelines import Pipeline, PipelineParams, StepResult


class EchoParams(PipelineParams):
    word: str = "hi"


class Echo(Pipeline):
    name = "team.echo"
    description = "Report the word and the process it ran in."
    Params = EchoParams

    def run(self, ctx, params):
        with open(f"ran-{params.word}", "w") as out:  # the test reads which process ran each step
            out.write(str(os.getpid()))
        return StepResult(message=params.word)
"""

GROUP = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: team.echoes}
spec:
  pipelines:
    - {name: a, pipeline: team.echo, params: {word: one}}
    - {name: b, pipeline: team.echo, params: {word: two}}
  policy: {execution: parallel, max_concurrency: 2}
"""


def _spine(cwd: Path, *args: str, modules: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPINE_PIPELINE_MODULES": modules, "SPINE_GROUPS_DIR": str(cwd / "groups")}
    env.pop("PYTHONPATH", None)  # importable from the working directory alone
    spine = str(Path(sys.executable).with_name("spine"))
    return subprocess.run([spine, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_a_module_in_the_working_directory_runs_in_multiprocess_steps(tmp_path: Path) -> None:
    (tmp_path / "team_pipes.py").write_text(textwrap.dedent(TEAM_MODULE))
    (tmp_path / "groups").mkdir()
    (tmp_path / "groups" / "echoes.yaml").write_text(GROUP)

    listed = _spine(tmp_path, "pipelines", "--format", "json", modules="team_pipes")
    assert listed.returncode == 0, listed.stderr
    echo = next(p for p in json.loads(listed.stdout)["pipelines"] if p["name"] == "team.echo")
    assert echo["origin"] == {
        "distribution": "",
        "module": "team_pipes",
        "registered_by": "module 'team_pipes' (SPINE_PIPELINE_MODULES)",
    }

    ran = _spine(tmp_path, "run", "team.echoes", "--format", "json", modules="team_pipes")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    outcome = json.loads(ran.stdout)
    assert outcome["status"] == "completed"
    assert [s["status"] for s in outcome["steps"]] == ["completed", "completed"]
    pids = {(tmp_path / f"ran-{word}").read_text() for word in ("one", "two")}
    assert len(pids) == 2  # each step in its own process, which found the module too


def test_a_broken_module_is_an_error_in_validate_and_a_warning_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "team_pipes.py").write_text("import os\nraise RuntimeError('configure TEAM_API first')\n")
    (tmp_path / "groups").mkdir()
    (tmp_path / "groups" / "echoes.yaml").write_text(GROUP)
    (tmp_path / "groups" / "smoke.yaml").write_text(
        GROUP.replace("team.echoes", "team.smoke").replace("team.echo", "spine.noop")
    )

    validated = _spine(tmp_path, "validate", modules="team_pipes")
    assert validated.returncode == 1
    where = f"{tmp_path / 'team_pipes.py'}:2:0: "
    assert (
        where + "pipeline plugin module 'team_pipes' (SPINE_PIPELINE_MODULES) failed to load (team_pipes): "
        "RuntimeError: configure TEAM_API first"
    ) in validated.stdout
    assert "ok  team.smoke" in validated.stdout  # the rest still validates
    assert "unknown pipeline 'team.echo'; these pipeline plugins failed to load and may provide it" in (
        validated.stdout
    )

    smoke = _spine(tmp_path, "run", "team.smoke", "--format", "json", modules="team_pipes")
    assert smoke.returncode == 0, smoke.stderr
    assert "spine: warning: " in smoke.stderr and "configure TEAM_API first" in smoke.stderr
