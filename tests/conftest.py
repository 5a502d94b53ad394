"""Shared fixtures: a fresh pipeline registry per test, with two typed test pipelines besides the built-ins."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import pytest

from spine_dagster.pipelines import (
    CheckOutcome,
    Pipeline,
    PipelineParams,
    PipelineRegistry,
    QualityCheck,
    StepContext,
    StepResult,
    build_default_registry,
)

FIXTURES = Path(__file__).parent / "fixtures"
GROUP_FIXTURES = FIXTURES / "groups"


class TypedParams(PipelineParams):
    week_ending: dt.date
    tier: Literal["NMS_TIER_1", "NMS_TIER_2", "OTC"] = "NMS_TIER_1"
    count: int = 1
    force: bool = False
    path: str | None = None
    symbols: list[str] = []


def _always_passes(ctx: StepContext) -> CheckOutcome:
    return CheckOutcome(passed=True, message="ok")


class TypedPipeline(Pipeline):
    """A pipeline with typed params and declared checks, to exercise param validation and overrides."""

    name = "test.typed"
    description = "Typed params for tests."
    Params = TypedParams
    reads = ("test.raw",)
    writes = ("test.clean",)
    checks = (
        QualityCheck("row_count", "test.clean", "rows were written", _always_passes, "error", True),
        QualityCheck("reject_rate", "test.clean", "few rejects", _always_passes, "warn", False),
    )

    def run(self, ctx: StepContext, params: TypedParams) -> StepResult:
        return StepResult(rows_written={"test.clean": params.count})


class RequiredParams(PipelineParams):
    source: str


class RequiredPipeline(Pipeline):
    name = "test.required"
    description = "A pipeline with a required param."
    Params = RequiredParams

    def run(self, ctx: StepContext, params: RequiredParams) -> StepResult:
        return StepResult()


def make_test_registry() -> PipelineRegistry:
    registry = build_default_registry()
    registry.register(TypedPipeline)
    registry.register(RequiredPipeline)
    return registry


@pytest.fixture(name="registry")
def registry_fixture() -> PipelineRegistry:
    return make_test_registry()
