"""Weekly aggregates computed inside the warehouse: exact values on hand-made rows, on both backends."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from spine_dagster.domains.finra_otc import tables as t
from spine_dagster.domains.finra_otc.aggregates import symbol_week_sql, venue_week_sql
from spine_dagster.warehouse import open_warehouse
from spine_dagster.warehouse.base import arrow_for

WEEK = dt.date(2025, 12, 22)
CAPTURE = {
    "capture_id": "finra_otc:2025-12-22|NMS_TIER_1:x",
    "captured_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
}


def _row(summary: str, symbol: str | None, venue: str | None, kind: str, shares: float, trades: int,
         unattributed: bool = False, capture: dict | None = None) -> dict:  # fmt: skip
    capture = capture or CAPTURE
    return {
        "week_start": WEEK, "week_ending": WEEK + dt.timedelta(days=4), "tier": "NMS_TIER_1",
        "summary_type": summary, "venue_kind": kind, "symbol": symbol, "issue_name": None, "mpid": None,
        "firm_crd": None, "participant_name": None, "venue": venue, "product_type": None,
        "is_unattributed": unattributed, "shares": shares, "trades": trades, "notional": None,
        "last_update_date": None, "capture_id": capture["capture_id"], "captured_at": capture["captured_at"],
        "row_number": 2, "source_file": "f.psv",
    }  # fmt: skip


ROWS = [
    # AAA: two venues tied at 300 shares (the top venue is the first name: "Beta" < "alpha" in code points)
    _row("ATS_W_SMBL_FIRM", "AAA", "alpha", "ATS", 300, 3),
    _row("OTC_W_SMBL_FIRM", "AAA", "Beta", "NON_ATS", 300, 2),
    _row("ATS_W_SMBL_FIRM", "AAA", "alpha", "ATS", 100, 1),  # same venue again: its shares add up
    _row("ATS_W_SMBL", "AAA", None, "ATS", 400, 4),  # a total row: never summed
    # ZZZ: no volume and no trades: HHI, shares of the top venue and average trade size are NULL
    _row("OTC_W_SMBL_FIRM", "ZZZ", "De Minimis Firms", "NON_ATS", 0, 0, unattributed=True),
    _row("OTC_W_FIRM", None, "Beta", "NON_ATS", 999, 9),  # firm totals: not firm-level symbol rows
]


def test_symbol_and_venue_week_exact(warehouse_url: str) -> None:
    wh = open_warehouse(warehouse_url)
    try:
        t.ensure_tables(wh)
        other = {"capture_id": "another", "captured_at": CAPTURE["captured_at"]}
        wh.insert_df(
            t.WEEKLY_VOLUME,
            pd.DataFrame([*ROWS, _row("ATS_W_SMBL_FIRM", "AAA", "x", "ATS", 5, 5, capture=other)]),
        )
        key = [CAPTURE["capture_id"], WEEK, "NMS_TIER_1"]
        with wh.transaction():
            symbols = t.replace_capture_rows_by_sql(
                wh, t.SYMBOL_WEEK, symbol_week_sql(wh.dialect), key, WEEK, "NMS_TIER_1", CAPTURE, "b"
            )
            venues = t.replace_capture_rows_by_sql(
                wh, t.VENUE_WEEK, venue_week_sql(wh.dialect), key, WEEK, "NMS_TIER_1", CAPTURE, "b"
            )
        assert (symbols, venues) == (2, 3)
        with wh.transaction():  # a re-run replaces, never duplicates
            again = t.replace_capture_rows_by_sql(
                wh, t.SYMBOL_WEEK, symbol_week_sql(wh.dialect), key, WEEK, "NMS_TIER_1", CAPTURE, "b"
            )
        assert again == 2 and wh.scalar(f"SELECT COUNT(*) FROM {t.SYMBOL_WEEK.name}") == 2

        got = wh.query_df(f"SELECT * FROM {t.SYMBOL_WEEK.name} ORDER BY symbol").set_index("symbol")
        aaa = got.loc["AAA"]
        assert (aaa["total_shares"], aaa["total_trades"], aaa["ats_shares"], aaa["non_ats_shares"]) == (
            700,
            6,
            400,
            300,
        )
        assert aaa["venue_count"] == 2 and aaa["top_venue"] == "alpha"  # alpha 400 > Beta 300
        assert math.isclose(aaa["hhi"], (4 / 7) ** 2 + (3 / 7) ** 2, rel_tol=1e-15)
        assert math.isclose(aaa["top_venue_share"], 4 / 7, rel_tol=1e-15)
        assert math.isclose(aaa["avg_trade_size"], 700 / 6, rel_tol=1e-15)
        zzz = got.loc["ZZZ"]
        assert pd.isna(zzz["hhi"]) and pd.isna(zzz["top_venue_share"]) and pd.isna(zzz["avg_trade_size"])
        assert zzz["top_venue"] == "De Minimis Firms"
        assert pd.Timestamp(aaa["captured_at"]) == pd.Timestamp(CAPTURE["captured_at"])

        venue = wh.query_df(f"SELECT * FROM {t.VENUE_WEEK.name} ORDER BY rank").set_index("venue")
        assert venue.index.tolist() == ["alpha", "Beta", "De Minimis Firms"]
        assert venue["shares"].tolist() == [400, 300, 0]
        assert venue["symbol_count"].tolist() == [1, 1, 1]
        assert venue["is_unattributed"].astype(bool).tolist() == [False, False, True]
        assert venue["market_share"].tolist()[:2] == [400 / 700, 300 / 700]
    finally:
        wh.close()


def test_ties_rank_by_venue_name_in_code_point_order(warehouse_url: str) -> None:
    wh = open_warehouse(warehouse_url)
    try:
        t.ensure_tables(wh)
        rows = [_row("ATS_W_SMBL_FIRM", "AAA", name, "ATS", 100, 1) for name in ("b", "B", "a", "_x")]
        wh.insert_df(t.WEEKLY_VOLUME, pd.DataFrame(rows))
        key = [CAPTURE["capture_id"], WEEK, "NMS_TIER_1"]
        with wh.transaction():
            t.replace_capture_rows_by_sql(
                wh, t.SYMBOL_WEEK, symbol_week_sql(wh.dialect), key, WEEK, "NMS_TIER_1", CAPTURE, "b"
            )
            t.replace_capture_rows_by_sql(
                wh, t.VENUE_WEEK, venue_week_sql(wh.dialect), key, WEEK, "NMS_TIER_1", CAPTURE, "b"
            )
        ranked = wh.query_df(f"SELECT venue FROM {t.VENUE_WEEK.name} ORDER BY rank")["venue"].tolist()
        assert ranked == sorted(["b", "B", "a", "_x"])  # Python's order: B, _x, a, b
        assert wh.scalar(f"SELECT top_venue FROM {t.SYMBOL_WEEK.name}") == "B"
    finally:
        wh.close()


def test_in_memory_compute_matches_the_warehouse_sql(warehouse_url: str) -> None:
    """Postgres' aggregate step reads the firm-level rows once and runs the same queries in an in-memory
    DuckDB (aggregates.compute): the rows equal those of the INSERT ... SELECT on either backend."""
    from spine_dagster.domains.finra_otc.aggregates import FIRM_ROWS_SQL, compute

    wh = open_warehouse(warehouse_url)
    try:
        t.ensure_tables(wh)
        ties = [_row("ATS_W_SMBL_FIRM", "TIE", name, "ATS", 100, 1) for name in ("b", "B", "a", "_x")]
        wh.insert_df(t.WEEKLY_VOLUME, pd.DataFrame([*ROWS, *ties]))
        key = [CAPTURE["capture_id"], WEEK, "NMS_TIER_1"]
        with wh.transaction():
            t.replace_capture_rows_by_sql(
                wh, t.SYMBOL_WEEK, symbol_week_sql(wh.dialect), key, WEEK, "NMS_TIER_1", CAPTURE, "b"
            )
            t.replace_capture_rows_by_sql(
                wh, t.VENUE_WEEK, venue_week_sql(wh.dialect), key, WEEK, "NMS_TIER_1", CAPTURE, "b"
            )
        symbols, venues = compute(wh.query_arrow(FIRM_ROWS_SQL, key))
        for table, computed, order in ((t.SYMBOL_WEEK, symbols, "symbol"), (t.VENUE_WEEK, venues, "rank")):
            stored = arrow_for(table, wh.query_arrow(f"SELECT * FROM {table.name}"))
            # As insert_df writes them: cast to the declared types, in the table's column order.
            mine = arrow_for(table, computed)
            assert mine.sort_by(order).to_pylist() == stored.sort_by(order).to_pylist()
            assert mine.num_rows > 0
    finally:
        wh.close()
