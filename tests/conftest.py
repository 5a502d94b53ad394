"""Shared fixtures: a fresh pipeline registry per test, with two typed test pipelines besides the built-ins."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import pytest

from spine_dagster.pipelines import (
    CheckOutcome,
    Pipeline,
    PipelineParams,
    PipelineRegistry,
    QualityCheck,
    StepResult,
    discover_pipelines,
)
from spine_dagster.pipelines.context import CheckContext, StepContext

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_spine_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the checkout's ``./.spine``: a developer's warehouse there changed what
    the asset checks found (they read the default DuckDB file when no URL is set)."""
    monkeypatch.setenv("SPINE_HOME", str(tmp_path_factory.mktemp("spine_home")))


GROUP_FIXTURES = FIXTURES / "groups"


class TypedParams(PipelineParams):
    week_ending: dt.date
    tier: Literal["NMS_TIER_1", "NMS_TIER_2", "OTC"] = "NMS_TIER_1"
    count: int = 1
    force: bool = False
    path: str | None = None
    symbols: list[str] = []


def _always_passes(ctx: CheckContext) -> CheckOutcome:
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
    registry = discover_pipelines()
    registry.register(TypedPipeline)
    registry.register(RequiredPipeline)
    return registry


@pytest.fixture(name="registry")
def registry_fixture() -> PipelineRegistry:
    return make_test_registry()


@pytest.fixture(name="pg_database")
def pg_database_fixture() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards; yields ``postgresql+psycopg2://.../<db>``.

    Skipped (with the reason shown) only when SPINE_TEST_POSTGRES_URL is unset; .ci/run always sets it.
    """
    import psycopg2

    url = os.environ.get("SPINE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("SPINE_TEST_POSTGRES_URL is not set (.ci/run sets it to the local PostgreSQL server)")
    name = f"spine_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    try:
        yield urlunsplit(("postgresql+psycopg2", parts.netloc, f"/{name}", "", ""))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(name="warehouse_url", params=["duckdb", "postgres"])
def warehouse_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A warehouse URL of each backend: a DuckDB file, and a fresh Postgres database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("pg_database")


def build_location(tmp_path: Path, files: dict[str, str], strict: bool = False):  # type: ignore[no-untyped-def]
    """The code location of ``files`` (name -> group text) in a fresh groups dir under ``tmp_path``."""
    from spine_dagster.composition import build_code_location
    from spine_dagster.settings import Settings

    groups = tmp_path / "groups"
    groups.mkdir(exist_ok=True)
    for name, text in files.items():
        (groups / name).write_text(text)
    settings = Settings(
        home=tmp_path / "home", groups_dir=groups, warehouse_url="duckdb:///:memory:", strict=strict
    )
    return build_code_location(settings)


def evaluate_tick(definition, **context_args):  # type: ignore[no-untyped-def]
    """Evaluate one tick of a schedule or sensor the way Dagster does: the evaluation context opens an
    instance of its own from the one given, so it is entered and closed here (a context left open keeps
    that instance as the thread's current definitions-state storage after it is gone, and a later
    ``Definitions`` resolve in the same process fails with "undefined DagsterInstance weakref")."""
    import dagster as dg

    is_schedule = isinstance(definition, dg.ScheduleDefinition)
    build = dg.build_schedule_context if is_schedule else dg.build_sensor_context
    with build(**context_args) as context:
        return definition.evaluate_tick(context)
