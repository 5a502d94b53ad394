"""Two processes claiming a slot of the same pool at the same moment, on real SQLite and Postgres instances.

Without :mod:`spine_dagster.pool_claims`, Dagster 1.13.27 lets both claim the one slot of a limit-1 pool
(measured here: 14 of 40 rounds on SQLite, 5 of 30 on Postgres), and on Postgres the loser of a race to
create a new pool's limit fails with ``InFailedSqlTransaction`` (every round). So each test below fails
in most runs without the fix; the end-to-end form is ``test_pool_limit_one_serializes_steps_across_runs``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from spine_dagster import pool_claims

ROUNDS = 20
FORK = multiprocessing.get_context("fork")  # children inherit the installed fix, as run workers load it


@pytest.fixture(name="home", params=["sqlite", "postgres"])
def home_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A DAGSTER_HOME whose pools default to one slot, stored in SQLite or in a fresh Postgres database."""
    storage = ""
    if request.param == "postgres":
        storage = f"storage:\n  postgres:\n    postgres_url: {request.getfixturevalue('pg_database')}\n"
    write_config(tmp_path, storage, default_limit=1)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        instance.get_runs()  # create the storage before processes race to
    assert pool_claims.install()  # as in a run worker: the instance's storage is loaded, so the fix goes in
    yield tmp_path


def write_config(home: Path, storage: str, *, default_limit: int) -> None:
    (home / "dagster.yaml").write_text(
        f"{storage}concurrency:\n  pools:\n    default_limit: {default_limit}\ntelemetry:\n  enabled: false\n"
    )


def _claim(home: str, pool: str, run_id: str, start: Any, results: Any) -> None:
    """A step's first claim as Dagster's executors make it (``InstanceConcurrencyContext.claim``): create or
    resize the pool's limit if it has none or a default one that is no longer the default, then claim."""
    try:
        with dg.DagsterInstance.from_config(home) as instance:
            storage, default = instance.event_log_storage, instance.global_op_concurrency_default_limit
            start.wait()
            limit = next((limit for limit in storage.get_pool_limits() if limit.name == pool), None)
            if limit is None or (limit.from_default and limit.limit != default):
                storage.initialize_concurrency_limit_to_default(pool)
            results.put(storage.claim_concurrency_slot(pool, run_id, "write").slot_status.value)
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}"[:300])


def race(home: Path, pool: str) -> list[str]:
    """Two processes claim the pool's slot at once; their claim statuses, sorted."""
    start, results = FORK.Barrier(2), FORK.Queue()
    processes = [
        FORK.Process(target=_claim, args=(str(home), pool, f"run-{i}", start, results)) for i in (1, 2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    return sorted(results.get(timeout=5) for _ in processes)


def slots(home: Path, pool: str) -> tuple[int, int]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        info = instance.event_log_storage.get_concurrency_info(pool)
        return info.slot_count, len(info.claimed_slots)


def test_two_claims_at_once_never_share_the_one_slot(home: Path) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for round_ in range(ROUNDS):
            instance.event_log_storage.initialize_concurrency_limit_to_default(f"existing_{round_}")
    outcomes = [race(home, f"existing_{round_}") for round_ in range(ROUNDS)]
    assert outcomes == [["BLOCKED", "CLAIMED"]] * ROUNDS
    assert {slots(home, f"existing_{round_}") for round_ in range(ROUNDS)} == {(1, 1)}


def test_the_first_use_of_a_pool_by_two_processes_creates_one_slot(home: Path) -> None:
    outcomes = [race(home, f"new_{round_}") for round_ in range(ROUNDS)]
    assert outcomes == [["BLOCKED", "CLAIMED"]] * ROUNDS
    assert {slots(home, f"new_{round_}") for round_ in range(ROUNDS)} == {(1, 1)}


def test_a_changed_default_limit_reaches_an_existing_pool(home: Path) -> None:
    """Raising ``default_limit`` in dagster.yaml: the next claim resizes the pool (on Postgres it crashed)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default("warehouse")
    assert slots(home, "warehouse") == (1, 0)
    config = (home / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(config.replace("default_limit: 1", "default_limit: 2"))
    assert race(home, "warehouse") == ["CLAIMED", "CLAIMED"]
    assert slots(home, "warehouse") == (2, 2)
