"""Rolling metrics (pandas; the same code for both warehouse backends). Weekly aggregates: aggregates.py."""

from __future__ import annotations

import datetime as dt

import pandas as pd


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
    """``UP`` above +5 %, ``DOWN`` below -5 %, ``FLAT`` in between."""
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
