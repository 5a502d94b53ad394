"""Both warehouse backends behind one protocol: the same frames in, the same frames out."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from spine_dagster.errors import BadConfigError
from spine_dagster.warehouse import Column, Table, open_warehouse, quote_identifier, redact_url

TABLE = Table(
    "demo.things",
    (
        Column("name", "text"),
        Column("amount", "double"),
        Column("count", "bigint"),
        Column("day", "date"),
        Column("at", "timestamp"),
        Column("flag", "boolean"),
    ),
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["plain", "with, comma", 'quote "x"', "pipe | and\\backslash", "", None],
            "amount": [1.5, 20114433.905343, 1.4785138976572317e10, -0.0, np.nan, 3.0],
            "count": [1, 2, 3, 4, 5, 6],
            "day": [dt.date(2025, 12, 26)] * 6,
            "at": [dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)] * 6,
            "flag": [True, False, True, False, True, False],
        }
    )


def test_round_trip_and_transactions(warehouse_url: str) -> None:
    wh = open_warehouse(warehouse_url)
    try:
        wh.ensure_tables([TABLE], [("demo.things_view", "SELECT name, amount FROM demo.things WHERE flag")])
        wh.ensure_tables([TABLE])  # idempotent
        assert wh.insert_df(TABLE, _frame()) == 6
        back = wh.query_df("SELECT * FROM demo.things ORDER BY count")
        assert back["name"].tolist()[:5] == ["plain", "with, comma", 'quote "x"', "pipe | and\\backslash", ""]
        assert back["name"].isna().tolist()[5]  # NULL stays NULL, "" stays ""
        assert back["amount"].tolist()[:4] == [1.5, 20114433.905343, 1.4785138976572317e10, 0.0]
        assert np.isnan(back["amount"].tolist()[4])
        assert pd.Timestamp(back["at"].iloc[0]) == pd.Timestamp("2026-01-02 03:04:05.123456", tz="UTC")
        assert pd.Timestamp(back["day"].iloc[0]).date() == dt.date(2025, 12, 26)
        assert wh.scalar("SELECT COUNT(*) FROM demo.things_view") == 3
        assert wh.scalar("SELECT count FROM demo.things WHERE name = ?", ["with, comma"]) == 2
        with pytest.raises(RuntimeError), wh.transaction():
            wh.execute("DELETE FROM demo.things")
            raise RuntimeError("boom")
        assert wh.scalar("SELECT COUNT(*) FROM demo.things") == 6  # rolled back
        with wh.transaction():
            wh.execute("DELETE FROM demo.things WHERE count > ?", [3])
        assert wh.scalar("SELECT COUNT(*) FROM demo.things") == 3
    finally:
        wh.close()


def test_insert_requires_every_column(warehouse_url: str) -> None:
    wh = open_warehouse(warehouse_url)
    try:
        wh.ensure_tables([TABLE])
        with pytest.raises(ValueError, match=r"lacks columns \['flag'\]"):
            wh.insert_df(TABLE, _frame().drop(columns=["flag"]))
    finally:
        wh.close()


def test_identifiers_are_validated() -> None:
    assert quote_identifier("finra_otc.weekly_volume") == '"finra_otc"."weekly_volume"'
    for bad in ("x; DROP TABLE y", 'a"b', "Upper", "a.b.c d", ""):
        with pytest.raises(ValueError):
            quote_identifier(bad)


def test_urls() -> None:
    assert redact_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    with pytest.raises(BadConfigError, match="unsupported warehouse URL 'mysql://u:\\*\\*\\*@h/db'"):
        open_warehouse("mysql://u:secret@h/db")
    with pytest.raises(BadConfigError):
        open_warehouse("duckdb://")


def test_postgres_connection_error_hides_the_password() -> None:
    from spine_dagster.warehouse import WarehouseError

    with pytest.raises(WarehouseError) as info:
        open_warehouse("postgresql://nobody:hunter2@127.0.0.1:1/nowhere")
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


def test_duckdb_writes_row_groups_of_32768_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A capture-sized insert fills whole row groups of ROW_GROUP_SIZE rows (written as it inserts, not
    at the checkpoint: docs/warehouse.md), and the file reads back the same rows in a plain connection."""
    import duckdb

    from spine_dagster.warehouse.duckdb import ROW_GROUP_SIZE

    path = tmp_path / "rg.duckdb"
    table = Table("demo.numbers", (Column("n", "bigint"), Column("label", "text")))
    rows = 2 * ROW_GROUP_SIZE + 1000
    wh = open_warehouse(f"duckdb:///{path}")
    try:
        spill = wh.con.sql("SELECT current_setting('temp_directory')").fetchall()  # type: ignore[attr-defined]
        assert spill == [(f"{path}.tmp",)]  # next to the file, as duckdb.connect(path) puts it, not ./.tmp
        wh.ensure_tables([table])
        frame = pd.DataFrame({"n": range(rows), "label": [f"row {i}" for i in range(rows)]})
        with wh.transaction():
            assert wh.insert_df(table, frame) == rows
    finally:
        wh.close()
    with duckdb.connect(str(path), read_only=True) as con:
        groups = con.sql(
            "SELECT row_group_id, max(count) FROM pragma_storage_info('demo.numbers') "
            "WHERE column_name = 'n' GROUP BY ALL ORDER BY 1"
        ).fetchall()
        assert [count for _group, count in groups] == [ROW_GROUP_SIZE, ROW_GROUP_SIZE, 1000]
        total = con.sql("SELECT count(*), sum(n) FROM demo.numbers").fetchall()
        assert total == [(rows, rows * (rows - 1) // 2)]
