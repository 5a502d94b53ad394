"""The twelve run semantics of a group, each on a real Dagster instance (SQLite) through `spine run`
or `dagster job execute` in a fresh process, checked against the run's own event log."""

from __future__ import annotations

import json
import time

import dagster as dg

from tests.integration.conftest import Workspace, max_overlap, pool_step_windows, step_events, step_params


def _starts(events: list[tuple[str, str, float]]) -> list[str]:
    return [key for key, kind, _ in events if kind == "STEP_START"]


def test_params_reach_each_step_merged_with_batch_id(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        """
name: sem.params
defaults: {week_ending: "{{ params.week_ending }}", tier: NMS_TIER_1, label: "{{ group.name }}"}
steps:
  - {name: a, pipeline: spine.noop}
  - {name: b, pipeline: spine.noop, depends_on: a, params: {tier: OTC, note: "for {{ params.week_ending }}"}}
""",
    )
    out = ws.run("sem.params", "--param", "week_ending=2026-01-02")
    assert out["status"] == "completed" and out["exit_code"] == 0
    params = step_params(ws.instance(), out["run_id"])
    batch = out["batch_id"]
    assert batch.startswith("group_sem.params_")
    assert params["a"] == {
        "week_ending": "2026-01-02",
        "tier": "NMS_TIER_1",
        "label": "sem.params",
        "batch_id": batch,
    }
    assert params["b"] == {
        "week_ending": "2026-01-02",
        "tier": "OTC",
        "label": "sem.params",
        "note": "for 2026-01-02",
        "batch_id": batch,
    }
    run = ws.instance().get_run_by_id(out["run_id"])
    assert run.tags["spine/batch_id"] == batch
    assert run.run_config == {"params": {"week_ending": "2026-01-02"}}


def test_sequential_runs_in_process_in_plan_order(ws: Workspace) -> None:
    # Definition order c(a), a, b(a), d: plan order is a, d, c, b (roots first, FIFO).
    ws.write(
        "g.yaml",
        """
name: sem.sequential
steps:
  - {name: c, pipeline: spine.sleep, depends_on: a, params: {seconds: 0.1}}
  - {name: a, pipeline: spine.sleep, params: {seconds: 0.1}}
  - {name: b, pipeline: spine.sleep, depends_on: a, params: {seconds: 0.1}}
  - {name: d, pipeline: spine.sleep, params: {seconds: 0.1}}
""",
    )
    out = ws.run("sem.sequential")
    assert out["status"] == "completed"
    events = step_events(ws.instance(), out["run_id"])
    assert _starts(events) == ["a", "d", "c", "b"]
    assert max_overlap(events) == 1
    assert not [e for e in events if e[1] == "STEP_WORKER_STARTING"]  # no step subprocesses


def test_parallel_never_exceeds_max_concurrency(ws: Workspace) -> None:
    steps = "\n".join(
        f"  - {{name: s{i}, pipeline: spine.sleep, params: {{seconds: 1.5}}}}" for i in range(5)
    )
    ws.write(
        "g.yaml",
        f"name: sem.parallel\npolicy: {{execution: parallel, max_concurrency: 2}}\nsteps:\n{steps}\n",
    )
    out = ws.run("sem.parallel")
    assert out["status"] == "completed"
    events = step_events(ws.instance(), out["run_id"])
    assert max_overlap(events) == 2  # parallel, and never more than two at once
    assert len([e for e in events if e[1] == "STEP_WORKER_STARTING"]) == 5


def test_on_failure_continue_skips_only_dependents(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        """
name: sem.continue
policy: {on_failure: continue}
steps:
  - {name: a, pipeline: spine.noop}
  - {name: b, pipeline: spine.fail, depends_on: a}
  - {name: c, pipeline: spine.noop, depends_on: b}
  - {name: e, pipeline: spine.noop, depends_on: c}
  - {name: d, pipeline: spine.noop}
""",
    )
    out = ws.run("sem.continue")
    statuses = {s["name"]: s["status"] for s in out["steps"]}
    assert statuses == {"a": "completed", "d": "completed", "b": "failed", "c": "skipped", "e": "skipped"}
    assert out["status"] == "partial" and out["exit_code"] == 1
    assert (
        "Simulated pipeline failure (attempt 1)" in next(s for s in out["steps"] if s["name"] == "b")["error"]
    )


