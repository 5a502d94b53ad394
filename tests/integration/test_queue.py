"""``spine run --queue``: runs go through Dagster's run queue and a real ``dagster-daemon``, and ``spine run``
follows them with the same progress lines, outcome and exit code as an in-process run; several partitions
become one Dagster backfill the UI lists."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus

from tests.integration.conftest import REPO, Workspace

SMALL = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: queue.small}
spec:
  pipelines:
    - {name: first, pipeline: spine.noop}
    - {name: nap, pipeline: spine.sleep, params: {seconds: 1}, depends_on: [first]}
"""
FAILING = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: queue.failing}
spec:
  pipelines:
    - {name: ok, pipeline: spine.noop}
    - {name: boom, pipeline: spine.fail, params: {message: disk on fire}, depends_on: [ok]}
    - {name: after, pipeline: spine.noop, depends_on: [boom]}
  policy: {on_failure: stop}
"""
WEEKLY = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: queue.weekly}
spec:
  defaults: {week_ending: "{{ params.week_ending }}", tier: "{{ params.tier }}"}
  pipelines:
    - {name: a, pipeline: spine.noop}
    - {name: b, pipeline: spine.noop, depends_on: [a]}
  partitions:
    weekly: {start: "2025-11-21", ends_on: friday, key_day: monday, param: week_ending}
    static: {name: tier, values: [X, Y], param: tier}
"""


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@contextlib.contextmanager
def dagster_daemon(ws: Workspace) -> Iterator[subprocess.Popen[Any]]:
    """``dagster-daemon run`` on the workspace's instance and groups (location ``spine``), stopped after."""
    with ws.instance() as instance:
        instance.get_runs()  # create the storage once, before the daemon and the CLI race to
    log = (ws.root / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [_tool("dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO, env=ws.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        with ws.instance() as instance:
            while not instance.get_daemon_statuses(["QUEUED_RUN_COORDINATOR"])[
                "QUEUED_RUN_COORDINATOR"
            ].healthy:
                assert daemon.poll() is None, (ws.root / "daemon.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the daemon never sent a heartbeat"
                time.sleep(0.5)
        yield daemon
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def queued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace with the three groups and a running daemon, shared by the module's tests."""
    ws = Workspace(tmp_path_factory.mktemp("queue"))
    ws.groups.mkdir()
    ws.dagster_home.mkdir()
    (ws.dagster_home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    for name, text in (("small.yaml", SMALL), ("failing.yaml", FAILING), ("weekly.yaml", WEEKLY)):
        ws.write(name, text)
    with dagster_daemon(ws):
        yield ws


def test_a_queued_run_is_followed_to_its_outcome(queued: Workspace) -> None:
    """The run is created QUEUED with the code location's origin, the daemon starts it in its own process,
    and `spine run --queue` prints the status changes and the step lines, then the outcome; exit 0."""
    result = queued.spine("run", "queue.small", "--queue")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    run_id = next(line.split()[1] for line in lines if line.startswith("  run ") and "queued" in line)
    expected = [f"  run {run_id} queued", "  > first started", "  + first completed", "  > nap started",
                "  + nap completed", f"  run {run_id} success"]  # fmt: skip
    positions = [next(i for i, line in enumerate(lines) if line.startswith(text)) for text in expected]
    assert positions == sorted(positions), result.stdout
    assert "group queue.small: completed" in result.stdout
    with queued.instance() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.remote_job_origin is not None and run.remote_job_origin.location_name == "spine"
        assert run.tags["spine/group_status"] == "completed"
        enqueued = instance.all_logs(run_id, of_type=dg.DagsterEventType.PIPELINE_ENQUEUED)
        assert len(enqueued) == 1  # it went through the queue, not straight to execution
        engine = instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        # the daemon's run launcher started a run worker for it (an in-process run has no such event)
        assert any((r.message or "").startswith("Started process for run") for r in engine)


def test_a_queued_failure_has_the_same_outcome_and_exit_code_as_in_process(queued: Workspace) -> None:
    """Fail-fast and the outcome table do not depend on who executes the run."""
    here = queued.run("queue.failing")
    there = queued.run("queue.failing", "--queue")
    assert here["exit_code"] == there["exit_code"] == 1
    assert here["run_id"] != there["run_id"]
    for data in (here, there):
        data.pop("run_id")
        data.pop("batch_id", None)
        data.pop("exit_code")
        for step in data["steps"]:
            step.pop("duration_seconds", None)
    assert there == here
    assert [s["status"] for s in there["steps"]] == ["completed", "failed", "skipped"]
    assert "disk on fire" in json.dumps(there)


def test_a_queued_range_is_one_dagster_backfill(queued: Workspace) -> None:
    """--partition-range with --queue submits one backfill (2 weeks x 2 tiers); the backfill daemon queues its
    runs, spine run reports each and exits 0 once all completed; the backfill is what the UI lists."""
    result = queued.spine("run", "queue.weekly", "--queue", "--partition-range", "2025-11-17..2025-11-24")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 of 4 runs completed" in result.stdout
    backfill_id = next(
        line.split()[1].rstrip(":") for line in result.stdout.splitlines() if line.startswith("  backfill ")
    )
    with queued.instance() as instance:
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None
        assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS
        assert backfill.title == "spine run queue.weekly (4 partitions)"
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    keys = sorted(r.tags["dagster/partition"] for r in runs)
    assert keys == ["2025-11-17|X", "2025-11-17|Y", "2025-11-24|X", "2025-11-24|Y"]
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert {r.tags["spine/group_status"] for r in runs} == {"completed"}
    assert len({r.tags["spine/batch_id"] for r in runs}) == 1  # one batch for the whole range


def test_without_a_daemon_nothing_is_queued(ws: Workspace) -> None:
    """No live daemon on the instance: a clear error naming what to start; no run is created."""
    ws.write("small.yaml", SMALL)
    result = ws.spine("run", "queue.small", "--queue")
    assert result.returncode == 1
    assert "no live Dagster daemon for this DAGSTER_HOME" in result.stderr
    assert "spine dev" in result.stderr
    with ws.instance() as instance:
        assert instance.get_runs() == []


def test_queued_runs_that_may_overlap_refuse_a_duckdb_warehouse(ws: Workspace) -> None:
    """A queue that starts several runs at once and a group that writes the (DuckDB) warehouse: refused
    before any run exists, saying why and both ways out; SPINE_SINGLE_WRITER=1 is the operator's promise."""
    config = (REPO / "dagster.yaml").read_text().replace("max_concurrent_runs: 1", "max_concurrent_runs: 4")
    (ws.dagster_home / "dagster.yaml").write_text(config)
    ws.write("finra.yaml", (REPO / "groups" / "finra_weekly_refresh.yaml").read_text())
    result = ws.spine("run", "finra.weekly_refresh", "--queue", "--partition", "2025-11-17|OTC")
    assert result.returncode == 1
    assert "--queue lets the daemon run 4 of finra.weekly_refresh's runs at once" in result.stderr
    assert "DuckDB file" in result.stderr and "SPINE_SINGLE_WRITER=1" in result.stderr
    with ws.instance() as instance:
        assert instance.get_runs() == []
    promised = subprocess.run(
        [sys.executable, "-m", "spine_dagster", "run", "finra.weekly_refresh", "--queue", "--partition",
         "2025-11-17|OTC"],
        capture_output=True, text=True, env=ws.env(SPINE_SINGLE_WRITER="1"), cwd=ws.root, timeout=120,
    )  # fmt: skip
    assert promised.returncode == 1
    assert "no live Dagster daemon" in promised.stderr  # past the guard: now it needs a daemon


def test_a_queued_range_refuses_run_params(ws: Workspace) -> None:
    """A backfill's runs take their partition's config: --param with a queued range is refused, not dropped."""
    ws.write("weekly.yaml", WEEKLY)
    result = ws.spine(
        "run", "queue.weekly", "--queue", "--partition-range", "2025-11-17..2025-11-24", "--param", "x=1"
    )
    assert result.returncode == 1
    assert "--param x would be ignored" in result.stderr and "--partition KEY --queue" in result.stderr
    with ws.instance() as instance:
        assert instance.get_runs() == [] and instance.get_backfills() == []
