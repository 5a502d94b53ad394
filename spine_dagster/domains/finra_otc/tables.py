"""The ``finra_otc`` warehouse tables, their ``*_latest`` views, and the capture bookkeeping.

Capture semantics (DESIGN.md §7): every ingest of a (week, tier) is a capture with an id, a time and a
content hash. ``raw_weekly`` is append-only; each downstream table is rewritten per capture (delete +
insert in one transaction) and records in ``table_captures`` which capture it holds for a (week, tier).
A ``<table>_latest`` view shows, per (week, tier), the rows of the newest capture that table has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ...warehouse.base import Column, Table, Warehouse
from .layouts import RAW_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

SCHEMA = "finra_otc"


def _cols(spec: str) -> tuple[Column, ...]:
    columns = []
    for item in spec.split(","):
        name, kind = item.split()
        columns.append(Column(name, kind))  # type: ignore[arg-type]
    return tuple(columns)


_PARTITION = "week_start date, week_ending date, tier text"
_CAPTURE_LOOKUP = ("week_start", "tier", "capture_id")  # how steps find (and replace) a capture's rows
_CAPTURE = "capture_id text, captured_at timestamp"

CAPTURES = Table(
    f"{SCHEMA}.captures",
    _cols(
        f"{_CAPTURE}, {_PARTITION}, content_hash text, source_kind text, source text, raw_rows bigint, batch_id text"
    ),
    key=("capture_id",),
    description="One row per ingest of a (week, tier): the capture (vintage) registry.",
    index=("week_start", "tier"),
)
TABLE_CAPTURES = Table(
    f"{SCHEMA}.table_captures",
    _cols(
        f"table_name text, {_PARTITION}, {_CAPTURE}, row_count bigint, written_at timestamp, batch_id text"
    ),
    description="Which capture each table holds for a (week, tier); the *_latest views read it.",
    index=("table_name", "week_start", "tier"),
)
RAW_WEEKLY = Table(
    f"{SCHEMA}.raw_weekly",
    _cols(
        f"{_CAPTURE}, {_PARTITION}, source_file text, source_layout text, row_number bigint, content_hash text, "
        "raw text, " + ", ".join(f"src_{c} text" for c in RAW_COLUMNS)
    ),
    key=("capture_id", "source_file", "row_number"),
    description="Every source row of a capture, as text (append-only).",
    index=_CAPTURE_LOOKUP,
)
WEEKLY_VOLUME = Table(
    f"{SCHEMA}.weekly_volume",
    _cols(
        f"{_PARTITION}, summary_type text, venue_kind text, symbol text, issue_name text, mpid text, "
        "firm_crd text, participant_name text, venue text, product_type text, is_unattributed boolean, "
        f"shares double, trades bigint, notional double, last_update_date date, {_CAPTURE}, row_number bigint, "
        "source_file text"
    ),
    key=("week_start", "tier", "summary_type", "symbol", "venue", "product_type", "issue_name"),
    description="Accepted rows, typed: one per (week, tier, summary type, symbol, venue, product type, issue name).",
    index=_CAPTURE_LOOKUP,
)
REJECTS = Table(
    f"{SCHEMA}.rejects",
    _cols(
        f"{_PARTITION}, {_CAPTURE}, source_file text, row_number bigint, reason_code text, detail text, raw text"
    ),
    description="Source rows normalize refused, with the reason; nothing is dropped silently.",
    index=_CAPTURE_LOOKUP,
)
SYMBOL_WEEK = Table(
    f"{SCHEMA}.symbol_week",
    _cols(
        f"{_PARTITION}, symbol text, total_shares double, total_trades bigint, ats_shares double, "
        "non_ats_shares double, venue_count bigint, avg_trade_size double, hhi double, top_venue text, "
        f"top_venue_share double, {_CAPTURE}"
    ),
    key=("week_start", "tier", "symbol"),
    description="Per symbol and week, from the *_W_SMBL_FIRM rows: totals, ATS split, venue concentration.",
    index=_CAPTURE_LOOKUP,
)
VENUE_WEEK = Table(
    f"{SCHEMA}.venue_week",
    _cols(
        f"{_PARTITION}, venue text, venue_kind text, is_unattributed boolean, shares double, trades bigint, "
        f"symbol_count bigint, market_share double, rank bigint, {_CAPTURE}"
    ),
    key=("week_start", "tier", "venue"),
    description="Per venue (ATS MPID or non-ATS firm) and week: volume, market share of the tier, rank.",
    index=_CAPTURE_LOOKUP,
)
SYMBOL_ROLLING = Table(
    f"{SCHEMA}.symbol_rolling",
    _cols(
        f"{_PARTITION}, symbol text, window_weeks bigint, weeks_in_window bigint, is_complete boolean, "
        "avg_shares double, avg_trades double, min_shares double, max_shares double, trend_pct double, "
        f"trend text, {_CAPTURE}"
    ),
    key=("week_start", "tier", "symbol", "window_weeks"),
    description="Rolling metrics per symbol over the last window_weeks weeks (incomplete windows flagged).",
    index=_CAPTURE_LOOKUP,
)

DATA_TABLES = (RAW_WEEKLY, WEEKLY_VOLUME, REJECTS, SYMBOL_WEEK, VENUE_WEEK, SYMBOL_ROLLING)
ALL_TABLES = (CAPTURES, TABLE_CAPTURES, *DATA_TABLES)


def descriptions(*tables: Table) -> dict[str, str]:
    """What each table holds, for a pipeline's ``table_descriptions`` (the asset descriptions in the UI)."""
    return {
        table.name: f"{table.description} The `{table.name}_latest` view shows the newest capture of each "
        "(week, tier)."
        for table in tables
    }


