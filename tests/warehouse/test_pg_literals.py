"""Postgres reads with their parameters written into the SQL give exactly what the bound query gives."""

from __future__ import annotations

import datetime as dt
import decimal
import re

import numpy as np

from spine_dagster.warehouse import open_warehouse
from spine_dagster.warehouse.pg_literals import inline, literal
from spine_dagster.warehouse.postgres import PostgresWarehouse, _pg_sql

AWKWARD = [
    "plain",
    "it's",
    "''",
    "back\\slash\\",
    "\\'; DROP TABLE x; --",
    "a ? b",
    "$1 and $2",
    "E'x'",
    "tab\tnew\nline",
    "ünïcødé ✓ 𝄞",
    "",
    "-- comment",
    "/* not a comment */",
]


def test_a_value_that_cannot_be_written_falls_back_to_binding() -> None:
    for value in (decimal.Decimal("1.5"), np.int64(3), b"bytes", float("nan"), float("inf"), "nul\x00byte"):
        assert literal(value) is None, value
    assert inline("SELECT ? , ?", ["ok", np.int64(3)]) is None
    assert inline("SELECT ?", ["one", "two"]) is None  # a count mismatch is the driver's error to give


def test_one_pass_a_question_mark_inside_a_literal_is_not_a_placeholder() -> None:
    assert inline("SELECT ?, ?", ["a ? b", "c"]) == "SELECT 'a ? b', 'c'"


def _bound(wh: PostgresWarehouse, sql: str, params: list[object]) -> list[tuple[object, ...]]:
    cur = wh.con.cursor()
    try:
        cur.execute(_pg_sql(sql), tuple(params))
        return [tuple(row) for row in cur.fetchall()]
    finally:
        cur.close()
        wh.con.commit()


def test_inlined_reads_equal_bound_reads(pg_database: str) -> None:
    wh = open_warehouse(pg_database)
    assert isinstance(wh, PostgresWarehouse) and wh._inline_reads
    try:
        wh.execute(
            "CREATE TABLE t (s text, i bigint, f double precision, b boolean, d date, ts timestamptz, n text)"
        )
        at = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
        for index, text in enumerate(AWKWARD):
            wh.execute(
                "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [text, index, index / 7, index % 2 == 0, dt.date(2025, 11, 17), at],
            )
        for index, text in enumerate(AWKWARD):
            params: list[object] = [text, index, index / 7, index % 2 == 0, dt.date(2025, 11, 17), at]
            sql = "SELECT s, i, f, b, d, ts FROM t WHERE s = ? AND i = ? AND f = ? AND b = ? AND d = ? AND ts = ?"
            got = wh.query_arrow(sql, params).to_pylist()
            assert [tuple(row.values()) for row in got] == _bound(wh, sql, params), text
            assert len(got) == 1 and got[0]["s"] == text
        # NULL, an aware and a naive time, a negative number and a float's exact digits
        assert wh.query_arrow("SELECT ? IS NULL AS n", [None]).to_pylist() == [{"n": True}]
        assert wh.query_arrow("SELECT ?::text AS v", [0.1 + 0.2]).to_pylist() == [{"v": repr(0.1 + 0.2)}]
        assert wh.query_arrow("SELECT ? AS v", [-42]).to_pylist() == [{"v": -42}]
        naive = dt.datetime(2026, 1, 2, 3, 4, 5)
        assert wh.query_arrow("SELECT ?::timestamp AS v", [naive]).column("v").to_pylist() == [naive]
        # the table is still there: nothing in the values was run as SQL
        assert wh.scalar("SELECT count(*) FROM t") == len(AWKWARD)
    finally:
        wh.close()


def test_reads_are_fetched_by_binary_copy(pg_database: str) -> None:
    """What the change is for: with its parameters written in, a read goes through COPY (pg_stat_statements
    is not needed: the server's current query of the reading session shows it while the read runs)."""
    wh = open_warehouse(pg_database)
    assert isinstance(wh, PostgresWarehouse)
    try:
        marker = "copy-probe"
        rows = wh.query_arrow(
            "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid() AND ? <> ''", [marker]
        ).column("query")
        assert re.match(r"COPY \(SELECT query FROM pg_stat_activity", rows[0].as_py()), rows
        assert "'copy-probe'" in rows[0].as_py()
    finally:
        wh.close()


def test_no_inlining_without_standard_conforming_strings(pg_database: str) -> None:
    """Where backslashes escape inside '...', doubling quotes is not enough: such a server gets bound
    parameters only."""
    import psycopg2

    name = pg_database.rsplit("/", 1)[1]
    plain = pg_database.replace("postgresql+psycopg2://", "postgresql://")
    admin = psycopg2.connect(plain)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" SET standard_conforming_strings = off')
    admin.close()
    wh = open_warehouse(pg_database)
    assert isinstance(wh, PostgresWarehouse)
    try:
        assert not wh._inline_reads
        assert wh.query_arrow("SELECT ? AS v", ["back\\slash'"]).to_pylist() == [{"v": "back\\slash'"}]
    finally:
        wh.close()
