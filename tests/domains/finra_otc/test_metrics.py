"""Trend and rolling rules (the numbers the FINRA group reports)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from spine_dagster.domains.finra_otc.metrics import rolling, trend_label, trend_pct


@pytest.mark.parametrize(
    ("shares", "pct", "label"),
    [
        ([100.0], 0.0, "FLAT"),
        ([100.0, 120.0], 20.0, "UP"),
        ([100.0, 94.0], -6.0, "DOWN"),
        ([100.0, 105.0], 5.0, "FLAT"),  # strictly greater than 5
        ([100.0, 100.0, 110.0], 5.0, "FLAT"),  # mean(100,110) vs mean(100,100)
        ([100.0, 120.0, 140.0, 160.0], 36.36, "UP"),  # (150 - 110) / 110
        ([0.0, 0.0, 50.0], 0.0, "FLAT"),  # base 0
        ([], 0.0, "FLAT"),
    ],
)
def test_trend(shares: list[float], pct: float, label: str) -> None:
    assert trend_pct(shares) == pct
    assert trend_label(trend_pct(shares)) == label


def test_rolling_window_counts_present_weeks_and_flags_incomplete() -> None:
    week = dt.date(2025, 12, 22)
    rows = []
    for back, shares in enumerate(
        [600.0, 500.0, 400.0, 300.0, 200.0, 100.0, 999.0]
    ):  # 7 weeks; the 7th is outside
        rows.append(
            {
                "week_start": week - dt.timedelta(weeks=back),
                "symbol": "AAA",
                "total_shares": shares,
                "total_trades": 10,
            }
        )
    rows.append({"week_start": week, "symbol": "BBB", "total_shares": 50.0, "total_trades": 5})
    rows.append(
        {"week_start": week - dt.timedelta(weeks=1), "symbol": "CCC", "total_shares": 70.0, "total_trades": 7}
    )
    out = rolling(pd.DataFrame(rows), week, 6).set_index("symbol")
    assert sorted(out.index) == ["AAA", "BBB"]  # CCC has no row in the target week
    aaa = out.loc["AAA"]
    assert (aaa["weeks_in_window"], aaa["is_complete"], aaa["avg_shares"]) == (6, True, 350.0)
    assert (aaa["min_shares"], aaa["max_shares"]) == (100.0, 600.0)
    assert aaa["trend_pct"] == round((550.0 - 150.0) / 150.0 * 100, 2) and aaa["trend"] == "UP"
    bbb = out.loc["BBB"]
    assert (bbb["weeks_in_window"], bbb["is_complete"], bbb["trend_pct"]) == (1, False, 0.0)


def test_vectorized_trend_equals_the_scalar_definition() -> None:
    """Every symbol's trend_pct from the vectorized path equals trend_pct() on its weeks (random windows
    of 1..6 present weeks, zero and fractional shares included)."""
    import random

    import pandas as pd

    from spine_dagster.domains.finra_otc.metrics import _trend_pcts, trend_pct

    rng = random.Random(7)
    rows = []
    for i in range(2000):
        weeks = sorted(rng.sample(range(6), rng.randint(1, 6)))
        for week in weeks:
            shares = rng.choice([0.0, 0.5, 1.0, 3.0, rng.uniform(0, 1e7), float(rng.randint(0, 10**9))])
            rows.append({"symbol": f"S{i:05d}", "week": week, "total_shares": shares})
    window = pd.DataFrame(rows).sort_values(["symbol", "week"], kind="mergesort")
    expected = {
        symbol: trend_pct([float(v) for v in group["total_shares"]])
        for symbol, group in window.groupby("symbol", sort=True)
    }
    got = _trend_pcts(window).to_dict()
    assert got == expected
