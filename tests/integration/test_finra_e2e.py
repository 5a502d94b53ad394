"""The FINRA weekly refresh end to end: files in FINRA's full-record layout -> `spine run` (real Dagster
instance) -> DuckDB or a real Postgres, checked against an independent computation in plain pandas over
the input files; re-runs, forced re-ingest, and the check results recorded on the assets."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from spine_dagster.domains.finra_otc.layouts import FULL_COLUMNS
from spine_dagster.warehouse import open_warehouse
from tests.integration.conftest import REPO

WEEKS = [dt.date(2025, 12, 8), dt.date(2025, 12, 15), dt.date(2025, 12, 22)]
TIERS = {"NMS_TIER_1": ("T1", "NMS Tier 1"), "NMS_TIER_2": ("T2", "NMS Tier 2"), "OTC": ("OTCE", "OTC")}
SYMBOLS = {
    "NMS_TIER_1": ["AAPL", "BRK.B", "NVDA", "SPY"],
    "NMS_TIER_2": ["AAOI", "ZVRA"],
    "OTC": ["AABB", "ECOX"],
}
ATS = {"UBSA": "UBSA UBS ATS", "INCR": "INCR INTELLIGENT CROSS LLC", "SGMT": "SGMT SIGMA X2"}
FIRMS = {"CITADEL SECURITIES LLC": "116797", "VIRTU AMERICAS LLC": "149823", "De Minimis Firms": "0"}


def _record(monday: dt.date, tier: str, **fields: str) -> dict[str, str]:
    tier_id, tier_desc = TIERS[tier]
    record = dict.fromkeys(FULL_COLUMNS, "")
    record.update(
        tierIdentifier=tier_id, tierDescription=tier_desc, weekStartDate=str(monday), summaryStartDate=str(monday),
        lastUpdateDate=str(monday + dt.timedelta(days=21)), initialPublishedDate=str(monday + dt.timedelta(days=21)),
        lastReportedDate=str(monday + dt.timedelta(days=4)), productTypeCode="UTP" if tier != "OTC" else "OTC",
    )  # fmt: skip
    record.update(fields)
    return record


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(round(float(value), 6))


def build_inputs(folder: Path, seed: int = 7) -> None:
    """Three weeks, three tiers, every summary type, fractional shares, de minimis, and defects in the last week."""
    rng = np.random.default_rng(seed)
    for monday in WEEKS:
        lines = []
        for tier, symbols in SYMBOLS.items():
            for kind, venues in (("ATS", ATS), ("OTC", FIRMS)):
                firm_totals: dict[str, list[float]] = {}
                for symbol in symbols:
                    rows = []
                    for venue in venues:
                        if rng.random() < 0.2:
                            continue  # absence is not zero: some venues do not trade the symbol
                        shares = float(rng.integers(1, 2_000_000))
                        if rng.random() < 0.3:
                            shares += round(float(rng.random()), 6)  # fractional shares exist
                        trades = int(max(1, shares // rng.integers(50, 400)))
                        rows.append((venue, shares, trades))
                        firm_totals.setdefault(venue, [0.0, 0])
                        firm_totals[venue][0] += shares
                        firm_totals[venue][1] += trades
                    for venue, shares, trades in rows:
                        venue_fields = (
                            {"MPID": venue, "marketParticipantName": ATS[venue]} if kind == "ATS"
                            else {"marketParticipantName": venue, "firmCRDNumber": FIRMS[venue]}
                        )  # fmt: skip
                        lines.append(_record(monday, tier, issueSymbolIdentifier=symbol, issueName=f"{symbol} Inc. Common Stock",
                                             summaryTypeCode=f"{kind}_W_SMBL_FIRM", totalWeeklyShareQuantity=_fmt(shares),
                                             totalWeeklyTradeCount=str(trades), **venue_fields))  # fmt: skip
                    if rows:
                        lines.append(_record(monday, tier, issueSymbolIdentifier=symbol, issueName=f"{symbol} Inc. Common Stock",
                                             summaryTypeCode=f"{kind}_W_SMBL", totalWeeklyShareQuantity=_fmt(sum(float(_fmt(r[1])) for r in rows)),
                                             totalWeeklyTradeCount=str(sum(r[2] for r in rows))))  # fmt: skip
                for venue, (shares, trades) in firm_totals.items():
                    venue_fields = (
                        {"MPID": venue, "marketParticipantName": ATS[venue]}
                        if kind == "ATS"
                        else {"marketParticipantName": venue, "firmCRDNumber": FIRMS[venue]}
                    )
                    lines.append(_record(monday, tier, summaryTypeCode=f"{kind}_W_FIRM", totalWeeklyShareQuantity=_fmt(shares),
                                         totalWeeklyTradeCount=str(trades), **venue_fields))  # fmt: skip
        lines.append(_record(monday, "NMS_TIER_1", tierIdentifier="NA", tierDescription="Not Applicable",
                             summaryTypeCode="ATS_W_VOL_STATS", totalWeeklyShareQuantity="123456789", totalWeeklyTradeCount="4567"))  # fmt: skip
        if monday == WEEKS[-1]:
            t1 = {
                "issueName": "X",
                "summaryTypeCode": "ATS_W_SMBL_FIRM",
                "MPID": "UBSA",
                "marketParticipantName": "UBSA UBS ATS",
            }
            lines += [
                _record(monday, "NMS_TIER_1", issueSymbolIdentifier="BAD$YM", totalWeeklyShareQuantity="100", totalWeeklyTradeCount="5", **t1),
                _record(monday, "NMS_TIER_1", issueSymbolIdentifier="BADV", totalWeeklyShareQuantity="-50000", totalWeeklyTradeCount="100", **t1),
                _record(monday, "NMS_TIER_1", issueSymbolIdentifier="ZERO", totalWeeklyShareQuantity="0", totalWeeklyTradeCount="0", **t1),
                _record(monday, "NMS_TIER_1", issueSymbolIdentifier="PARSE", totalWeeklyShareQuantity="12x", totalWeeklyTradeCount="1", **t1),
                _record(monday, "NMS_TIER_1", issueSymbolIdentifier="MPID", totalWeeklyShareQuantity="10", totalWeeklyTradeCount="1",
                        **{**t1, "MPID": "TOOLONG"}),
                _record(monday, "NMS_TIER_1", tierIdentifier="T9", tierDescription="NMS Tier 9", issueSymbolIdentifier="TIER",
                        totalWeeklyShareQuantity="10", totalWeeklyTradeCount="1", **t1),
            ]  # fmt: skip
        text = (
            "|".join(FULL_COLUMNS)
            + "\n"
            + "".join("|".join(r[c] for c in FULL_COLUMNS) + "\n" for r in lines)
        )
        (folder / f"finra_otc_weekly_{monday}_pub{monday + dt.timedelta(days=35):%Y%m%d}.psv").write_text(
            text
        )


# --- the independent computation (plain pandas over the input files; shares nothing with the package) ---


def expected_for(folder: Path, monday: dt.date, tier: str) -> dict[str, pd.DataFrame | dict]:
    frames = [pd.read_csv(p, sep="|", dtype=str, keep_default_na=False) for p in sorted(folder.glob("*.psv"))]
    data = pd.concat(frames, ignore_index=True)
    tier_id = TIERS[tier][0]
    rows = data[
        (data["weekStartDate"] == str(monday)) & (data["tierIdentifier"].isin([tier_id, "T9"]))
    ].copy()
    reasons = []
    for r in rows.itertuples():
        symbol = r.issueSymbolIdentifier.strip().upper()
        if r.tierIdentifier == "T9":
            reasons.append("INVALID_TIER")
        elif not re.fullmatch(r"[-+]?\d+(\.\d+)?", r.totalWeeklyShareQuantity):
            reasons.append("PARSE_ERROR")
        elif "_SMBL" in r.summaryTypeCode and not re.fullmatch(r"[A-Z][A-Z0-9.\-/]{0,19}", symbol):
            reasons.append("INVALID_SYMBOL")
        elif r.summaryTypeCode in ("ATS_W_SMBL_FIRM", "ATS_W_FIRM") and not re.fullmatch(
            r"[A-Z0-9]{4}", r.MPID
        ):
            reasons.append("INVALID_MPID")
        elif float(r.totalWeeklyShareQuantity) < 0 or int(r.totalWeeklyTradeCount) < 0:
            reasons.append("NEGATIVE_VOLUME")
        elif float(r.totalWeeklyShareQuantity) == 0 and int(r.totalWeeklyTradeCount) == 0:
            reasons.append("ZERO_VOLUME")
        else:
            reasons.append(None)
    rows["reason"] = reasons
    good = rows[rows["reason"].isna()].copy()
    good["shares"] = good["totalWeeklyShareQuantity"].astype(float)
    good["trades"] = good["totalWeeklyTradeCount"].astype(int)
    firm = good[good["summaryTypeCode"].str.endswith("_W_SMBL_FIRM")].copy()
    firm["venue"] = np.where(
        firm["summaryTypeCode"].str.startswith("ATS"), firm["MPID"], firm["marketParticipantName"]
    )
    firm["ats"] = firm["summaryTypeCode"].str.startswith("ATS")
    per_venue = firm.groupby(["issueSymbolIdentifier", "venue"])["shares"].sum().reset_index()
    totals = per_venue.groupby("issueSymbolIdentifier")["shares"].transform("sum")
    per_venue["sq"] = (per_venue["shares"] / totals) ** 2
    symbol = firm.groupby("issueSymbolIdentifier").agg(
        total_shares=("shares", "sum"), total_trades=("trades", "sum"), venue_count=("venue", "nunique")
    )
    symbol["ats_shares"] = firm[firm["ats"]].groupby("issueSymbolIdentifier")["shares"].sum()
    symbol["ats_shares"] = symbol["ats_shares"].fillna(0.0)
    symbol["non_ats_shares"] = symbol["total_shares"] - symbol["ats_shares"]
    symbol["hhi"] = per_venue.groupby("issueSymbolIdentifier")["sq"].sum()
    symbol["avg_trade_size"] = symbol["total_shares"] / symbol["total_trades"]
    top = per_venue.sort_values(
        ["issueSymbolIdentifier", "shares", "venue"], ascending=[True, False, True]
    ).drop_duplicates("issueSymbolIdentifier")
    symbol["top_venue"] = top.set_index("issueSymbolIdentifier")["venue"]
    venue = firm.groupby("venue").agg(
        shares=("shares", "sum"), trades=("trades", "sum"), symbol_count=("issueSymbolIdentifier", "nunique")
    )
    venue["market_share"] = venue["shares"] / venue["shares"].sum()
    venue = venue.reset_index().sort_values(["shares", "venue"], ascending=[False, True])
    venue["rank"] = range(1, len(venue) + 1)
    return {
        "raw_rows": len(rows),
        "accepted": len(good),
        "rejects": rows["reason"].dropna().value_counts().to_dict(),
        "symbol": symbol.sort_index(),
        "venue": venue.set_index("venue").sort_index(),
    }


def expected_rolling(folder: Path, tier: str, weeks_present: list[pd.DataFrame]) -> pd.DataFrame:
    history = pd.concat([w.assign(week=i) for i, w in enumerate(weeks_present)])
    last = weeks_present[-1].index
    out = {}
    for symbol in last:
        series = history[history.index == symbol].sort_values("week")["total_shares"].tolist()
        if len(series) <= 2:
            first, latest = series[0], series[-1]
        else:
            first, latest = (series[0] + series[1]) / 2, (series[-2] + series[-1]) / 2
        pct = 0.0 if first == 0 else round((latest - first) / first * 100, 2)
        out[symbol] = {"weeks_in_window": len(series), "avg_shares": float(np.mean(series)), "trend_pct": pct,
                       "trend": "UP" if pct > 5 else "DOWN" if pct < -5 else "FLAT"}  # fmt: skip
    return pd.DataFrame.from_dict(out, orient="index").sort_index()


# --- the test -------------------------------------------------------------------------------------------


def _spine(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "spine_dagster", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    return result


def test_weekly_refresh_end_to_end(tmp_path: Path, warehouse_url: str) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    build_inputs(inputs)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPINE_", "DAGSTER_"))}
    env.update(SPINE_HOME=str(tmp_path / "home"), DAGSTER_HOME=str(dagster_home), SPINE_WAREHOUSE_URL=warehouse_url,
               SPINE_GROUPS_DIR=str(REPO / "groups"))  # fmt: skip
    plain_url = warehouse_url.replace("postgresql+psycopg2://", "postgresql://")

    result = _spine(tmp_path, env, "run", "finra.weekly_refresh", "--partition-range", f"{WEEKS[0]}..{WEEKS[-1]}",
                    "--param", f"source_dir={inputs}", "--format", "json")  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = json.loads(result.stdout)["runs"]
    assert len(runs) == 9 and {r["status"] for r in runs} == {"completed"}

    wh = open_warehouse(plain_url)
    seen_de_minimis = 0
    try:
        for tier in TIERS:
            weekly = []
            for monday in WEEKS:
                expected = expected_for(inputs, monday, tier)
                weekly.append(expected["symbol"])
                where = "week_start = ? AND tier = ?"
                params = [monday, tier]
                assert (
                    wh.scalar(f"SELECT COUNT(*) FROM finra_otc.raw_weekly_latest WHERE {where}", params)
                    == expected["raw_rows"]
                )
                assert (
                    wh.scalar(f"SELECT COUNT(*) FROM finra_otc.weekly_volume_latest WHERE {where}", params)
                    == expected["accepted"]
                )
                rejects = wh.query_df(
                    f"SELECT reason_code, COUNT(*) AS n FROM finra_otc.rejects_latest WHERE {where} GROUP BY reason_code",
                    params,
                )
                assert (
                    dict(zip(rejects["reason_code"], rejects["n"].astype(int), strict=True))
                    == expected["rejects"]
                )
                got = (
                    wh.query_df(f"SELECT * FROM finra_otc.symbol_week_latest WHERE {where}", params)
                    .set_index("symbol")
                    .sort_index()
                )
                want = expected["symbol"]
                assert list(got.index) == list(want.index)
                assert got["total_trades"].astype(int).tolist() == want["total_trades"].tolist()
                assert got["venue_count"].astype(int).tolist() == want["venue_count"].tolist()
                assert got["top_venue"].tolist() == want["top_venue"].tolist()
                for column in ("total_shares", "ats_shares", "non_ats_shares", "hhi", "avg_trade_size"):
                    np.testing.assert_allclose(
                        got[column].astype(float), want[column].astype(float), rtol=1e-12, err_msg=column
                    )
                venues = (
                    wh.query_df(f"SELECT * FROM finra_otc.venue_week_latest WHERE {where}", params)
                    .set_index("venue")
                    .sort_index()
                )
                assert list(venues.index) == list(expected["venue"].index)
                assert venues["rank"].astype(int).tolist() == expected["venue"]["rank"].tolist()
                np.testing.assert_allclose(
                    venues["market_share"].astype(float), expected["venue"]["market_share"], rtol=1e-12
                )
                assert abs(venues["market_share"].sum() - 1.0) <= 1e-9
                unattributed = venues[venues["is_unattributed"].astype(bool)].index.tolist()
                assert unattributed == (["De Minimis Firms"] if "De Minimis Firms" in venues.index else [])
                seen_de_minimis += len(unattributed)
            roll = wh.query_df(
                "SELECT * FROM finra_otc.symbol_rolling_latest WHERE week_start = ? AND tier = ?",
                [WEEKS[-1], tier],
            )
            roll = roll.set_index("symbol").sort_index()
            want_roll = expected_rolling(inputs, tier, weekly)
            assert roll["weeks_in_window"].astype(int).tolist() == want_roll["weeks_in_window"].tolist()
            assert roll["trend_pct"].tolist() == want_roll["trend_pct"].tolist()
            assert roll["trend"].tolist() == want_roll["trend"].tolist()
            np.testing.assert_allclose(roll["avg_shares"].astype(float), want_roll["avg_shares"], rtol=1e-12)
            assert not roll["is_complete"].any()  # 3 of 6 weeks: kept, flagged incomplete

        assert seen_de_minimis > 0
        snapshot = {
            view: _sorted(wh.query_df(f"SELECT * FROM finra_otc.{view}_latest"))
            for view in ("weekly_volume", "rejects", "symbol_week", "venue_week", "symbol_rolling")
        }
        totals = {
            t: wh.scalar(f"SELECT COUNT(*) FROM finra_otc.{t}")
            for t in ("raw_weekly", "weekly_volume", "captures")
        }
    finally:
        wh.close()

    # Re-running the same week changes nothing: identical content is not re-ingested, nothing is duplicated.
    again = _spine(tmp_path, env, "run", "finra.weekly_refresh", "--partition", f"{WEEKS[-1]}|NMS_TIER_1",
                   "--param", f"source_dir={inputs}", "--format", "json")  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    wh = open_warehouse(plain_url)
    try:
        for view, frame in snapshot.items():
            pd.testing.assert_frame_equal(
                _sorted(wh.query_df(f"SELECT * FROM finra_otc.{view}_latest")), frame
            )
        assert {t: wh.scalar(f"SELECT COUNT(*) FROM finra_otc.{t}") for t in totals} == totals
    finally:
        wh.close()

    # A forced re-ingest creates a second capture; the latest views move to it with the same numbers.
    forced = _spine(tmp_path, env, "run", "finra.weekly_refresh", "--partition", f"{WEEKS[-1]}|NMS_TIER_1",
                    "--param", f"source_dir={inputs}", "--param", "force=true", "--format", "json")  # fmt: skip
    assert forced.returncode == 0, forced.stderr[-2000:]
    wh = open_warehouse(plain_url)
    try:
        captures = wh.query_df("SELECT capture_id FROM finra_otc.captures WHERE week_start = ? AND tier = ? ORDER BY captured_at",
                               [WEEKS[-1], "NMS_TIER_1"])  # fmt: skip
        assert len(captures) == 2
        latest = wh.query_df("SELECT DISTINCT capture_id FROM finra_otc.weekly_volume_latest WHERE week_start = ? AND tier = ?",
                             [WEEKS[-1], "NMS_TIER_1"])  # fmt: skip
        assert latest["capture_id"].tolist() == [captures["capture_id"].iloc[-1]]
        numbers = "SELECT symbol, total_shares, total_trades, hhi FROM finra_otc.symbol_week_latest ORDER BY week_start, tier, symbol"
        pd.testing.assert_frame_equal(wh.query_df(numbers), snapshot_numbers(snapshot["symbol_week"]))
        raw = wh.scalar("SELECT COUNT(*) FROM finra_otc.raw_weekly")
        assert (
            raw == totals["raw_weekly"] + expected_for(inputs, WEEKS[-1], "NMS_TIER_1")["raw_rows"]
        )  # append-only
    finally:
        wh.close()

    # Every check of every table has its result recorded on its asset in the Dagster instance.
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run_id = runs[-1]["run_id"]
        evaluations = {
            (tuple(e.dagster_event.event_specific_data.asset_key.path), e.dagster_event.event_specific_data.check_name):
                e.dagster_event.event_specific_data.passed
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        }  # fmt: skip
        assert evaluations == {
            (("finra_otc", "raw_weekly"), "raw_not_empty"): True,
            (("finra_otc", "weekly_volume"), "unique_natural_keys"): True,
            (("finra_otc", "weekly_volume"), "smbl_reconciliation"): True,
            # the NMS Tier 9 row of the last week has no tier: it is rejected in every tier's partition,
            # which puts this small OTC week over the 1% reject rate (a warning, not blocking)
            (("finra_otc", "rejects"), "reject_rate"): False,
            (("finra_otc", "venue_week"), "market_share_sum"): True,
            (("finra_otc", "symbol_week"), "hhi_range"): True,
            (("finra_otc", "symbol_rolling"), "volume_anomaly"): True,
        }
        t1_last = runs[6]["run_id"]  # runs go week by week, tiers in order: [6] is the last week's NMS_TIER_1
        failed_warn = [
            e.dagster_event.event_specific_data
            for e in instance.all_logs(t1_last, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            if not e.dagster_event.event_specific_data.passed
        ]
        assert [(c.check_name, c.severity.value) for c in failed_warn] == [("reject_rate", "WARN")]
        for table in (
            "raw_weekly",
            "weekly_volume",
            "rejects",
            "symbol_week",
            "venue_week",
            "symbol_rolling",
        ):
            assert instance.get_latest_materialization_event(dg.AssetKey(["finra_otc", table])) is not None


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows as text in a total order (SQL gives none without ORDER BY over every column)."""
    text = frame.astype(str)
    return text.sort_values(list(text.columns)).reset_index(drop=True)


def snapshot_numbers(symbol_week: pd.DataFrame) -> pd.DataFrame:
    frame = symbol_week.sort_values(["week_start", "tier", "symbol"])[
        ["symbol", "total_shares", "total_trades", "hhi"]
    ]
    return frame.astype({"total_shares": float, "total_trades": "int64", "hhi": float}).reset_index(drop=True)