def latest_view_sql(table: Table) -> str:
    """Rows of the newest capture the table holds for each (week, tier)."""
    short = table.name.split(".")[1]
    return (
        f"SELECT t.* FROM {table.name} t JOIN ("
        f"SELECT week_start, tier, capture_id FROM (SELECT week_start, tier, capture_id, ROW_NUMBER() OVER "
        f"(PARTITION BY week_start, tier ORDER BY captured_at DESC, written_at DESC) AS rn "
        f"FROM {TABLE_CAPTURES.name} WHERE table_name = '{short}') ranked WHERE rn = 1) latest "
        f"ON t.week_start = latest.week_start AND t.tier = latest.tier AND t.capture_id = latest.capture_id"
    )


def _ddl_signature(views: list[tuple[str, str]]) -> str:
    """A fingerprint of every table, index and view declaration (changes when any of them changes)."""
    import hashlib

    return (
        "spine-dagster finra_otc ddl " + hashlib.sha256(repr((ALL_TABLES, views)).encode()).hexdigest()[:16]
    )


def ensure_tables(warehouse: Warehouse) -> None:
    """Create the schema, tables and ``*_latest`` views if missing (safe to call from every step).

    On Postgres the DDL runs only when the schema does not carry the current declarations' fingerprint
    (a comment on the schema, set after a successful run): ``CREATE INDEX IF NOT EXISTS`` and ``CREATE
    OR REPLACE VIEW`` lock their tables even when nothing changes, and with several steps writing at once
    (Celery workers) one step's DDL and another's inserts deadlocked (bench/scale.py, 2 workers). A
    lock-free catalog read now tells that the schema is current. (An index dropped by hand is not
    recreated until the declarations change; ``COMMENT ON SCHEMA finra_otc IS NULL`` forces the DDL.)
    """
    views = [(f"{t.name}_latest", latest_view_sql(t)) for t in DATA_TABLES]
    if warehouse.dialect != "postgres":
        warehouse.ensure_tables(ALL_TABLES, views)
        return
    signature = _ddl_signature(views)
    current = warehouse.scalar(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = ?", [SCHEMA]
    )
    if current == signature:
        return
    warehouse.ensure_tables(ALL_TABLES, views)
    warehouse.execute(f"COMMENT ON SCHEMA {SCHEMA} IS '{signature}'")


