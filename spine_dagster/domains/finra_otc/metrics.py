"""Aggregates and rolling metrics (pandas; the same code for both warehouse backends).

Only ``*_W_SMBL_FIRM`` rows are summed: ``*_W_SMBL`` rows are their totals and would count volume twice.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

FIRM_LEVEL = ("ATS_W_SMBL_FIRM", "OTC_W_SMBL_FIRM")


def _top(frame: pd.DataFrame, group: str, value: str, label: str) -> pd.DataFrame:
    """Per group, the label with the largest value (ties: label ascending)."""
    ordered = frame.sort_values([group, value, label], ascending=[True, False, True], kind="mergesort")
    return ordered.drop_duplicates(group)[[group, label, value]]


def aggregate(volume: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """symbol_week and venue_week rows from one capture's weekly_volume rows (partition columns kept)."""
    rows = volume[volume["summary_type"].isin(FIRM_LEVEL)].copy()
    keep = ["week_start", "week_ending", "tier", "capture_id", "captured_at"]
    head = (
        {c: rows[c].iloc[0] for c in keep}
        if len(rows)
        else {c: volume[c].iloc[0] if len(volume) else None for c in keep}
    )
    rows["ats"] = np.where(rows["venue_kind"] == "ATS", rows["shares"], 0.0)
    rows["non_ats"] = np.where(rows["venue_kind"] == "ATS", 0.0, rows["shares"])

    by_venue = rows.groupby(["symbol", "venue"], as_index=False, sort=True)["shares"].sum()
    per_symbol = rows.groupby("symbol", sort=True).agg(
        total_shares=("shares", "sum"),
        total_trades=("trades", "sum"),
        ats_shares=("ats", "sum"),
        non_ats_shares=("non_ats", "sum"),
        venue_count=("venue", "nunique"),
    )
    totals = by_venue["symbol"].map(per_symbol["total_shares"])
    by_venue["share"] = np.where(totals > 0, by_venue["shares"] / totals.where(totals > 0, 1.0), np.nan)
    by_venue["share_sq"] = by_venue["share"] ** 2
    per_symbol["hhi"] = by_venue.groupby("symbol")["share_sq"].sum(min_count=1)
    top = _top(by_venue, "symbol", "shares", "venue").set_index("symbol")
    per_symbol["top_venue"] = top["venue"]
    per_symbol["top_venue_share"] = np.where(
        per_symbol["total_shares"] > 0,
        top["shares"] / per_symbol["total_shares"].where(per_symbol["total_shares"] > 0, 1),
        np.nan,
    )
    trades = per_symbol["total_trades"]
    per_symbol["avg_trade_size"] = np.where(
        trades > 0, per_symbol["total_shares"] / trades.where(trades > 0, 1), np.nan
    )
    per_symbol.loc[per_symbol["total_shares"] <= 0, "hhi"] = np.nan
    symbol_week = per_symbol.reset_index().assign(**head)
    symbol_week["total_trades"] = symbol_week["total_trades"].astype("int64")
    symbol_week["venue_count"] = symbol_week["venue_count"].astype("int64")

    per_venue = rows.groupby(["venue", "venue_kind"], as_index=False, sort=True).agg(
        shares=("shares", "sum"),
        trades=("trades", "sum"),
        symbol_count=("symbol", "nunique"),
        is_unattributed=("is_unattributed", "any"),
    )
    tier_total = per_venue["shares"].sum()
    per_venue["market_share"] = per_venue["shares"] / tier_total if tier_total > 0 else np.nan
    per_venue = per_venue.sort_values(["shares", "venue"], ascending=[False, True], kind="mergesort")
    per_venue["rank"] = np.arange(1, len(per_venue) + 1, dtype="int64")
    venue_week = per_venue.reset_index(drop=True).assign(**head)
    venue_week["trades"] = venue_week["trades"].astype("int64")
    venue_week["symbol_count"] = venue_week["symbol_count"].astype("int64")
    return symbol_week, venue_week


def trend_pct(shares_by_week: list[float]) -> float:
    """(mean of the last two present weeks - mean of the first two) / mean of the first two x 100, to 2
    decimals; with one or two weeks, the last week against the first; 0.0 when the base is 0."""
    if not shares_by_week:
        return 0.0
    if len(shares_by_week) <= 2:
        first, last = shares_by_week[0], shares_by_week[-1]
    else:
        first = (shares_by_week[0] + shares_by_week[1]) / 2
        last = (shares_by_week[-2] + shares_by_week[-1]) / 2
    if first == 0:
        return 0.0
    return round((last - first) / first * 100, 2)


def trend_label(pct: float) -> str:
    return "UP" if pct > 5 else ("DOWN" if pct < -5 else "FLAT")


def _trend_pcts(window: pd.DataFrame) -> pd.Series:
    """:func:`trend_pct` of every symbol at once (``window`` sorted by symbol, week): the same float
    operations in the same order, and Python's ``round`` on the result, so the values are identical."""
    shares = window["total_shares"].astype("float64")
    grouped = shares.groupby(window["symbol"], sort=True)
    position = grouped.cumcount()
    count = grouped.transform("size")
    from_end = count - 1 - position

    def pick(mask: pd.Series) -> pd.Series:
        return shares.where(mask).groupby(window["symbol"], sort=True).max()

    first, second, last, before_last = (
        pick(position == 0),
        pick(position == 1),
        pick(from_end == 0),
        pick(from_end == 1),
    )
    size = count.groupby(window["symbol"], sort=True).first()
    few = size <= 2
    base = first.where(few, (first + second) / 2)
    end = last.where(few, (before_last + last) / 2)
    raw = (end - base) / base.where(base != 0) * 100
    pcts = [0.0 if zero else round(float(v), 2) for zero, v in zip(base == 0, raw, strict=True)]
    return pd.Series(pcts, index=raw.index, dtype="float64")


def rolling(history: pd.DataFrame, week_start: dt.date, window_weeks: int) -> pd.DataFrame:
    """Rolling rows for the symbols present in ``week_start``, from symbol_week rows of the window
    (weeks ``week_start - (N-1)`` .. ``week_start``, one capture per week)."""
    first_week = week_start - dt.timedelta(weeks=window_weeks - 1)
    weeks = pd.to_datetime(history["week_start"]).dt.date
    window = history[(weeks >= first_week) & (weeks <= week_start)].copy()
    window["week"] = pd.to_datetime(window["week_start"]).dt.date
    current = window[window["week"] == week_start]
    window = window[window["symbol"].isin(current["symbol"])]
    window = window.sort_values(["symbol", "week"], kind="mergesort")
    grouped = window.groupby("symbol", sort=True)
    out = grouped.agg(
        weeks_in_window=("week", "nunique"),
        avg_shares=("total_shares", "mean"),
        avg_trades=("total_trades", "mean"),
        min_shares=("total_shares", "min"),
        max_shares=("total_shares", "max"),
    )
    out["trend_pct"] = _trend_pcts(window)
    out["trend"] = out["trend_pct"].map(trend_label)
    out["is_complete"] = out["weeks_in_window"] == window_weeks
    out["window_weeks"] = window_weeks
    out["avg_trades"] = out["avg_trades"].astype("float64")
    out["weeks_in_window"] = out["weeks_in_window"].astype("int64")
    return out.reset_index()
