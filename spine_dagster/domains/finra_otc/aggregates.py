"""symbol_week and venue_week of one capture (the same SQL on DuckDB and Postgres).

Only ``*_W_SMBL_FIRM`` rows are summed: ``*_W_SMBL`` rows are their totals and would count volume twice.
On DuckDB the rows never leave the database: one ``INSERT ... SELECT`` per table, over one capture's
weekly_volume rows. On Postgres the capture's firm-level rows are read once (binary COPY into Arrow), the
same two queries run over them in an in-memory DuckDB (:func:`compute`), and the results are written with
COPY, which takes the window queries over freshly written, unanalysed rows off the server. Measured
(bench/RESULTS.md section 3): not faster end to end on loopback (4.30 -> 2.74 s and 2.35 -> 2.42 s a
week in two noisy runs); the same rows either way (tests/domains/finra_otc/test_aggregates.py).

Definitions, per (week, tier) capture:

* symbol_week, per symbol: total/ATS/non-ATS shares, trades, distinct venues, average trade size
  (shares / trades, NULL without trades), HHI (sum of squared venue shares, NULL when the symbol has no
  positive volume), the top venue (most shares; ties: venue name ascending) and its share.
* venue_week, per (venue, venue kind): shares, trades, distinct symbols, whether it is the unattributed
  "De Minimis Firms" bucket, its market share of the tier's firm-level volume, and its rank (shares
  descending, venue name ascending).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import tables as t

if TYPE_CHECKING:
    import pyarrow as pa

FIRM_LEVEL = ("ATS_W_SMBL_FIRM", "OTC_W_SMBL_FIRM")
_PARTITION = "week_start, week_ending, tier, capture_id, captured_at"
# The partition columns are the same on every row of a capture: carried through with MIN(), not grouped
# by (wide sort keys made Postgres' sort-based grouping twice as slow).
_CARRY = ", ".join(f"MIN({c}) AS {c}" for c in _PARTITION.split(", "))

# The capture's firm-level rows; its three `?` are (capture_id, week_start, tier).
FIRM_ROWS_SQL = (
    f"SELECT {_PARTITION}, symbol, venue, venue_kind, shares, trades, is_unattributed "
    f"FROM {t.WEEKLY_VOLUME.name} WHERE capture_id = ? AND week_start = ? AND tier = ? "
    f"AND summary_type IN ({', '.join(repr(s) for s in FIRM_LEVEL)})"
)
_FIRM = "{firm}"  # the row source: the query above, or an in-memory table of its rows

# One pass, no join (a join of two aggregates let Postgres, without statistics on a freshly written table,
# pick a nested loop that recomputed the inner aggregate for every symbol): per (symbol, venue) sums, then
# per symbol, with the venue shares and the venue ranking as window functions over the venue rows.
_SYMBOL_COLUMNS = (
    f"{_PARTITION}, symbol, total_shares, total_trades, ats_shares, non_ats_shares, venue_count, "
    "avg_trade_size, hhi, top_venue, top_venue_share"
)
_SYMBOL_WEEK = f"""
SELECT {_PARTITION}, symbol, total_shares, total_trades, ats_shares, non_ats_shares, venue_count,
    CASE WHEN total_trades > 0 THEN total_shares / total_trades END AS avg_trade_size,
    CASE WHEN total_shares > 0 THEN hhi END AS hhi,
    top_venue,
    CASE WHEN total_shares > 0 THEN top_shares / total_shares END AS top_venue_share