def record_table_capture(
    warehouse: Warehouse,
    table: Table,
    week_start: dt.date,
    tier: str,
    capture: dict[str, Any],
    row_count: int,
    batch_id: str,
) -> None:
    """Note that ``table`` now holds ``capture`` for (week, tier) (inside the caller's transaction)."""
    import pandas as pd

    short = table.name.split(".")[1]
    warehouse.execute(
        f"DELETE FROM {TABLE_CAPTURES.name} WHERE table_name = ? AND capture_id = ? AND week_start = ? AND tier = ?",
        (short, capture["capture_id"], week_start, tier),
    )
    frame = pd.DataFrame(
        [
            {
                "table_name": short,
                "week_start": week_start,
                "week_ending": week_start + dt.timedelta(days=4),
                "tier": tier,
                "capture_id": capture["capture_id"],
                "captured_at": capture["captured_at"],
                "row_count": row_count,
                "written_at": dt.datetime.now(dt.UTC),
                "batch_id": batch_id,
            }
        ]
    )
    warehouse.insert_df(TABLE_CAPTURES, frame)


_CAPTURE_ROWS = "WHERE capture_id = ? AND week_start = ? AND tier = ?"


def _replace(
    warehouse: Warehouse, table: Table, week_start: dt.date, tier: str, capture: dict[str, Any],
    batch_id: str, write: Callable[[], int],
) -> int:  # fmt: skip
    """Delete ``table``'s rows of the capture, ``write`` them again (returns the count), and record it."""
    warehouse.execute(f"DELETE FROM {table.name} {_CAPTURE_ROWS}", (capture["capture_id"], week_start, tier))
    written = write()
    record_table_capture(warehouse, table, week_start, tier, capture, written, batch_id)
    return written


def replace_capture_rows(
    warehouse: Warehouse, table: Table, frame: pd.DataFrame | pa.Table, week_start: dt.date, tier: str,
    capture: dict[str, Any], batch_id: str,
) -> int:  # fmt: skip
    """Rewrite ``table``'s rows of one capture (delete + insert) and record it; the caller holds a transaction."""
    return _replace(
        warehouse, table, week_start, tier, capture, batch_id, lambda: warehouse.insert_df(table, frame)
    )


def replace_capture_rows_by_sql(
    warehouse: Warehouse, table: Table, insert_sql: str, params: Sequence[Any], week_start: dt.date,
    tier: str, capture: dict[str, Any], batch_id: str,
) -> int:  # fmt: skip
    """Like :func:`replace_capture_rows`, with the rows made inside the warehouse by ``insert_sql``."""

    def write() -> int:
        warehouse.execute(insert_sql, params)
        count = f"SELECT COUNT(*) FROM {table.name} {_CAPTURE_ROWS}"
        return int(warehouse.scalar(count, (capture["capture_id"], week_start, tier)))

    return _replace(warehouse, table, week_start, tier, capture, batch_id, write)


def latest_capture(
    warehouse: Warehouse, table: Table, week_start: dt.date, tier: str, capture_id: str | None = None
) -> dict[str, Any] | None:
    """The newest capture ``table`` holds for (week, tier) (or the given one): its id and time."""
    import pandas as pd

    short = table.name.split(".")[1]
    sql = (
        f"SELECT capture_id, captured_at FROM {TABLE_CAPTURES.name} WHERE table_name = ? AND week_start = ? "
        "AND tier = ?"
    )
    params: list[Any] = [short, week_start, tier]
    if capture_id is not None:
        sql += " AND capture_id = ?"
        params.append(capture_id)
    frame = warehouse.query_df(sql + " ORDER BY captured_at DESC, written_at DESC LIMIT 1", params)
    if frame.empty:
        return None
    row = frame.iloc[0]
    return {"capture_id": row["capture_id"], "captured_at": pd.Timestamp(row["captured_at"]).to_pydatetime()}
