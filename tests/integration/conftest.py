"""Helpers for end-to-end tests: run groups through the real `spine` CLI against a real Dagster instance."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Workspace:
    """A groups dir, a SPINE_HOME and a DAGSTER_HOME (SQLite) of one test."""

    root: Path

    @property
    def groups(self) -> Path:
        return self.root / "groups"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def env(self, **extra: str) -> dict[str, str]:
        keep = ("SPINE_TEST_", "SPINE_DAGSTER_PG_URL")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SPINE_", "DAGSTER_")) or k.startswith(keep)
        }
        env.update(
            SPINE_HOME=str(self.root / "spine_home"),
            SPINE_GROUPS_DIR=str(self.groups),
            DAGSTER_HOME=str(self.dagster_home),
        )
        env.update(extra)
        return env

    def write(self, name: str, text: str) -> Path:
        path = self.groups / name
        path.write_text(text)
        return path

    def spine(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "spine_dagster", *args],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.root,
            timeout=timeout,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
        return result

    def run(self, group: str, *args: str) -> dict[str, Any]:
        """`spine run GROUP --format json`; returns the JSON outcome (with the exit code added)."""
        result = self.spine("run", group, "--format", "json", *args)
        assert result.stdout.strip(), result.stderr
        data = json.loads(result.stdout)
        data["exit_code"] = result.returncode
        return data

    def dagster(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).with_name("dagster")), *args],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.root,
            timeout=timeout,
        )

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.dagster_home))


@contextlib.contextmanager
def spine_process(ws: Workspace, *args: str, output: Path | None = None) -> Iterator[subprocess.Popen[str]]:
    """``python -m spine_dagster ARGS`` in its own process group (text pipes, or stdout+stderr to
    ``output``), killed with its whole group afterwards if it is still running. The instance's tables are
    created first: two processes creating a SQLite instance's tables at once race."""
    with ws.instance():
        pass
    sink = output.open("w") if output is not None else None
    process = subprocess.Popen(
        [sys.executable, "-m", "spine_dagster", *args],
        env=ws.env(), cwd=ws.root, text=True, start_new_session=True,
        stdout=sink or subprocess.PIPE, stderr=subprocess.STDOUT if sink else subprocess.PIPE,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        if sink is not None:
            sink.close()


def wait_for_step_start(ws: Workspace, job: str, step: str, timeout: float = 120) -> str:
    """The id of the run of ``job`` in which ``step`` has started, once it has (AssertionError after
    ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    with ws.instance() as instance:
        while time.monotonic() < deadline:
            for record in instance.get_run_records(dg.RunsFilter(job_name=job)):
                starts = instance.all_logs(record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_START)
                if any(r.dagster_event.step_key == step for r in starts):
                    return record.dagster_run.run_id
            time.sleep(0.1)
    raise AssertionError(f"{job}: step {step} never started")


@pytest.fixture(name="ws")
def workspace_fixture(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace(tmp_path)
    ws.groups.mkdir()
    ws.dagster_home.mkdir()
    (ws.dagster_home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    yield ws


def step_events(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str, float]]:
    """(step key, event type, timestamp) for every step event of a run, in order."""
    out = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.step_key is not None and event.event_type_value.startswith("STEP_"):
            out.append((event.step_key, event.event_type_value, record.timestamp))
    return out


def step_params(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """The final params each step ran with (recorded as `spine/params` output metadata)."""
    found: dict[str, dict[str, Any]] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT):
        event = record.dagster_event
        metadata = event.step_output_data.metadata if event and event.step_output_data else {}
        if "spine/params" in metadata:
            found[event.step_key] = metadata["spine/params"].value  # type: ignore[index]
    return found


def max_overlap(events: list[tuple[str, str, float]]) -> int:
    """The largest number of steps running at the same moment."""
    timeline = []
    for _key, kind, stamp in events:
        if kind in ("STEP_START", "STEP_RESTARTED"):
            timeline.append((stamp, 1))
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY"):
            timeline.append((stamp, -1))
    running = peak = 0
    for _stamp, delta in sorted(timeline, key=lambda item: (item[0], item[1])):
        running += delta
        peak = max(peak, running)
    return peak


def pool_step_windows(ws: Workspace, prefix: str, pool: str) -> tuple[list[tuple[float, float]], str]:
    """Two one-step groups (``PREFIX.pool_one``, ``PREFIX.pool_two``) whose 2 s step is in ``pool``, run at
    once by two ``spine run`` processes; both must complete. Each step's (start, end), sorted by start, and
    a description of both runs (their events and stderr) for an assertion's message."""
    for name in ("one", "two"):
        ws.write(
            f"pool_{name}.yaml",
            f"name: {prefix}.pool_{name}\nsteps:\n"
            f"  - {{name: write, pipeline: spine.sleep, params: {{seconds: 2}}, pool: {pool}}}\n",
        )
    with ws.instance() as instance:
        instance.get_runs()  # create the instance's storage once, before two processes race to
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "spine_dagster", "run", f"{prefix}.pool_{name}", "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ws.env(),
            cwd=ws.root,
        )
        for name in ("one", "two")
    ]
    results = [p.communicate(timeout=180) for p in procs]
    outs = [json.loads(stdout) for stdout, _stderr in results]
    with ws.instance() as instance:
        # Every event of both runs and both processes' stderr, so a failure here can be diagnosed from CI's log.
        logs = "\n".join(
            f"{record.timestamp:.3f} {out['run_id'][:8]} "
            f"{record.dagster_event.event_type_value if record.dagster_event else ''} {record.user_message[:160]}"
            for out in outs
            for record in instance.all_logs(out["run_id"])
        )
        context = f"{outs}\n{logs}\n" + "\n".join(stderr[-2000:] for _stdout, stderr in results)
        assert [o["status"] for o in outs] == ["completed", "completed"], context
        windows = []
        for out in outs:
            events = step_events(instance, out["run_id"])
            start = next(t for _key, kind, t in events if kind == "STEP_START")
            end = next(t for _key, kind, t in events if kind == "STEP_SUCCESS")
            windows.append((start, end))
    return sorted(windows), context
