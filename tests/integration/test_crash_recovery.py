"""``kill -9`` of ``spine run`` mid-step: the dead run is found, marked failed, its pool slot freed, and
``spine rerun`` completes it; the reaper sensor does the same while the UI is up."""

from __future__ import annotations

import json
import os
import signal

import dagster as dg

from tests.conftest import evaluate_tick
from tests.integration.conftest import Workspace, spine_process, wait_for_step_start

SLOW = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: ops.slow}
spec:
  pipelines:
    - {name: first, pipeline: spine.noop}
    - {name: hold, pipeline: spine.sleep, depends_on: [first], pool: warehouse, params: {seconds: 3}}
    - {name: after, pipeline: spine.noop, depends_on: [hold]}
  policy: {execution: sequential, on_failure: stop}
"""

OTHER = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: ops.other}
spec:
  pipelines:
    - {name: write, pipeline: spine.noop, pool: warehouse}
"""


def _kill_during(ws: Workspace, group: str, step: str, *extra: str) -> str:
    """Start `spine run GROUP`, SIGKILL it once STEP has started, and return the run id it left behind."""
    output = ws.root / "killed-run.out"
    with spine_process(ws, "run", group, *extra, output=output) as process:
        try:
            run_id = wait_for_step_start(ws, group.replace(".", "__"), step)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; spine run said:\n{output.read_text()}") from None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return run_id


def _claimed(instance: dg.DagsterInstance, pool: str) -> set[str]:
    return instance.event_log_storage.get_concurrency_info(pool).active_run_ids


def test_killed_spine_run_is_reaped_when_spine_starts_and_reruns_to_completion(ws: Workspace) -> None:
    ws.write("slow.yaml", SLOW)
    ws.write("other.yaml", OTHER)
    dead = _kill_during(ws, "ops.slow", "hold")
    with ws.instance() as instance:
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.STARTED  # Dagster alone: forever
        assert _claimed(instance, "warehouse") == {dead}

    # The next spine command finds it; the other group on the same pool then runs instead of waiting.
    other = ws.spine("run", "ops.other", "--format", "json", timeout=120)
    assert other.returncode == 0, other.stdout + other.stderr
    assert (
        f"spine: recovered run {dead} (ops__slow): its process is gone, marked failed; freed pool slot(s): warehouse"
        in other.stderr
    )
    with ws.instance() as instance:
        run = instance.get_run_by_id(dead)
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert run.tags["dagster/failure_reason"] == "RUN_WORKER_RESTART"
        failure = instance.all_logs(dead, of_type=dg.DagsterEventType.RUN_FAILURE)[-1]
        assert "is gone: it was killed or crashed" in failure.dagster_event.message
        assert _claimed(instance, "warehouse") == set()

    # Re-executed from the failed step: `first` is not run again.
    rerun = ws.spine("rerun", dead, "--format", "json", timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    with ws.instance() as instance:
        child = instance.get_run_by_id(json.loads(rerun.stdout)["run_id"])
        assert child.parent_run_id == dead
        starts = instance.all_logs(child.run_id, of_type=dg.DagsterEventType.STEP_START)
        assert {r.dagster_event.step_key for r in starts} == {"hold", "after"}


def test_reaper_sensor_marks_a_dead_run_while_the_ui_is_up(ws: Workspace) -> None:
    from spine_dagster.composition import build_code_location
    from spine_dagster.settings import get_settings

    ws.write("slow.yaml", SLOW)
    dead = _kill_during(ws, "ops.slow", "hold")
    env = ws.env()
    location = build_code_location(get_settings(env))
    sensor = next(s for s in location.definitions.sensors if s.name == "spine__reap_dead_runs")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with ws.instance() as instance:
        result = evaluate_tick(sensor, instance=instance)
        assert f"run {dead} (ops__slow): its process is gone, marked failed" in result.skip_message
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        assert _claimed(instance, "warehouse") == set()
        again = evaluate_tick(sensor, instance=instance)
        assert again.skip_message == "no dead runs, no stranded slots"
