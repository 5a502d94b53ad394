"""The whole scale-out path at once (issue 13): a 6-partition FINRA backfill submitted with ``spine run --queue``,
dequeued by a real ``dagster-daemon`` under the production profile (deploy/dagster.yaml, instance on Postgres),
its steps executed by two ``spine worker`` processes on RabbitMQ, writing the Postgres warehouse; and the same
partitions run in-process on DuckDB. Every ``_latest`` view holds the same rows on both."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

from tests.integration.conftest import REPO, Workspace
from tests.integration.test_celery import _celery_workspace
from tests.integration.test_queue import dagster_daemon

RANGE = "2025-12-15..2025-12-22"  # 2 weeks x 3 tiers = 6 partitions
VIEWS = ("raw_weekly", "weekly_volume", "rejects", "symbol_week", "venue_week", "symbol_rolling")
PER_CAPTURE = {"capture_id", "captured_at"}  # when and by which capture: differs between any two runs


def _rows(cursor: Any, view: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor.execute(f"SELECT * FROM finra_otc.{view}_latest")
    columns = [d[0] for d in cursor.description]
    keep = [i for i, name in enumerate(columns) if name not in PER_CAPTURE]
    rows = [tuple(row[i] for i in keep) for row in cursor.fetchall()]
    return [columns[i] for i in keep], sorted(rows, key=lambda r: tuple(str(v) for v in r))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0)
    return a == b


def test_a_queued_celery_backfill_on_postgres_equals_the_in_process_run_on_duckdb(tmp_path: Path) -> None:
    # In-process, DuckDB: the reference.
    local = Workspace(tmp_path / "local")
    local.groups.mkdir(parents=True)
    local.dagster_home.mkdir()
    (local.dagster_home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    local.write("finra.yaml", (REPO / "groups" / "finra_weekly_refresh.yaml").read_text())
    here = local.spine("run", "finra.weekly_refresh", "--partition-range", RANGE, "--format", "json")
    assert here.returncode == 0, here.stdout[-2000:] + here.stderr[-2000:]

    # Queued, daemon, Celery, Postgres: the production profile with two workers.
    (tmp_path / "scaled").mkdir()
    with _celery_workspace(tmp_path / "scaled", workers=2) as ws:
        # deploy/dagster.yaml as shipped, its storage pointed at this test's database. (The URL is written in
        # rather than read from SPINE_DAGSTER_PG_URL: the workers were started before the database existed,
        # and a worker opens the instance from the run's instance ref, which would name that variable.)
        instance_url = ws.db_url.replace("postgresql://", "postgresql+psycopg2://")
        profile = (REPO / "deploy" / "dagster.yaml").read_text()
        reference = "postgres_url:\n      env: SPINE_DAGSTER_PG_URL"
        assert reference in profile
        profile = profile.replace(reference, f"postgres_url: {instance_url}")
        (ws.dagster_home / "dagster.yaml").write_text(profile)
        ws.write("finra.yaml", (REPO / "groups" / "finra_weekly_refresh.yaml").read_text())
        with ws.instance() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        with dagster_daemon(ws):
            there = ws.spine(
                "run", "finra.weekly_refresh", "--queue", "--partition-range", RANGE, timeout=600
            )
        assert there.returncode == 0, there.stdout[-3000:] + there.stderr[-2000:]
        assert "6 of 6 runs completed" in there.stdout
        assert "backfill " in there.stdout
        assert all(w.poll() is None for w in ws.workers), "a worker exited"

        with (
            duckdb.connect(str(local.root / "spine_home" / "warehouse.duckdb"), read_only=True) as reference,
            psycopg2.connect(ws.db_url) as scaled,
            scaled.cursor() as cursor,
        ):
            for view in VIEWS:
                columns, want = _rows(reference.cursor(), view)
                got_columns, got = _rows(cursor, view)
                assert got_columns == columns, view
                assert len(got) == len(want), view
                assert want or view == "rejects", view  # these sample weeks have no rejected row
                for row_got, row_want in zip(got, want, strict=True):
                    assert all(_same(g, w) for g, w in zip(row_got, row_want, strict=True)), (
                        view,
                        row_got,
                        row_want,
                    )
