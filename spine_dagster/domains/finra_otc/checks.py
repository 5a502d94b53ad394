"""Data-quality checks on the finra_otc tables (Dagster asset checks; also evaluated by each step).

Inside a step (``scope.kind == "step"``) a check looks at the step's (week, tier); run alone from the UI
(``scope.kind == "table"``) it looks at every (week, tier) in the ``*_latest`` views. Each returns the
numbers it looked at as metadata.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ...pipelines.base import CheckOutcome, QualityCheck
from ...pipelines.context import CheckContext
from ...warehouse.base import Table, Warehouse
from . import tables as t
from .params import WeekParams

_MAX_LISTED = 10


def _week(ctx: CheckContext) -> WeekParams:
    """The step's (week, tier). Its params were validated against its pipeline's model before it ran, so
    they name both; a ValidationError here is a bug and is raised."""
    params = ctx.scope.params
    fields = {k: params[k] for k in ("week_start", "week_ending", "tier") if params.get(k) is not None}
    return WeekParams.model_validate(fields)


def _rows(ctx: CheckContext, table: Table) -> tuple[str, str, list[Any]]:
    """What a check reads of ``table``: a FROM, a WHERE clause and its params.

    Run alone over the table: its ``*_latest`` view, every (week, tier). In a step (or for one partition):
    the rows of the capture the table holds for the step's (week, tier), which are what the view shows for
    it, read from the table through its capture index. Postgres plans the view's join badly for a week it
    has no statistics for yet, that is for every week a step has just written: it re-ran the view's
    capture ranking for each row (0.33 s to count a Tier 2 week's 170,000 rows, 0.06 s this way).
    """
    if ctx.scope.whole_table:
        return f"{table.name}_latest", "1 = 1", []
    week = _week(ctx)
    capture = t.latest_capture(ctx.warehouse, table, week.monday, week.tier)
    if capture is None:  # the table holds nothing for it: neither does the view
        return f"{table.name}_latest", "week_start = ? AND tier = ?", [week.monday, week.tier]
    return table.name, "week_start = ? AND tier = ? AND capture_id = ?", [
        week.monday, week.tier, capture["capture_id"],
    ]  # fmt: skip


def _param(ctx: CheckContext, name: str, default: float) -> float:
    """A threshold param of the step (its pipeline's default when the check runs alone)."""
    try:
        return float(ctx.scope.params.get(name, default))
    except (TypeError, ValueError):
        return default


def raw_not_empty(ctx: CheckContext) -> CheckOutcome:
    source, where, params = _rows(ctx, t.RAW_WEEKLY)
    frame = ctx.warehouse.query_df(
        f"SELECT week_start, tier, COUNT(*) AS n FROM {source} WHERE {where} GROUP BY week_start, tier",
        params,
    )
    rows = int(frame["n"].sum()) if len(frame) else 0
    if params and rows == 0:
        return CheckOutcome(False, f"no raw rows for week {params[0]} {params[1]}", {"raw_rows": 0})
    return CheckOutcome(
        rows > 0,
        f"{rows} raw rows in {len(frame)} partition(s)",
        {"raw_rows": rows, "partitions": len(frame)},
    )


def unique_natural_keys(ctx: CheckContext) -> CheckOutcome:
    """No natural key twice. Rows are grouped by a hash of their key first, with the total as a ROLLUP row,
    in one pass; only keys whose hash is shared are then compared exactly. Grouping a Tier 2 week by its
    seven text columns took 0.75 s on Postgres, by the hash 0.27 s (bench/RESULTS.md §6)."""
    import pandas as pd

    source, where, params = _rows(ctx, t.WEEKLY_VOLUME)
    wh = ctx.warehouse
    key = ", ".join(t.WEEKLY_VOLUME.key)
    digest = wh.hash_sql(t.WEEKLY_VOLUME.key)
    hashes = wh.query_df(
        f"SELECT GROUPING(h) AS is_total, COUNT(*) AS n FROM (SELECT {digest} AS h FROM {source} WHERE {where}) k "
        "GROUP BY ROLLUP (h) HAVING COUNT(*) > 1 OR GROUPING(h) = 1",
        params,
    )
    totals = hashes[hashes["is_total"] == 1]["n"]
    total = int(totals.iloc[0]) if len(totals) else 0
    if (hashes["is_total"] == 0).any():
        dupes = wh.query_df(
            f"SELECT {key}, COUNT(*) AS copies FROM {source} WHERE {where} AND {digest} IN "
            f"(SELECT {digest} FROM {source} WHERE {where} GROUP BY 1 HAVING COUNT(*) > 1) "
            f"GROUP BY {key} HAVING COUNT(*) > 1 ORDER BY {key}",
            [*params, *params],
        )
    else:
        dupes = pd.DataFrame(columns=[*t.WEEKLY_VOLUME.key, "copies"])
    sample = dupes.head(_MAX_LISTED).astype(str).to_dict("records")
    return CheckOutcome(
        dupes.empty,
        "no duplicate keys" if dupes.empty else f"{len(dupes)} key(s) appear more than once",
        {
            "rows_checked": total,
            "duplicate_keys": len(dupes),
            "examples": sample,
            "key": list(t.WEEKLY_VOLUME.key),
        },
    )


_FIRM_TYPES = "('ATS_W_SMBL_FIRM', 'OTC_W_SMBL_FIRM')"
_TOTAL_TYPES = "('ATS_W_SMBL', 'OTC_W_SMBL')"
_SYMBOL_TYPES = "('ATS_W_SMBL_FIRM', 'OTC_W_SMBL_FIRM', 'ATS_W_SMBL', 'OTC_W_SMBL')"
# A (week, tier, ATS/OTC, symbol) whose firm rows and total rows are both there, and do not agree: share
# sums that differ by half a millionth or more (what rounds to a difference at 6 decimals: the sums of
# fractional shares carry float error), or trade counts that differ at all.
_MISMATCH = (
    "total_rows > 0 AND firm_rows > 0 AND "
    "(ABS(firm_shares - total_shares) >= 0.0000005 OR ABS(firm_trades - total_trades) > 0)"
)


def _smbl_sums_sql(wh: Warehouse, source: str, where: str) -> str:
    """Per (week, tier, ATS/OTC, symbol): the firm rows' and the total rows' sums, and how many of each.

    Grouped by a hash of the symbol first (the same groups: the hash is a function of the symbol), so
    Postgres sorts integers instead of comparing text: 0.29 s instead of 0.50 s for a Tier 2 week.
    """

    def total(column: str, types: str) -> str:
        return f"COALESCE(SUM(CASE WHEN summary_type IN {types} THEN {column} END), 0)"

    return (
        f"SELECT week_start, tier, substr(summary_type, 1, 3) AS kind, symbol, "
        f"{total('shares', _FIRM_TYPES)} AS firm_shares, {total('shares', _TOTAL_TYPES)} AS total_shares, "
        f"{total('trades', _FIRM_TYPES)} AS firm_trades, {total('trades', _TOTAL_TYPES)} AS total_trades, "
        f"COUNT(CASE WHEN summary_type IN {_FIRM_TYPES} THEN 1 END) AS firm_rows, "
        f"COUNT(CASE WHEN summary_type IN {_TOTAL_TYPES} THEN 1 END) AS total_rows "
        f"FROM {source} WHERE {where} AND summary_type IN {_SYMBOL_TYPES} "
        f"GROUP BY {wh.hash_sql(['symbol'])}, week_start, tier, substr(summary_type, 1, 3), symbol"
    )


def smbl_reconciliation(ctx: CheckContext) -> CheckOutcome:
    """``*_W_SMBL_FIRM`` rows sum to the matching ``*_W_SMBL`` total, where the source carries both.

    Summed in the warehouse, which returns only the counts and the first mismatches: pulling a year's symbol
    rows into pandas took 48 s over the whole table (1.8 s this way) and 0.3-2.3 s per (week, tier).
    """
    source, where, params = _rows(ctx, t.WEEKLY_VOLUME)
    sums = _smbl_sums_sql(ctx.warehouse, source, where)
    counts = ctx.warehouse.query_df(
        "SELECT COUNT(*) AS keys, COUNT(CASE WHEN total_rows > 0 THEN 1 END) AS with_totals, "
        "COUNT(CASE WHEN total_rows > 0 AND firm_rows > 0 THEN 1 END) AS compared, "
        f"COUNT(CASE WHEN {_MISMATCH} THEN 1 END) AS mismatches FROM ({sums}) sums",
        params,
    ).iloc[0]
    if int(counts["keys"]) == 0:
        return CheckOutcome(True, "no symbol rows", {"symbols_compared": 0})
    if int(counts["with_totals"]) == 0:
        return CheckOutcome(True, "the source has no *_W_SMBL totals to reconcile", {"symbols_compared": 0})
    mismatches = int(counts["mismatches"])
    examples = []
    if mismatches:
        listed = ctx.warehouse.query_df(
            f"SELECT week_start, tier, kind, symbol, firm_shares, total_shares FROM ({sums}) sums "
            f"WHERE {_MISMATCH} ORDER BY week_start, tier, kind, symbol NULLS LAST LIMIT {_MAX_LISTED}",
            params,
        )
        examples = [
            {
                "key": "|".join(map(str, (r.week_start, r.tier, r.kind, r.symbol))),
                "firm_shares": float(r.firm_shares),
                "total_shares": float(r.total_shares),
            }
            for r in listed.itertuples()
        ]
    return CheckOutcome(
        mismatches == 0,
        "SMBL_FIRM rows sum to the SMBL totals"
        if mismatches == 0
        else f"{mismatches} symbol total(s) differ from their firm rows",
        {"symbols_compared": int(counts["compared"]), "mismatches": mismatches, "examples": examples},
    )


def reject_rate(ctx: CheckContext) -> CheckOutcome:
    threshold = _param(ctx, "max_reject_rate", 0.01)
    source, where, params = _rows(ctx, t.REJECTS)
    reasons = ctx.warehouse.query_df(
        f"SELECT reason_code, COUNT(*) AS n FROM {source} WHERE {where} GROUP BY reason_code", params
    )
    rejected = int(reasons["n"].sum()) if len(reasons) else 0
    source, where, params = _rows(ctx, t.WEEKLY_VOLUME)
    accepted = int(ctx.warehouse.scalar(f"SELECT COUNT(*) FROM {source} WHERE {where}", params) or 0)
    rate = rejected / (rejected + accepted) if rejected + accepted else 0.0
    return CheckOutcome(
        rate <= threshold,
        f"reject rate {rate:.4%} (threshold {threshold:.2%})",
        {
            "rejected": rejected,
            "accepted": accepted,
            "reject_rate": round(rate, 6),
            "threshold": threshold,
            "by_reason": {str(r.reason_code): int(r.n) for r in reasons.itertuples()},
        },
    )


def market_share_sum(ctx: CheckContext) -> CheckOutcome:
    source, where, params = _rows(ctx, t.VENUE_WEEK)
    frame = ctx.warehouse.query_df(
        f"SELECT week_start, tier, SUM(market_share) AS total FROM {source} WHERE {where} "
        "GROUP BY week_start, tier",
        params,
    )
    off = frame[(frame["total"] - 1.0).abs() > 1e-9]
    return CheckOutcome(
        off.empty,
        "venue shares sum to 1 in every (week, tier)"
        if off.empty
        else f"{len(off)} (week, tier) do not sum to 1",
        {
            "partitions": len(frame),
            "max_deviation": float((frame["total"] - 1.0).abs().max()) if len(frame) else 0.0,
            "off": off.astype(str).head(_MAX_LISTED).to_dict("records"),
        },
    )


def hhi_range(ctx: CheckContext) -> CheckOutcome:
    source, where, params = _rows(ctx, t.SYMBOL_WEEK)
    frame = ctx.warehouse.query_df(f"SELECT symbol, hhi, total_shares FROM {source} WHERE {where}", params)
    traded = frame[frame["total_shares"] > 0]
    bad = traded[traded["hhi"].isna() | (traded["hhi"] < 0) | (traded["hhi"] > 1 + 1e-12)]
    return CheckOutcome(
        bad.empty,
        "every HHI is in [0, 1]" if bad.empty else f"{len(bad)} HHI value(s) outside [0, 1]",
        {
            "symbols": len(traded),
            "min_hhi": float(traded["hhi"].min()) if len(traded) else None,
            "max_hhi": float(traded["hhi"].max()) if len(traded) else None,
            "examples": bad.head(_MAX_LISTED).astype(str).to_dict("records"),
        },
    )


def volume_anomaly(ctx: CheckContext) -> CheckOutcome:
    """Symbols whose week volume is more than ``anomaly_z`` standard deviations from their window history."""
    import pandas as pd

    source, where, params = _rows(ctx, t.SYMBOL_ROLLING)
    limit = _param(ctx, "anomaly_z", 4.0)
    window = int(_param(ctx, "window_weeks", 6))
    targets = ctx.warehouse.query_df(f"SELECT DISTINCT week_start, tier FROM {source} WHERE {where}", params)
    flagged: list[dict[str, Any]] = []
    compared = 0
    for target in targets.itertuples():
        week = pd.Timestamp(target.week_start).date()
        first = week - dt.timedelta(weeks=window - 1)
        history = ctx.warehouse.query_df(
            f"SELECT week_start, symbol, total_shares FROM {t.SYMBOL_WEEK.name}_latest "
            "WHERE tier = ? AND week_start >= ? AND week_start <= ?",
            [target.tier, first, week],
        )
        history["week"] = pd.to_datetime(history["week_start"]).dt.date
        past = history[history["week"] < week].groupby("symbol")["total_shares"].agg(["mean", "std", "count"])
        now = history[history["week"] == week].set_index("symbol")["total_shares"]
        joined = past[(past["count"] >= 3) & (past["std"] > 0)].join(now.rename("now"), how="inner")
        compared += len(joined)
        joined["z"] = (joined["now"] - joined["mean"]) / joined["std"]
        for symbol, row in (
            joined[joined["z"].abs() > limit].sort_values("z", key=abs, ascending=False).iterrows()
        ):
            flagged.append(
                {
                    "week_start": str(week),
                    "tier": target.tier,
                    "symbol": symbol,
                    "z": round(float(row["z"]), 2),
                }
            )
    return CheckOutcome(
        not flagged,
        "no volume anomalies" if not flagged else f"{len(flagged)} symbol(s) with |z| > {limit:g}",
        {
            "symbols_compared": compared,
            "anomalies": len(flagged),
            "examples": flagged[:_MAX_LISTED],
            "z_limit": limit,
        },
    )


RAW_NOT_EMPTY = QualityCheck(
    "raw_not_empty",
    t.RAW_WEEKLY.name,
    "The capture has raw rows for the requested (week, tier); run alone: every (week, tier) has raw rows.",
    raw_not_empty,
    "error",
    True,
)
UNIQUE_KEYS = QualityCheck(
    "unique_natural_keys",
    t.WEEKLY_VOLUME.name,
    "No natural key appears twice in a capture; run alone: in any (week, tier) of the latest view.",
    unique_natural_keys,
    "error",
    True,
)
SMBL_RECONCILIATION = QualityCheck(
    "smbl_reconciliation", t.WEEKLY_VOLUME.name,
    "*_W_SMBL_FIRM rows sum exactly to the *_W_SMBL totals (when the source carries both).",
    smbl_reconciliation, "error", True,
)  # fmt: skip
REJECT_RATE = QualityCheck(
    "reject_rate",
    t.REJECTS.name,
    "Rejected rows stay under max_reject_rate (default 1%).",
    reject_rate,
    "warn",
    False,
)
MARKET_SHARE_SUM = QualityCheck(
    "market_share_sum",
    t.VENUE_WEEK.name,
    "Venue market shares sum to 1 ± 1e-9 per (week, tier).",
    market_share_sum,
    "error",
    True,
)
HHI_RANGE = QualityCheck(
    "hhi_range", t.SYMBOL_WEEK.name, "Every symbol's HHI is within [0, 1].", hhi_range, "error", True
)
VOLUME_ANOMALY = QualityCheck(
    "volume_anomaly", t.SYMBOL_ROLLING.name,
    "Symbol volume within anomaly_z (default 4) standard deviations of its rolling history.",
    volume_anomaly, "warn", False,
)  # fmt: skip
