"""What runs inside an op, on a real in-process run: capped retry delays, fail-fast on the final failure
only, and a quiet successful step (no log line, attempt and batch in the output metadata)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from spine_dagster.defs import SpineDagsterTranslator
from spine_dagster.runtime.binding import StepBinding
from spine_dagster.runtime.execute import capped_retry
from spine_dagster.spec import RetrySpec
from tests.conftest import build_location

_location = build_location


def test_capped_retry_delays() -> None:
    from spine_dagster.plan.model import StepPlan

    translator = SpineDagsterTranslator()

    def step(**retry: object) -> StepBinding:
        spec = RetrySpec(**retry)  # type: ignore[arg-type]
        plan = StepPlan("s", "spine.fail", (), {}, {}, 0, 0, retry=spec)
        return StepBinding(plan, translator.get_retry_policy(spec), translator.get_retry_delay_cap(spec))

    exp = step(max_retries=5, delay_seconds=2, backoff="exponential", max_delay_seconds=10)
    waits = [capped_retry(exp, n).seconds_to_wait for n in range(4)]  # type: ignore[union-attr]
    assert waits == [2, 6, 10, 10]  # 2*(2**n - 1), capped at 10
    assert capped_retry(exp, 5) is None  # retries exhausted
    assert capped_retry(step(max_retries=2, delay_seconds=2), 0) is None  # no cap: RetryPolicy
    jittered = step(max_retries=50, delay_seconds=4, jitter="plus_minus", max_delay_seconds=5)
    assert all(0 <= capped_retry(jittered, n).seconds_to_wait <= 5 for n in range(50))  # type: ignore[union-attr]


def _run_in_process(tmp_path: Path, group: str) -> tuple[dg.DagsterInstance, str, list]:  # type: ignore[type-arg]
    tmp_path.mkdir(exist_ok=True)
    location = _location(tmp_path, {"g.yaml": group})
    job = next(j for j in location.definitions.jobs if not j.name.startswith("__"))  # type: ignore[union-attr]
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(instance=instance, raise_on_error=False)  # type: ignore[union-attr]
    return instance, result.run_id, list(instance.all_logs(result.run_id))


def _step_kinds(records: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [
        (r.step_key, r.dagster_event.event_type_value)
        for r in records
        if r.dagster_event is not None and r.step_key is not None
    ]


def test_fail_fast_waits_for_the_final_failure_in_process(tmp_path: Path) -> None:
    # b fails twice and has two retries: no fail-fast on a retry, the run goes on to c and d
    retried = """
name: ff.retry
policy: {execution: sequential, on_failure: stop}
steps:
  - {name: b, pipeline: spine.fail, params: {fail_times: 2}, retry: {max_retries: 2}}
  - {name: c, pipeline: spine.noop}
  - {name: d, pipeline: spine.noop, depends_on: c}
"""
    instance, run_id, records = _run_in_process(tmp_path / "retried", retried)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
    assert [k for k, kind in _step_kinds(records) if kind == "STEP_UP_FOR_RETRY"] == ["b", "b"]
    assert not [r for r in records if "fail-fast" in (r.user_message or "")]
    # retries exhausted: the final failure stops the run; c and d (independent of b) never start
    exhausted = retried.replace("ff.retry", "ff.exhausted").replace("max_retries: 2", "max_retries: 1")
    instance, run_id, records = _run_in_process(tmp_path / "exhausted", exhausted)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE  # type: ignore[union-attr]
    kinds = _step_kinds(records)
    assert [k for k, kind in kinds if kind in ("STEP_START", "STEP_RESTARTED")] == ["b", "b"]
    assert kinds[-1] == ("b", "STEP_FAILURE")
    messages = [r.user_message for r in records if r.dagster_event is None]
    assert "fail-fast (on_failure: stop): step b failed; no further step starts" in messages


def test_a_step_that_succeeds_writes_no_log_line_and_no_hook_event(tmp_path: Path) -> None:
    group = "name: quiet\nsteps:\n  - {name: a, pipeline: spine.noop}\n  - {name: b, pipeline: spine.noop, depends_on: a}\n"
    _, _, records = _run_in_process(tmp_path, group)
    assert [r.user_message for r in records if r.dagster_event is None] == []  # no context.log line
    assert [kind for _, kind in _step_kinds(records)] == ["STEP_START", "STEP_OUTPUT", "STEP_SUCCESS"] * 2
    outputs = [r.dagster_event for r in records if r.dagster_event and r.dagster_event.is_successful_output]
    metadata = outputs[0].step_output_data.metadata
    assert metadata["spine/attempt"].value == 1
    assert metadata["spine/batch_id"].value.startswith("group_quiet_")
    assert metadata["spine/params"].value == {"batch_id": metadata["spine/batch_id"].value}