FROM (
    SELECT {_CARRY}, symbol,
        CAST(SUM(shares) AS DOUBLE PRECISION) AS total_shares,
        CAST(SUM(trades) AS BIGINT) AS total_trades,
        CAST(SUM(ats_shares) AS DOUBLE PRECISION) AS ats_shares,
        CAST(SUM(non_ats_shares) AS DOUBLE PRECISION) AS non_ats_shares,
        CAST(COUNT(venue) AS BIGINT) AS venue_count,
        SUM(share * share) AS hhi,
        MAX(CASE WHEN place = 1 THEN venue END) AS top_venue,
        MAX(CASE WHEN place = 1 THEN shares END) AS top_shares
    FROM (
        SELECT by_venue.*,
            CASE WHEN venue IS NOT NULL AND SUM(shares) OVER (PARTITION BY symbol) > 0
                 THEN shares / SUM(shares) OVER (PARTITION BY symbol) END AS share,
            CASE WHEN venue IS NOT NULL THEN ROW_NUMBER() OVER (
                PARTITION BY symbol ORDER BY CASE WHEN venue IS NULL THEN 1 ELSE 0 END, shares DESC,
                venue{{collate}}) END AS place
        FROM (
            SELECT {_CARRY}, symbol, venue,
                CAST(SUM(shares) AS DOUBLE PRECISION) AS shares,
                SUM(trades) AS trades,
                SUM(CASE WHEN venue_kind = 'ATS' THEN shares ELSE 0 END) AS ats_shares,
                SUM(CASE WHEN venue_kind = 'ATS' THEN 0 ELSE shares END) AS non_ats_shares
            FROM {_FIRM} firm WHERE symbol IS NOT NULL GROUP BY symbol, venue
        ) by_venue
    ) ranked
    GROUP BY symbol
) per_symbol
"""

_VENUE_COLUMNS = (
    f"{_PARTITION}, venue, venue_kind, is_unattributed, shares, trades, symbol_count, market_share, rank"
)
_VENUE_WEEK = f"""
SELECT {_PARTITION}, venue, venue_kind, is_unattributed, shares, trades, symbol_count,
    CASE WHEN SUM(shares) OVER () > 0 THEN shares / SUM(shares) OVER () END AS market_share,
    ROW_NUMBER() OVER (ORDER BY shares DESC, venue{{collate}}) AS rank
FROM (
    SELECT {_CARRY}, venue, venue_kind, BOOL_OR(is_unattributed) AS is_unattributed,
        CAST(SUM(shares) AS DOUBLE PRECISION) AS shares, CAST(SUM(trades) AS BIGINT) AS trades,
        CAST(COUNT(DISTINCT symbol) AS BIGINT) AS symbol_count
    FROM {_FIRM} firm WHERE venue IS NOT NULL AND venue_kind IS NOT NULL
    GROUP BY venue, venue_kind
) per_venue
"""


def _render(template: str, dialect: str, firm: str) -> str:
    # Ties are broken by venue name in code point order (as Python sorts), whatever the database's locale.
    collate = ' COLLATE "C"' if dialect == "postgres" else ""
    return template.format(collate=collate, firm=firm)


def symbol_week_sql(dialect: str) -> str:
    """``INSERT ... SELECT`` of one capture's symbol_week rows; params: (capture_id, week_start, tier)."""
    select = _render(_SYMBOL_WEEK, dialect, f"({FIRM_ROWS_SQL})")
    return f"INSERT INTO {t.SYMBOL_WEEK.name} ({_SYMBOL_COLUMNS})\n{select}"


def venue_week_sql(dialect: str) -> str:
    """``INSERT ... SELECT`` of one capture's venue_week rows; params: (capture_id, week_start, tier)."""
    select = _render(_VENUE_WEEK, dialect, f"({FIRM_ROWS_SQL})")
    return f"INSERT INTO {t.VENUE_WEEK.name} ({_VENUE_COLUMNS})\n{select}"


def compute(firm: pa.Table) -> tuple[pa.Table, pa.Table]:
    """symbol_week and venue_week rows of one capture from its firm-level rows (the columns of
    :data:`FIRM_ROWS_SQL`), by the same queries in an in-memory DuckDB."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("firm_rows", firm)
        symbols = con.sql(_render(_SYMBOL_WEEK, "duckdb", "firm_rows")).to_arrow_table()
        venues = con.sql(_render(_VENUE_WEEK, "duckdb", "firm_rows")).to_arrow_table()
    return symbols, venues
