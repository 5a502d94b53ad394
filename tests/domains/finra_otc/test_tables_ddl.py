"""tables.ensure_tables on Postgres: the DDL runs once per schema version, not in every step (its table
locks deadlocked with other steps' inserts when two Celery workers wrote at once, bench/scale.py)."""

from __future__ import annotations

from spine_dagster.domains.finra_otc import tables as t
from spine_dagster.warehouse import open_warehouse


def test_postgres_steps_skip_the_ddl_once_the_schema_is_current(warehouse_url: str) -> None:
    """Every step calls tables.ensure_tables; on Postgres a second connection finds the schema's
    fingerprint and runs no DDL (its locks deadlocked with concurrent writers), until it changes."""
    first = open_warehouse(warehouse_url)
    t.ensure_tables(first)
    first.close()
    second = open_warehouse(warehouse_url)
    calls: list[object] = []
    original = second.ensure_tables
    second.ensure_tables = lambda *a, **k: (calls.append(a), original(*a, **k))[1]  # type: ignore[method-assign]
    try:
        t.ensure_tables(second)
        expected = 0 if second.dialect == "postgres" else 1
        assert len(calls) == expected
        if second.dialect == "postgres":
            second.execute(f"COMMENT ON SCHEMA {t.SCHEMA} IS 'an older version'")
            t.ensure_tables(second)
            assert len(calls) == 1  # another fingerprint: the DDL runs again
            assert second.scalar(f"SELECT COUNT(*) FROM {t.RAW_WEEKLY.name}_latest") == 0
    finally:
        second.close()