def test_on_failure_continue_with_nothing_completed_is_failed(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        "name: sem.allfail\npolicy: {on_failure: continue}\nsteps:\n"
        "  - {name: a, pipeline: spine.fail}\n  - {name: b, pipeline: spine.fail}\n",
    )
    out = ws.run("sem.allfail")
    assert [s["status"] for s in out["steps"]] == ["failed", "failed"]
    assert out["status"] == "failed"


def test_on_failure_stop_sequential_starts_nothing_after_the_failure(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        """
name: sem.stop_seq
policy: {execution: sequential, on_failure: stop}
steps:
  - {name: a, pipeline: spine.noop}
  - {name: b, pipeline: spine.fail, depends_on: a}
  - {name: c, pipeline: spine.noop, depends_on: b}
  - {name: d, pipeline: spine.sleep, params: {seconds: 0}}
  - {name: e, pipeline: spine.sleep, depends_on: d, params: {seconds: 0}}
""",
    )
    # plan order: a, d, b, e, c -> b fails; e (independent of b) and c never start
    out = ws.run("sem.stop_seq")
    statuses = {s["name"]: s["status"] for s in out["steps"]}
    assert statuses == {"a": "completed", "d": "completed", "b": "failed", "e": "skipped", "c": "skipped"}
    assert out["status"] == "failed"
    instance = ws.instance()
    assert _starts(step_events(instance, out["run_id"])) == ["a", "d", "b"]
    run = instance.get_run_by_id(out["run_id"])
    assert run.status == dg.DagsterRunStatus.FAILURE  # not CANCELED: failure sensors and re-execution work


def test_on_failure_stop_parallel_interrupts_and_starts_nothing_more(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        """
name: sem.stop_par
policy: {execution: parallel, max_concurrency: 2, on_failure: stop}
steps:
  - {name: slow, pipeline: spine.sleep, params: {seconds: 60}}
  - {name: warmup, pipeline: spine.sleep, params: {seconds: 1}}
  - {name: boom, pipeline: spine.fail, depends_on: warmup}
  - {name: later, pipeline: spine.sleep, depends_on: warmup, params: {seconds: 0}}
""",
    )
    # slow and warmup start together; then boom takes the free slot and fails while slow still runs;
    # later (independent of boom) is next in plan order and must never start.
    started = time.perf_counter()
    out = ws.run("sem.stop_par")
    elapsed = time.perf_counter() - started
    statuses = {s["name"]: s["status"] for s in out["steps"]}
    assert statuses["warmup"] == "completed"
    assert statuses["boom"] == "failed"
    assert statuses["later"] == "skipped"  # an independent step that would otherwise have run
    assert statuses["slow"] == "failed"  # it was running: interrupted, not left to finish its 60 s
    assert out["status"] == "failed"
    assert elapsed < 45
    instance = ws.instance()
    assert "later" not in _starts(step_events(instance, out["run_id"]))
    assert instance.get_run_by_id(out["run_id"]).status == dg.DagsterRunStatus.FAILURE


def test_retries_map_to_dagster_retry_policy(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        """
name: sem.retry
policy: {on_failure: continue}
steps:
  - {name: enough, pipeline: spine.fail, params: {fail_times: 2}, retry: {max_retries: 2}}
  - {name: short, pipeline: spine.fail, params: {fail_times: 2}, retry: {max_retries: 1}}
""",
    )
    out = ws.run("sem.retry")
    steps = {s["name"]: s for s in out["steps"]}
    assert (steps["enough"]["status"], steps["enough"]["attempts"]) == ("completed", 3)
    assert (steps["short"]["status"], steps["short"]["attempts"]) == ("failed", 2)


