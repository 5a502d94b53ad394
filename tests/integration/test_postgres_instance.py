"""A group run against a Dagster instance stored in a real Postgres server (runs and events land there)."""

from __future__ import annotations

import json

import psycopg2
import pytest

from tests.integration.conftest import Workspace


def test_group_run_is_stored_in_postgres(
    ws: Workspace, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ws.dagster_home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url:\n      env: SPINE_DAGSTER_PG_URL\ntelemetry:\n  enabled: false\n"
    )
    monkeypatch.setenv("SPINE_DAGSTER_PG_URL", pg_database)  # the `spine run` subprocess inherits it
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
