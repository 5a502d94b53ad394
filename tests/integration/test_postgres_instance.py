"""A group run against a Dagster instance stored in a real Postgres server (runs and events land there)."""

from __future__ import annotations

import json

import psycopg2
import pytest

from tests.integration.conftest import Workspace


def use_postgres_instance(ws: Workspace, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the workspace's DAGSTER_HOME at ``pg_database`` (the `spine` subprocesses inherit the URL)."""
    (ws.dagster_home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url:\n      env: SPINE_DAGSTER_PG_URL\ntelemetry:\n  enabled: false\n"
    )
    monkeypatch.setenv("SPINE_DAGSTER_PG_URL", pg_database)


def test_group_run_is_stored_in_postgres(
    ws: Workspace, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_postgres_instance(ws, pg_database, monkeypatch)
    ws.write(
        "g.yaml",
        "name: pg.smoke\nsteps:\n  - {name: a, pipeline: spine.noop}\n  - {name: b, pipeline: spine.noop, depends_on: a}\n",
    )
    result = ws.spine("run", "pg.smoke", "--format", "json")
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    plain_url = pg_database.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(plain_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, pipeline_name FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchone() == ("SUCCESS", "pg__smoke")
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'STEP_SUCCESS'",
            (run_id,),
        )
        assert cur.fetchone() == (2,)
        cur.execute("SELECT value FROM run_tags WHERE run_id = %s AND key = 'spine/group_status'", (run_id,))
        assert cur.fetchone() == ("completed",)


def _sessions_opened(admin_url: str, database: str) -> int:
    """Sessions the server has started on ``database`` so far (a backend's count is flushed when it exits)."""
    with psycopg2.connect(admin_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,))
        return int(cur.fetchone()[0])


def test_spine_run_keeps_its_postgres_connections_open(
    ws: Workspace, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster's Postgres storages connect anew for every event; `spine run` pools them for its runs, so a run
    of 16 steps (55 events) opens a handful of server sessions, not two per event (110 without the pool)."""
    use_postgres_instance(ws, pg_database, monkeypatch)
    steps = [f"  - {{name: s{i}, pipeline: spine.noop, depends_on: s{i - 1}}}\n" for i in range(1, 16)]
    ws.write("g.yaml", "name: pg.chain\nsteps:\n  - {name: s0, pipeline: spine.noop}\n" + "".join(steps))
    plain_url = pg_database.replace("postgresql+psycopg2://", "postgresql://")
    admin_url, database = plain_url.rsplit("/", 1)[0] + "/postgres", plain_url.rsplit("/", 1)[1]
    assert ws.spine("run", "pg.chain").returncode == 0  # the first run creates the instance's tables
    before = _sessions_opened(admin_url, database)
    result = ws.spine("run", "pg.chain", "--format", "json")
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    with psycopg2.connect(plain_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        events = int(cur.fetchone()[0])
        cur.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchone() == ("SUCCESS",)
    sessions = _sessions_opened(admin_url, database) - before
    assert events >= 50
    assert sessions < events / 2, f"{sessions} sessions for a run of {events} events"