def test_group_retry_applies_to_every_step_and_bad_params_are_not_retried(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        """
name: sem.noretry
policy: {on_failure: continue, retry: {max_retries: 3}}
steps:
  - {name: nap, pipeline: spine.sleep}
  - {name: flaky, pipeline: spine.fail, params: {fail_times: 1}}
""",
    )
    config = ws.root / "run.yaml"
    # A Float that the params model refuses (ge=0): a wrong type would be refused before the run (Dagster's
    # config check, tests/integration/test_launchpad_params.py); this one fails the step, unretried.
    config.write_text("params:\n  seconds: -1\n")
    result = ws.dagster(
        "job", "execute", "-m", "spine_dagster.definitions", "-j", "sem__noretry", "-c", str(config)
    )
    assert result.returncode == 1
    instance = ws.instance()
    run = instance.get_runs(limit=1)[0]
    events = step_events(instance, run.run_id)
    assert [k for k, kind, _ in events if kind == "STEP_UP_FOR_RETRY"] == ["flaky"]  # the group retry applies
    assert [k for k, kind, _ in events if kind == "STEP_FAILURE"] == ["nap"]  # bad params: one attempt only
    failure = next(
        r.dagster_event for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    )
    assert "invalid params (not retried)" in failure.step_failure_data.error.message


def test_step_timeout_is_a_retryable_failure(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        """
name: sem.timeout
steps:
  - {name: stuck, pipeline: spine.sleep, params: {seconds: 30}, timeout_seconds: 1, retry: {max_retries: 1}}
""",
    )
    started = time.perf_counter()
    out = ws.run("sem.timeout")
    assert time.perf_counter() - started < 25
    step = out["steps"][0]
    assert (step["status"], step["attempts"]) == ("failed", 2)
    assert "exceeded its timeout of 1 seconds" in step["error"]


def test_pool_limit_one_serializes_steps_across_runs(ws: Workspace) -> None:
    [(_, first_end), (second_start, _)], context = pool_step_windows(ws, "sem", "shared_db")
    assert first_end <= second_start, f"pool steps overlapped\n{context}"


def test_reexecution_from_failure_runs_only_failed_and_not_run_steps(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        """
name: sem.reexec
steps:
  - {name: first, pipeline: spine.noop}
  - {name: flaky, pipeline: spine.fail, depends_on: first, params: {fail_times: 1}}
  - {name: last, pipeline: spine.noop, depends_on: flaky}
""",
    )
    out = ws.run("sem.reexec")
    assert out["status"] == "failed"
    assert [s["status"] for s in out["steps"]] == ["completed", "failed", "skipped"]
    again = ws.spine("rerun", out["run_id"], "--format", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    second = json.loads(again.stdout)
    assert second["status"] == "completed"
    assert [s["status"] for s in second["steps"]] == ["completed", "completed", "completed"]
    instance = ws.instance()
    assert _starts(step_events(instance, second["run_id"])) == ["flaky", "last"]  # `first` is not re-run
    child = instance.get_run_by_id(second["run_id"])
    assert child.parent_run_id == out["run_id"]
    assert child.tags["spine/group_status"] == "completed"
    assert second["batch_id"] == out["batch_id"]  # same batch: a re-execution continues it


def test_outcome_is_recorded_as_run_tags(ws: Workspace) -> None:
    ws.write(
        "g.yaml",
        "name: sem.tags\npolicy: {on_failure: continue}\nsteps:\n"
        "  - {name: a, pipeline: spine.noop}\n  - {name: b, pipeline: spine.fail}\n",
    )
    out = ws.run("sem.tags")
    tags = ws.instance().get_run_by_id(out["run_id"]).tags
    assert tags["spine/group_status"] == "partial"
    steps = json.loads(tags["spine/steps"])
    assert steps["a"][:2] == ["completed", 1] and steps["b"][:2] == ["failed", 1]
    assert tags["spine/group"] == "sem.tags" and tags["spine/batch_id"] == out["batch_id"]
