"""Pipeline registry (an instance per caller) and the built-in utility pipelines."""

from __future__ import annotations

import pytest

from spine_dagster.errors import PipelineNotFoundError, StepRunError
from spine_dagster.pipelines import (
    Pipeline,
    PipelineRegistry,
    StepContext,
    StepResult,
    discover_pipelines,
)
from spine_dagster.pipelines.builtin import Fail, FailParams, Noop, Sleep, SleepParams


def _ctx(attempt: int = 1) -> StepContext:
    return StepContext(group="g", step="s", run_id="r", batch_id="b", attempt=attempt)


def test_default_registry_is_a_fresh_instance_each_time() -> None:
    first, second = discover_pipelines(), discover_pipelines()
    assert first is not second
    first.register(type("Extra", (Noop,), {"name": "x.extra"}))
    assert "x.extra" in first and "x.extra" not in second
    assert {"spine.fail", "spine.noop", "spine.sleep"} <= set(second.names())
    assert {
        f"finra.otc_transparency.{n}"
        for n in ("ingest_week", "normalize_week", "aggregate_week", "compute_rolling")
    } <= set(second.names())


def test_get_unknown_pipeline_suggests_a_name() -> None:
    with pytest.raises(
        PipelineNotFoundError, match=r"Pipeline not found: spine\.nop \(did you mean 'spine\.noop'\?\)"
    ):
        discover_pipelines().get("spine.nop")


def test_register_rejects_bad_declarations() -> None:
    registry = PipelineRegistry([Noop])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Noop)
    with pytest.raises(TypeError, match="Expected a Pipeline"):
        registry.register(object())  # type: ignore[arg-type]

    class Nameless(Pipeline):
        name = "no dots or spaces allowed here"

        def run(self, ctx: StepContext, params: object) -> StepResult:
            return StepResult()

    with pytest.raises(ValueError, match="needs a dotted `name`"):
        registry.register(Nameless)


def test_register_works_as_a_decorator() -> None:
    registry = PipelineRegistry()

    @registry.register
    class Hello(Noop):
        name = "demo.hello"

    assert registry.get("demo.hello").name == "demo.hello"
    assert Hello.name == "demo.hello"


def test_fail_fails_the_first_n_attempts_then_succeeds() -> None:
    pipeline = Fail()
    params = FailParams(message="boom", fail_times=2)
    for attempt in (1, 2):
        with pytest.raises(StepRunError, match=rf"boom \(attempt {attempt}\)") as info:
            pipeline.run(_ctx(attempt), params)
        assert info.value.retryable
    assert pipeline.run(_ctx(3), params).message == "succeeded on attempt 3"


def test_fail_with_zero_always_fails() -> None:
    with pytest.raises(StepRunError):
        Fail().run(_ctx(50), FailParams(fail_times=0))


def test_sleep_sleeps_and_noop_accepts_anything() -> None:
    import time

    started = time.perf_counter()
    Sleep().run(_ctx(), SleepParams(seconds=0.05))
    assert time.perf_counter() - started >= 0.05
    assert Noop.Params.model_validate({"anything": 1, "tier": "OTC"})
    assert Noop().run(_ctx(), Noop.Params()).message == "noop"
