"""Utility pipelines for smoke-testing groups: ``spine.noop``, ``spine.sleep``, ``spine.fail``."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from pydantic import ConfigDict, Field

from ..errors import StepRunError
from .base import Pipeline, PipelineParams, StepResult
from .context import StepContext
from .registry import PipelineRegistry

log = logging.getLogger(__name__)


class NoopParams(PipelineParams):
    # Accepts (and ignores) any param, so a noop can stand in for any real step of a group.
    model_config = ConfigDict(extra="allow", frozen=True)


class Noop(Pipeline):
    name = "spine.noop"
    description = "Do nothing and succeed (accepts any params). Stands in for a real step."
    Params = NoopParams

    def run(self, ctx: StepContext, params: NoopParams) -> StepResult:
        # Not ctx.log: under Dagster every line there is an event-log write, and a no-op writes nothing.
        log.debug("spine.noop: step %s did nothing, as asked", ctx.step)
        return StepResult(message="noop")


class SleepParams(PipelineParams):
    seconds: Annotated[float, Field(ge=0, le=86_400, description="How long to sleep (0 to 86400).")] = 1.0


class Sleep(Pipeline):
    name = "spine.sleep"
    description = "Sleep for `seconds`, then succeed. Useful to see concurrency and timeouts."
    Params = SleepParams

    def run(self, ctx: StepContext, params: SleepParams) -> StepResult:
        time.sleep(params.seconds)
        return StepResult(metrics={"slept_seconds": params.seconds})


class SimulatedFailure(StepRunError):
    """Raised by ``spine.fail``; retryable like any unexpected error."""


class FailParams(PipelineParams):
    message: Annotated[str, Field(description="The error message of each failed attempt.")] = (
        "Simulated pipeline failure"
    )
    fail_times: Annotated[
        int, Field(ge=0, description="Attempts that fail before one succeeds (0: every attempt fails).")
    ] = 0


class Fail(Pipeline):
    name = "spine.fail"
    description = (
        "Fail the first `fail_times` attempts with `message`, then succeed (0 = always fail). "
        "Exercises retries, fail-fast and re-execution."
    )
    Params = FailParams

    def run(self, ctx: StepContext, params: FailParams) -> StepResult:
        if params.fail_times == 0 or ctx.attempt <= params.fail_times:
            raise SimulatedFailure(f"{params.message} (attempt {ctx.attempt})")
        return StepResult(message=f"succeeded on attempt {ctx.attempt}")


BUILTIN_PIPELINES: tuple[type[Pipeline], ...] = (Noop, Sleep, Fail)


def register(registry: PipelineRegistry) -> None:
    """The ``spine`` entry point: add the utility pipelines."""
    for pipeline in BUILTIN_PIPELINES:
        registry.register(pipeline)
