"""``spine run`` under control: it says which run holds the pool slot it waits for and waits without using the
CPU, its group's ``timeout_minutes`` stops it, and Terminate (from the UI or the run coordinator) stops it."""

from __future__ import annotations

import json
import os
import signal
import time

import dagster as dg
import psutil

from tests.integration.conftest import Workspace, spine_process, wait_for_step_start

HOLDER = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: ops.holder}
spec:
  pipelines:
    - {name: hold, pipeline: spine.sleep, pool: shared, params: {seconds: 8}}
"""
WAITER = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: ops.waiter}
spec:
  pipelines:
    - {name: write, pipeline: spine.noop, pool: shared}
"""
SLOW = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: ops.slow}
spec:
  pipelines:
    - {name: first, pipeline: spine.noop}
    - {name: long, pipeline: spine.sleep, depends_on: [first], params: {seconds: 120}}
  policy: {execution: sequential, timeout_minutes: 0.05}
"""


def _wait_until_blocked(ws: Workspace, job: str, timeout: float = 120) -> None:
    """Until a step of ``job``'s run is waiting for a pool slot (Dagster's "Step blocked by limit" event):
    measuring the CPU of a process still starting up (on a busy machine, 3 s may not be enough) would
    measure its start, not its wait."""
    deadline = time.monotonic() + timeout
    with ws.instance() as instance:
        while time.monotonic() < deadline:
            for run in instance.get_runs(dg.RunsFilter(job_name=job)):
                events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
                if any((e.message or "").startswith("Step blocked by limit for pool") for e in events):
                    return
            time.sleep(0.2)
    raise AssertionError(f"no step of {job} ever waited for a pool slot")


def test_a_waiting_step_names_the_run_holding_the_slot_and_idles(ws: Workspace) -> None:
    ws.write("holder.yaml", HOLDER)
    ws.write("waiter.yaml", WAITER)
    with spine_process(ws, "run", "ops.holder") as holder:
        holder_run = wait_for_step_start(ws, "ops__holder", "hold")
        with spine_process(ws, "run", "ops.waiter") as waiter:
            _wait_until_blocked(ws, "ops__waiter")  # its run has started and its step waits for the slot
            cpu = psutil.Process(waiter.pid).cpu_times()
            time.sleep(3)
            after = psutil.Process(waiter.pid).cpu_times()
            used = (after.user + after.system) - (cpu.user + cpu.system)
            assert used < 0.5, f"waiting used {used:.2f} s of CPU in 3 s"
            out, err = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, out + err
        assert f"  ~ write waits for a slot in pool shared, held by run {holder_run} (step hold)" in out
        assert "  + write completed" in out
        holder.communicate(timeout=60)


def test_the_groups_timeout_stops_spine_run(ws: Workspace) -> None:
    ws.write("slow.yaml", SLOW)
    started = time.monotonic()
    ran = ws.spine("run", "ops.slow", "--format", "json", timeout=60)
    elapsed = time.monotonic() - started
    assert ran.returncode == 1, ran.stdout + ran.stderr
    outcome = json.loads(ran.stdout)
    assert outcome["status"] == "failed"
    assert [s["status"] for s in outcome["steps"]] == ["completed", "failed"]
    assert elapsed < 40, elapsed  # the 120 s step was stopped at 3 s (+ start-up)
    with ws.instance() as instance:
        run = instance.get_run_by_id(outcome["run_id"])
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert run.tags["spine/timeout"] == "0.05 minutes"
        messages = [
            r.dagster_event.message
            for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        ]
        assert "the group's timeout_minutes (0.05) passed: stopping its steps" in messages
    table = ws.spine("run", "ops.slow", timeout=60)
    assert "the group's timeout_minutes passed after" in table.stdout


def test_terminate_from_outside_stops_spine_run(ws: Workspace) -> None:
    ws.write("slow.yaml", SLOW.replace("timeout_minutes: 0.05", "timeout_minutes: 10"))
    with spine_process(ws, "run", "ops.slow") as process:
        run_id = wait_for_step_start(ws, "ops__slow", "long")
        asked = time.monotonic()
        with ws.instance() as instance:
            instance.run_coordinator.cancel_run(run_id)  # what the UI's Terminate button does
        process.communicate(timeout=30)
        assert time.monotonic() - asked < 15
        with ws.instance() as instance:
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELED
            assert instance.event_log_storage.get_concurrency_info("shared").claimed_slots == []


WEEKLY = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: ops.weekly}
spec:
  pipelines:
    - {name: mark, pipeline: spine.noop, params: {week: "{{ params.week_ending }}"}}
    - {name: long, pipeline: spine.sleep, depends_on: [mark], params: {seconds: 120}}
  partitions:
    weekly: {start: "2025-11-21", ends_on: friday, param: week_ending}
"""


def test_ctrl_c_stops_a_partition_range_after_the_current_run(ws: Workspace) -> None:
    ws.write("weekly.yaml", WEEKLY)
    days = "2025-11-17..2025-12-05"
    with spine_process(ws, "run", "ops.weekly", "--partition-range", days) as process:
        run_id = wait_for_step_start(ws, "ops__weekly", "long")
        asked = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole process group
        _, err = process.communicate(timeout=30)
        assert time.monotonic() - asked < 10
        assert process.returncode == 1
        assert "spine: interrupted; 2 more run(s) not started" in err
        with ws.instance() as instance:
            runs = instance.get_runs(dg.RunsFilter(job_name="ops__weekly"))
            assert [r.run_id for r in runs] == [run_id]
            assert runs[0].status == dg.DagsterRunStatus.FAILURE


def test_sigterm_ends_spine_run_within_ten_seconds(ws: Workspace) -> None:
    # What a service manager or `kill` sends to the one process it started.
    ws.write("slow.yaml", SLOW.replace("timeout_minutes: 0.05", "timeout_minutes: 10"))
    with spine_process(ws, "run", "ops.slow") as process:
        run_id = wait_for_step_start(ws, "ops__slow", "long")
        asked = time.monotonic()
        process.terminate()
        process.communicate(timeout=30)
        assert time.monotonic() - asked < 10
        with ws.instance() as instance:
            run = instance.get_run_by_id(run_id)
            assert run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


RETRIED = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {{name: ops.{name}}}
spec:
  pipelines:
    - {{name: first, pipeline: spine.noop}}
    - {{name: flaky, pipeline: spine.fail, depends_on: [first], retry: {{max_retries: 1}}}}
  policy: {{execution: {execution}}}
"""


def test_step_progress_lines_come_once_each_in_order(ws: Workspace) -> None:
    """A sequential group (the in-process executor) and a parallel one (multiprocess) print the same step
    transitions, read back from the run's event log, each once (the last poll after the run ends reads
    only what is new), in the order they happened."""
    expected = [
        "  > first started",
        "  + first completed",
        "  > flaky started",
        "  ! flaky failed, will retry",
        "  > flaky retrying",
        "  x flaky failed",
    ]
    for execution in ("sequential", "parallel"):
        ws.write(f"{execution}.yaml", RETRIED.format(name=execution, execution=execution))
        with spine_process(ws, "run", f"ops.{execution}") as process:
            out, err = process.communicate(timeout=180)
        assert process.returncode == 1, out + err
        lines = [line for line in out.splitlines() if line[:4] in {"  > ", "  + ", "  ! ", "  x "}]
        assert lines == expected, (execution, out)
