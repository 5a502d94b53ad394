"""The synthetic FINRA OTC generator: FINRA's layouts, exact totals, the calendar, defects, determinism, size.

Files are parsed back with pandas by column name (every field as text) and checked against the rules of
``reference/finra-otc.md``; sums are compared with :class:`decimal.Decimal`, so "exact" means exact as printed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from spine_dagster.domains.finra_otc import generate as gen
from spine_dagster.domains.finra_otc.calendar import is_business_day, market_holidays, publication_date
from spine_dagster.domains.finra_otc.generate.reference import NMS_ATS, OTCE_ATS
from spine_dagster.domains.finra_otc.layouts import ATS8_COLUMNS, FULL_COLUMNS, SUMMARY_TYPES

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "data" / "samples" / "finra_otc"
CANON = {"T1": "NMS_TIER_1", "T2": "NMS_TIER_2", "OTCE": "OTC"}
DESCRIPTIONS = {"T1": "NMS Tier 1", "T2": "NMS Tier 2", "OTCE": "OTC", "NA": "Not Applicable"}
SMALL = {"T1": 8, "T2": 12, "OTCE": 24}
WEEKS = ["2025-11-17", "2025-11-24", "2025-12-01"]
NMS_SYMBOL = re.compile(r"[A-Z]{1,5}(\.[A-Z])?")
OTCE_SYMBOL = re.compile(r"[A-Z]{4,5}")
MPID = re.compile(r"[A-Z0-9]{4}")


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="|", dtype=str, keep_default_na=False, quoting=3)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "spine_dagster.domains.finra_otc.generate", *args],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert "Traceback" not in result.stdout + result.stderr
    return result


def last_trading_day(monday: dt.date) -> dt.date:
    days = [monday + dt.timedelta(days=i) for i in range(5)]
    return [d for d in days if is_business_day(d)][-1]


def check_full(df: pd.DataFrame) -> None:
    """Every rule a clean ``full`` frame obeys (the rows of any number of weeks and tiers)."""
    assert list(df.columns) == list(FULL_COLUMNS)
    assert set(df["summaryTypeCode"]) <= set(SUMMARY_TYPES)
    assert set(df["tierIdentifier"]) <= {"T1", "T2", "OTCE", "NA"}
    assert (df["tierDescription"] == df["tierIdentifier"].map(DESCRIPTIONS)).all()
    is_stats = df["summaryTypeCode"].str.endswith("_VOL_STATS")
    assert ((df["tierIdentifier"] == "NA") == is_stats).all()
    # Dates: the Monday, its summary start, FINRA's publication calendar, late reports before publication.
    weeks = df["weekStartDate"].map(dt.date.fromisoformat)
    assert (weeks.map(dt.date.weekday) == 0).all()
    assert (df["summaryStartDate"] == df["weekStartDate"]).all()
    published = df["initialPublishedDate"].map(dt.date.fromisoformat)
    reported = df["lastReportedDate"].map(dt.date.fromisoformat)
    for week, tier, pub, rep in zip(weeks, df["tierIdentifier"], published, reported, strict=True):
        if tier != "NA":
            assert pub == publication_date(week, CANON[tier])
        assert last_trading_day(week) <= rep < pub
    assert (df["lastUpdateDate"] == df["initialPublishedDate"]).all()
    assert (df.groupby(["weekStartDate", "tierIdentifier"])["initialPublishedDate"].nunique() == 1).all()
    for _, group in df.groupby("weekStartDate"):
        stats = group[group["tierIdentifier"] == "NA"]["initialPublishedDate"]
        others = group[group["tierIdentifier"] != "NA"]["initialPublishedDate"]
        assert (stats == others.max()).all()
    # Quantities: shares > 0 (6 decimals at most), trades >= 1, notional > 0 with 2 decimals.
    assert df["totalWeeklyShareQuantity"].str.fullmatch(r"[1-9]\d*(\.\d{6})?|0\.\d{6}").all()
    assert df["totalWeeklyTradeCount"].str.fullmatch(r"[1-9]\d*").all()
    assert df["totalNotionalSum"].str.fullmatch(r"\d+\.\d\d").all()
    assert (df["totalNotionalSum"].map(Decimal) > 0).all()
    # Which fields each summary type carries.
    st = df["summaryTypeCode"]
    has_symbol = st.str.contains("_SMBL")
    assert (df.loc[has_symbol, ["issueSymbolIdentifier", "issueName", "productTypeCode"]] != "").all().all()
    assert (df.loc[~has_symbol, ["issueSymbolIdentifier", "issueName", "productTypeCode"]] == "").all().all()
    has_firm = st.str.endswith("FIRM")
    assert (df.loc[~has_firm, ["firmCRDNumber", "MPID", "marketParticipantName"]] == "").all().all()
    assert (df.loc[has_firm, ["firmCRDNumber", "marketParticipantName"]] != "").all().all()
    assert df.loc[has_firm, "firmCRDNumber"].str.fullmatch(r"\d+").all()
    ats_firm = has_firm & st.str.startswith("ATS")
    assert df.loc[ats_firm, "MPID"].str.fullmatch(MPID).all()
    assert all(
        n.startswith(m + " ")
        for m, n in zip(df.loc[ats_firm, "MPID"], df.loc[ats_firm, "marketParticipantName"], strict=True)
    )
    assert (df.loc[has_firm & st.str.startswith("OTC"), "MPID"] == "").all()
    products = df.loc[has_symbol, ["tierIdentifier", "productTypeCode"]]
    assert set(products[products["tierIdentifier"] == "OTCE"]["productTypeCode"]) <= {"OTC"}
    assert set(products[products["tierIdentifier"] != "OTCE"]["productTypeCode"]) <= {"UTP", "CTS"}
    symbols = df.loc[has_symbol, ["tierIdentifier", "issueSymbolIdentifier"]]
    nms = symbols["tierIdentifier"] != "OTCE"
    assert symbols.loc[nms, "issueSymbolIdentifier"].str.fullmatch(NMS_SYMBOL).all()
    assert symbols.loc[~nms, "issueSymbolIdentifier"].str.fullmatch(OTCE_SYMBOL).all()
    check_totals(df)


def _sums(rows: pd.DataFrame, keys: list[str]) -> dict[tuple[str, ...], tuple[Decimal, int, Decimal, str]]:
    out: dict[tuple[str, ...], list] = defaultdict(lambda: [Decimal(0), 0, Decimal(0), ""])
    for rec in rows[
        [*keys, "totalWeeklyShareQuantity", "totalWeeklyTradeCount", "totalNotionalSum", "lastReportedDate"]
    ].itertuples(index=False):
        acc = out[tuple(rec[: len(keys)])]
        acc[0] += Decimal(rec[-4])
        acc[1] += int(rec[-3])
        acc[2] += Decimal(rec[-2])
        acc[3] = max(acc[3], rec[-1])
    return {k: tuple(v) for k, v in out.items()}


def _values(rows: pd.DataFrame, keys: list[str]) -> dict[tuple[str, ...], tuple[Decimal, int, Decimal, str]]:
    out = {}
    for rec in rows[
        [*keys, "totalWeeklyShareQuantity", "totalWeeklyTradeCount", "totalNotionalSum", "lastReportedDate"]
    ].itertuples(index=False):
        key = tuple(rec[: len(keys)])
        assert key not in out, f"duplicate total row {key}"
        out[key] = (Decimal(rec[-4]), int(rec[-3]), Decimal(rec[-2]), rec[-1])
    return out


def check_totals(df: pd.DataFrame) -> None:
    """SMBL = sum of SMBL_FIRM; FIRM = sum over symbols; VOL_STATS = sum over tiers; exact as printed."""
    week_tier = ["weekStartDate", "tierIdentifier"]
    for side in ("ATS", "OTC"):
        firm = df[df["summaryTypeCode"] == f"{side}_W_SMBL_FIRM"]
        key = [*week_tier, "issueSymbolIdentifier", "issueName", "productTypeCode"]
        assert _sums(firm, key) == _values(df[df["summaryTypeCode"] == f"{side}_W_SMBL"], key)
        key = [*week_tier, "firmCRDNumber", "MPID", "marketParticipantName"]
        assert _sums(firm, key) == _values(df[df["summaryTypeCode"] == f"{side}_W_FIRM"], key)
        smbl = df[df["summaryTypeCode"] == f"{side}_W_SMBL"]
        stats = _values(df[df["summaryTypeCode"] == f"{side}_W_VOL_STATS"], ["weekStartDate"])
        if (df["tierIdentifier"] == "NA").any():  # a (week, tier) vintage has no market-wide rows
            assert _sums(smbl, ["weekStartDate"]) == stats
        key = [*week_tier, "issueSymbolIdentifier", "firmCRDNumber", "MPID"]
        assert not firm.duplicated(key).any()


def test_the_checker_catches_a_one_unit_change(clean: Path) -> None:
    df = read(next(clean.glob("finra_otc_weekly_*.psv")))
    check_totals(df)
    for summary_type, column in (
        ("ATS_W_SMBL_FIRM", "totalWeeklyTradeCount"),
        ("OTC_W_FIRM", "totalWeeklyShareQuantity"),
    ):
        broken = df.copy()
        i = broken.index[broken["summaryTypeCode"] == summary_type][0]
        broken.loc[i, column] = str(Decimal(broken.loc[i, column]) + 1)
        with pytest.raises(AssertionError):
            check_totals(broken)


@pytest.fixture(scope="module", name="clean")
def clean_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    gen.generate(out, weeks=WEEKS, symbols_per_tier=SMALL, seed=11)
    return out


@pytest.fixture(scope="module", name="defective")
def defective_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("defects")
    gen.generate(out, weeks=WEEKS, symbols_per_tier=SMALL, seed=11, inject=gen.DEFECTS)
    return out


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


# --- layout and content ---------------------------------------------------------------------------------


def test_files_are_pipe_delimited_with_the_layout_headers_lf_and_a_trailing_newline(clean: Path) -> None:
    files = sorted(clean.glob("*.psv"))
    names = [p.name for p in files]
    assert sorted(names) == sorted(
        [f"finra_otc_weekly_{w}_pub{publication_date(dt.date.fromisoformat(w), 'NMS_TIER_2'):%Y%m%d}.psv" for w in WEEKS]
        + [f"finra_otc_ats_{t}_{w}_pub{publication_date(dt.date.fromisoformat(w), CANON[t]):%Y%m%d}.psv"
           for w in WEEKS for t in ("T1", "T2", "OTCE")]
    )  # fmt: skip
    for path in files:
        data = path.read_bytes()
        assert data.endswith(b"\n") and not data.endswith(b"\n\n") and b"\r" not in data and b'"' not in data
        data.decode("ascii")
        lines = data.decode().split("\n")[:-1]
        header = FULL_COLUMNS if "_weekly_" in path.name else ATS8_COLUMNS
        assert lines[0] == "|".join(header)
        assert {line.count("|") for line in lines} == {len(header) - 1}


def test_full_files_parse_back_by_column_name_and_obey_every_rule(clean: Path) -> None:
    frames = [read(p) for p in sorted(clean.glob("finra_otc_weekly_*.psv"))]
    for df in frames:
        check_full(df)
        assert set(df["summaryTypeCode"]) == set(SUMMARY_TYPES)  # every summary type, every week
        assert set(df["tierIdentifier"]) == {"T1", "T2", "OTCE", "NA"}
        assert df["weekStartDate"].nunique() == 1
    everything = pd.concat(frames)
    names = everything["issueName"]
    assert names.str.contains(",").any() and names.str.contains(r"\(").any() and names.str.contains("&").any()
    assert (everything["totalWeeklyShareQuantity"].str.contains(r"\.")).any()  # fractional shares
    late = everything[everything["summaryTypeCode"] == "ATS_W_SMBL"]
    assert (
        late["lastReportedDate"]
        > late["weekStartDate"].map(lambda w: str(last_trading_day(dt.date.fromisoformat(w))))
    ).any()


def test_file_names_carry_the_week_and_the_latest_publication_date_of_their_tiers(clean: Path) -> None:
    for path in clean.glob("*.psv"):
        df = read(path)
        week, pub = re.search(r"_(\d{4}-\d\d-\d\d)_pub(\d{8})\.psv$", path.name).groups()
        if "_weekly_" in path.name:
            assert set(df["weekStartDate"]) == {week}
            assert pub == max(df["initialPublishedDate"]).replace("-", "")
        else:
            tier = path.name.split("_")[3]
            assert set(df["lastUpdateDate"]) == {
                publication_date(dt.date.fromisoformat(week), CANON[tier]).isoformat()
            }
            assert pub == df["lastUpdateDate"].iloc[0].replace("-", "")


def test_ats8_rows_are_the_full_files_ats_symbol_firm_rows_sorted_by_symbol_and_participant(
    clean: Path,
) -> None:
    for week in WEEKS:
        full = read(next(clean.glob(f"finra_otc_weekly_{week}_pub*.psv")))
        for tier in ("T1", "T2", "OTCE"):
            ats8 = read(next(clean.glob(f"finra_otc_ats_{tier}_{week}_pub*.psv")))
            assert list(ats8.columns) == list(ATS8_COLUMNS)
            rows = full[(full["tierIdentifier"] == tier) & (full["summaryTypeCode"] == "ATS_W_SMBL_FIRM")]
            expected = rows[list(ATS8_COLUMNS)].reset_index(drop=True)
            pd.testing.assert_frame_equal(ats8, expected)
            assert set(ats8["tierDescription"]) == {DESCRIPTIONS[tier]}
            key = list(zip(ats8["issueSymbolIdentifier"], ats8["marketParticipantName"], strict=True))
            assert key == sorted(key)


def test_frame_and_ats8_frame_match_the_files(clean: Path) -> None:
    frame = gen.generate_frame(weeks=WEEKS, symbols_per_tier=SMALL, seed=11)
    files = pd.concat([read(p) for p in sorted(clean.glob("finra_otc_weekly_*.psv"))], ignore_index=True)
    pd.testing.assert_frame_equal(frame.astype(object), files.astype(object))
    ats8 = gen.ats8_frame(frame)
    parts = [
        read(next(clean.glob(f"finra_otc_ats_{t}_{w}_pub*.psv"))) for w in WEEKS for t in ("T1", "T2", "OTCE")
    ]
    pd.testing.assert_frame_equal(ats8.astype(object), pd.concat(parts, ignore_index=True).astype(object))


def test_split_tiers_writes_one_file_per_week_and_tier_with_the_same_rows(
    tmp_path: Path, clean: Path
) -> None:
    paths = gen.generate(
        tmp_path, weeks=WEEKS[:1], symbols_per_tier=SMALL, seed=11, split_tiers=True, layouts="full"
    )
    week = WEEKS[0]
    monday = dt.date.fromisoformat(week)
    assert [p.name for p in paths] == [
        f"finra_otc_weekly_{t}_{week}_pub{publication_date(monday, CANON[t]):%Y%m%d}.psv"
        for t in ("T1", "T2", "OTCE")
    ] + [f"finra_otc_weekly_NA_{week}_pub{publication_date(monday, 'NMS_TIER_2'):%Y%m%d}.psv"]
    joined = pd.concat([read(p) for p in paths], ignore_index=True)
    pd.testing.assert_frame_equal(joined, read(next(clean.glob(f"finra_otc_weekly_{week}_pub*.psv"))))


def test_manifest_lists_every_file_with_row_counts_and_hashes(clean: Path) -> None:
    man = manifest(clean)
    assert man["weeks"] == WEEKS and man["tiers"] == ["T1", "T2", "OTCE"] and man["defects"] == []
    assert sorted(f["file"] for f in man["files"]) == sorted(p.name for p in clean.glob("*.psv"))
    for entry in man["files"]:
        data = (clean / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
        df = read(clean / entry["file"])
        assert entry["rows"] == len(df)
        counts = (
            df["summaryTypeCode"].value_counts().to_dict()
            if "summaryTypeCode" in df
            else {"ATS_W_SMBL_FIRM": len(df)}
        )
        assert entry["rows_by_summary_type"] == counts


def test_the_same_arguments_give_byte_identical_files(tmp_path: Path, clean: Path) -> None:
    again = tmp_path / "again"
    gen.generate(again, weeks=WEEKS, symbols_per_tier=SMALL, seed=11)
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in clean.iterdir())
    for path in clean.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    other = tmp_path / "other"
    gen.generate(other, weeks=WEEKS, symbols_per_tier=SMALL, seed=12)
    assert (other / "manifest.json").read_bytes() != (clean / "manifest.json").read_bytes()


def test_layouts_and_flags_change_only_what_they_govern(tmp_path: Path, clean: Path) -> None:
    gen.generate(tmp_path, weeks=WEEKS, symbols_per_tier=SMALL, seed=11, layouts="ats8", fractional=False)
    for path in tmp_path.glob("*.psv"):  # ats8 files alone, and without fractional shares: same ATS rows
        assert path.read_bytes() == (clean / path.name).read_bytes()
    whole = gen.generate_frame(weeks=WEEKS[:1], symbols_per_tier=SMALL, seed=11, fractional=False)
    assert not whole["totalWeeklyShareQuantity"].str.contains(r"\.").any()
    check_full(whole)


def test_monday_holiday_weeks_keep_their_monday_and_tuesday_publications_follow_holidays() -> None:
    # 2023-05-08 + 21 days is Memorial Day: T1 publishes on Tuesday 2023-05-30 (the reference's real AAPL row).
    df = gen.generate_frame(weeks=["2023-05-08", "2026-09-07"], symbols_per_tier=6, seed=3)
    check_full(df)
    t1 = df[df["tierIdentifier"] == "T1"]
    assert set(t1[t1["weekStartDate"] == "2023-05-08"]["initialPublishedDate"]) == {"2023-05-30"}
    labor = df[df["weekStartDate"] == "2026-09-07"]
    assert len(labor) and set(labor["lastReportedDate"]) >= {"2026-09-11"}


def test_holiday_weeks_trade_less() -> None:
    df = gen.generate_frame(first_week="2025-11-10", num_weeks=3, tiers="T1", symbols_per_tier=300, seed=5)
    ats = df[df["summaryTypeCode"] == "ATS_W_VOL_STATS"].set_index("weekStartDate")[
        "totalWeeklyShareQuantity"
    ]
    shares = ats.map(Decimal)
    assert shares["2025-11-24"] < Decimal("0.85") * min(
        shares["2025-11-10"], shares["2025-11-17"]
    )  # Thanksgiving


def test_june_reclassification_moves_names_between_t1_and_t2(tmp_path: Path) -> None:
    gen.generate(
        tmp_path,
        first_week="2026-06-22",
        num_weeks=2,
        tiers="T1,T2",
        symbols_per_tier=40,
        seed=4,
        layouts="full",
    )
    events = manifest(tmp_path)["events"]
    moves = [e for e in events if e["event"] == "reclassification"]
    assert len(moves) == 1 and moves[0]["week"] == "2026-06-29"
    after = read(next(tmp_path.glob("finra_otc_weekly_2026-06-29_pub*.psv")))
    before = read(next(tmp_path.glob("finra_otc_weekly_2026-06-22_pub*.psv")))
    check_full(pd.concat([before, after]))
    tiers_after = after.groupby("issueSymbolIdentifier")["tierIdentifier"].first()
    tiers_before = before.groupby("issueSymbolIdentifier")["tierIdentifier"].first()
    for sym in moves[0]["to_T2"]:
        assert tiers_after.get(sym, "T2") == "T2" and tiers_before.get(sym, "T1") == "T1"
    assert any(tiers_before.get(s) == "T1" and tiers_after.get(s) == "T2" for s in moves[0]["to_T2"])


def test_full_size_week_has_the_reference_calibration_and_generates_in_seconds() -> None:
    start = time.perf_counter()
    df = gen.generate_frame(weeks=["2026-03-02"], seed=1)
    elapsed = time.perf_counter() - start
    assert elapsed < 15, f"{elapsed:.1f}s for a full-size week"
    rows = df["tierIdentifier"].value_counts()
    assert 240_000 <= len(df) <= 290_000
    for tier, target in (("T1", 72_000), ("T2", 168_000), ("OTCE", 24_000)):
        assert abs(rows[tier] - target) < 0.15 * target, (tier, rows[tier])
    ats = df[df["summaryTypeCode"] == "ATS_W_SMBL_FIRM"]
    venues = ats.groupby(["tierIdentifier", "issueSymbolIdentifier"]).size().groupby(level=0).mean()
    assert 15 <= venues["T1"] <= 19 and 9 <= venues["T2"] <= 12 and 1.5 <= venues["OTCE"] <= 2.0
    assert set(ats[ats["tierIdentifier"] == "T1"]["MPID"]) <= {v[0] for v in NMS_ATS}
    assert 28 <= ats[ats["tierIdentifier"] == "T1"]["MPID"].nunique() <= 34
    assert set(ats[ats["tierIdentifier"] == "OTCE"]["MPID"]) <= {v[0] for v in OTCE_ATS}
    fractional = df["totalWeeklyShareQuantity"].str.contains(r"\.").mean()
    assert 0.08 <= fractional <= 0.18
    smbl = df[df["summaryTypeCode"].isin(["ATS_W_SMBL", "OTC_W_SMBL"])]
    side = smbl.groupby(["tierIdentifier", "summaryTypeCode"])["totalWeeklyShareQuantity"].apply(
        lambda s: s.astype(float).sum()
    )
    for tier in ("T1", "T2"):
        assert 2 <= side[tier, "OTC_W_SMBL"] / side[tier, "ATS_W_SMBL"] <= 3.5  # non-ATS about 2-3x ATS
    assert (df["totalWeeklyShareQuantity"].astype(float) > 0).all()
    assert (df["totalWeeklyTradeCount"].astype(int) >= 1).all()


# --- defects --------------------------------------------------------------------------------------------


def file_lines(path: Path) -> list[str]:
    return path.read_text().split("\n")[:-1]


def entries(out: Path, name: str) -> list[dict]:
    return [e for e in manifest(out)["defects"] if e["defect"] == name]


def without_lines(path: Path, drop: set[int]) -> pd.DataFrame:
    lines = file_lines(path)
    kept = [line for i, line in enumerate(lines, start=1) if i not in drop]
    clean = path.with_name(path.name + ".kept")
    clean.write_text("\n".join(kept) + "\n")
    try:
        return read(clean)
    finally:
        clean.unlink()


def test_clean_runs_have_no_defects(clean: Path) -> None:
    for path in clean.glob("finra_otc_weekly_*.psv"):
        df = read(path)
        assert "De Minimis Firms" not in set(df["marketParticipantName"])


@pytest.mark.parametrize("name", gen.REJECT_DEFECTS)
def test_each_reject_defect_is_where_the_manifest_says_and_the_rest_stays_clean(
    defective: Path, name: str
) -> None:
    found = entries(defective, name)
    layouts = {"full"} if name == "wrong_week" else {"full", "ats8"}
    assert {e["layout"] for e in found} == layouts
    assert len(found) == len(layouts) * (2 if name in ("parse_error", "wrong_week") else 1)
    for e in found:
        assert e["applied"] is True
        lines = file_lines(defective / e["file"])
        assert lines[e["line"] - 1] == e["row"]
        header = lines[0].split("|")
        row = dict(zip(header, e["row"].split("|"), strict=True))
        if e["field"]:
            assert row[e["field"]] == e["value"] != e["original"]
        if name == "invalid_symbol":
            assert not NMS_SYMBOL.fullmatch(row["issueSymbolIdentifier"])
        elif name == "invalid_mpid":
            assert not MPID.fullmatch(row["MPID"]) and len(row["MPID"]) in (3, 4, 5)
            assert row["marketParticipantName"].startswith(row["MPID"] + " ")
        elif name == "negative_volume":
            assert Decimal(row["totalWeeklyShareQuantity"]) < 0
        elif name == "zero_volume":
            assert row["totalWeeklyShareQuantity"] == "0" and row["totalWeeklyTradeCount"] == "0"
        elif name == "parse_error":
            with pytest.raises((ValueError, ArithmeticError)):
                if e["field"] == "totalWeeklyShareQuantity":
                    Decimal(row["totalWeeklyShareQuantity"])
                else:
                    dt.date.fromisoformat(row[e["field"]])
        elif name == "invalid_tier":
            assert row["tierDescription"] == "NMS Tier 9" and row.get("tierIdentifier", "T9") == "T9"
        elif name == "wrong_week":
            week = dt.date.fromisoformat(row["weekStartDate"])
            assert week.weekday() != 0 or row["weekStartDate"] != e["week"]
        elif name == "duplicate":
            assert lines[e["duplicate_of_line"] - 1] == e["row"] and e["line"] == e["duplicate_of_line"] + 1
        if e["layout"] == "full" and name not in ("negative_volume", "zero_volume", "duplicate"):
            assert row["summaryTypeCode"] == e["summaryTypeCode"]


def reject_lines(out: Path) -> dict[str, set[int]]:
    drop: dict[str, set[int]] = defaultdict(set)
    for e in manifest(out)["defects"]:
        if e["defect"] in gen.REJECT_DEFECTS:
            drop[e["file"]].add(e["line"])
    return drop


def test_files_minus_the_manifest_lines_are_clean_again(defective: Path) -> None:
    drop = reject_lines(defective)
    assert drop
    for path in defective.glob("*.psv"):
        kept = without_lines(path, drop.get(path.name, set()))
        if path.name.startswith("finra_otc_weekly_") and path.name.count("_") == 4:
            check_full(kept)  # every rule, exact totals, no duplicate key
        elif path.name.startswith("finra_otc_ats_"):
            week = re.search(r"_(\d{4}-\d\d-\d\d)_pub", path.name).group(1)
            tier = path.name.split("_")[3]
            full_path = next(defective.glob(f"finra_otc_weekly_{week}_pub*.psv"))
            full = without_lines(full_path, drop.get(full_path.name, set()))
            rows = full[(full["tierIdentifier"] == tier) & (full["summaryTypeCode"] == "ATS_W_SMBL_FIRM")]
            if kept["lastUpdateDate"].nunique() == 1:  # an initial file, not the restated vintage
                pd.testing.assert_frame_equal(kept, rows[list(ATS8_COLUMNS)].reset_index(drop=True))


def test_de_minimis_bucket_rows_are_counted_in_the_manifest(defective: Path) -> None:
    found = entries(defective, "de_minimis")
    assert found and {e["layout"] for e in found} == {"full"}
    for e in found:
        df = read(defective / e["file"])
        bucket = df[df["marketParticipantName"] == "De Minimis Firms"]
        assert len(bucket) == e["rows"] > 0
        assert bucket["summaryTypeCode"].value_counts().to_dict() == e["rows_by_summary_type"]
        assert set(bucket["firmCRDNumber"]) == {"0"} and set(bucket["MPID"]) == {""}
        assert file_lines(defective / e["file"])[e["first_line"] - 1].split("|")[4] == "De Minimis Firms"


def test_de_minimis_share_sets_the_bucket_weight() -> None:
    for share in (0.05, 0.35):
        df = gen.generate_frame(
            weeks=WEEKS[:1], tiers="T2", symbols_per_tier=400, seed=9, de_minimis=True, de_minimis_share=share
        )
        check_full(df)
        otc = df[df["summaryTypeCode"] == "OTC_W_SMBL_FIRM"]
        shares = otc["totalWeeklyShareQuantity"].astype(float)
        measured = shares[otc["marketParticipantName"] == "De Minimis Firms"].sum() / shares.sum()
        assert abs(measured - share) < 0.1, (share, measured)


def test_restatement_is_a_later_vintage_with_a_few_rows_changed_and_totals_kept_exact(
    defective: Path,
) -> None:
    (e,) = entries(defective, "restatement")
    week, tier = e["week"], e["tier"]
    assert (
        e["restatement_date"]
        > e["initial_publication"]
        == publication_date(dt.date.fromisoformat(week), CANON[tier]).isoformat()
    )
    assert {f["layout"] for f in e["files"]} == {"full", "ats8"}
    for f in e["files"]:
        assert f["file"].endswith(f"_{tier}_{week}_pub{e['restatement_date'].replace('-', '')}.psv")
        new = read(defective / f["file"])
        old = without_lines(defective / f["supersedes"], reject_lines(defective).get(f["supersedes"], set()))
        lines = file_lines(defective / f["file"])
        if f["layout"] == "full":
            old = old[old["tierIdentifier"] == tier].reset_index(drop=True)
            check_totals(new)
            assert set(new["initialPublishedDate"]) == {e["initial_publication"]}
        assert len(new) == len(old) and len(f["changed_rows"]) >= 1
        changed = {c["line"] for c in f["changed_rows"]} | set(f["updated_total_lines"])
        for c in f["changed_rows"]:
            row = dict(zip(lines[0].split("|"), lines[c["line"] - 1].split("|"), strict=True))
            before = old.iloc[c["line"] - 2]
            assert (
                row["totalWeeklyShareQuantity"]
                == c["shares"][1]
                != c["shares"][0]
                == before["totalWeeklyShareQuantity"]
            )
            assert (
                row["totalWeeklyTradeCount"]
                == c["trades"][1]
                != c["trades"][0]
                == before["totalWeeklyTradeCount"]
            )
            ratio = Decimal(c["shares"][1]) / Decimal(c["shares"][0])
            assert (
                Decimal("0.85") <= ratio <= Decimal("1.15")
                or abs(Decimal(c["shares"][1]) - Decimal(c["shares"][0])) == 1
            )
            assert row["lastUpdateDate"] == e["restatement_date"]
            if f["layout"] == "full":
                assert before["lastReportedDate"] < row["lastReportedDate"] < e["restatement_date"]
        for line in f["updated_total_lines"]:
            assert lines[line - 1].split("|")[FULL_COLUMNS.index("lastUpdateDate")] == e["restatement_date"]
        unchanged = [i for i in range(len(new)) if i + 2 not in changed]
        pd.testing.assert_frame_equal(new.iloc[unchanged], old.iloc[unchanged])


def test_two_tiers_puts_one_symbol_in_t1_and_t2_the_same_week(defective: Path) -> None:
    found = [e for e in entries(defective, "two_tiers") if e["layout"] == "full"]
    assert found
    for e in found:
        df = read(defective / e["file"])
        lines = file_lines(defective / e["file"])
        rows = df[df["issueSymbolIdentifier"] == e["symbol"]]
        assert set(rows["weekStartDate"]) == {e["week"]}
        for tier, numbers in e["lines"].items():
            assert numbers == [i + 2 for i in rows.index[rows["tierIdentifier"] == tier]]
            assert all(lines[n - 1].split("|")[0] == e["symbol"] for n in numbers)
        if "_weekly_" in e["file"] and e["file"].count("_") == 4:
            assert set(e["lines"]) == {"T1", "T2"} and all(e["lines"].values())


def test_monday_holiday_is_recorded_when_a_requested_week_starts_on_a_holiday(
    tmp_path: Path, defective: Path
) -> None:
    (skipped,) = entries(defective, "monday_holiday")
    assert skipped["applied"] is False and "2026-09-07" in skipped["reason"]
    gen.generate(
        tmp_path, weeks=["2026-08-31", "2026-09-07"], symbols_per_tier=6, seed=2, inject="monday_holiday"
    )
    (e,) = entries(tmp_path, "monday_holiday")
    assert e["applied"] and e["week"] == "2026-09-07" and dt.date(2026, 9, 7) in market_holidays(2026)
    assert e["publication_dates"] == {
        t: publication_date(dt.date(2026, 9, 7), CANON[t]).isoformat() for t in ("T1", "T2", "OTCE")
    }
    for name in e["files"]:
        assert set(read(tmp_path / name).get("weekStartDate", pd.Series(["2026-09-07"]))) == {"2026-09-07"}


# --- arguments and command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weeks": ["2025-11-18"]}, "Tuesday"),
        ({"weeks": ["2025-13-01"]}, "expected a date"),
        ({}, "no weeks"),
        ({"weeks": WEEKS, "first_week": WEEKS[0]}, "not both"),
        ({"weeks": WEEKS, "tiers": "T3"}, "unknown tier"),
        ({"weeks": WEEKS, "layouts": "fulll"}, "did you mean 'full'"),
        ({"weeks": WEEKS, "inject": "duplicates"}, "did you mean 'duplicate'"),
        ({"weeks": WEEKS, "symbols_per_tier": 0}, "out of range"),
        ({"weeks": WEEKS, "scale": -1}, "scale"),
        ({"weeks": WEEKS, "layouts": "full", "ats8_weeks": WEEKS}, "ats8 layout"),
        ({"weeks": WEEKS, "ats8_weeks": ["2026-01-05"]}, "not one of the generated weeks"),
        ({"weeks": WEEKS, "de_minimis_share": 1.5}, "de minimis"),
    ],
)
def test_bad_arguments_raise_a_usage_error_before_writing(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(gen.GeneratorUsageError, match=re.escape(message)):
        gen.generate(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_cli_help_documents_every_option_and_defect() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("--weeks", "--first-week", "--num-weeks", "--tiers", "--symbols-per-tier", "--scale", "--layouts",
                 "--ats8-weeks", "--split-tiers", "--seed", "--inject", "--fractional", "--de-minimis-share", *gen.DEFECTS):  # fmt: skip
        assert word in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--first-week", "2025-11-18"],
        ["--first-week", "2025-11-17", "--inject", "nope"],
        ["--first-week", "2025-11-17", "--symbols-per-tier", "T9=3"],
        ["--first-week", "2025-11-17", "--scale", "abc"],
        ["--first-week", "2025-11-17", "--scale", "nan"],
        ["--first-week", "2025-11-17", "--num-weeks", "0"],
        [],
    ],
)
def test_cli_bad_usage_exits_2_without_a_traceback(tmp_path: Path, args: list[str]) -> None:
    result = run_cli("--out", str(tmp_path / "x"), *args)
    assert result.returncode == 2 and "error" in result.stderr


def test_cli_writes_files_and_lists_them(tmp_path: Path) -> None:
    result = run_cli("--out", str(tmp_path), "--first-week", "2025-11-17", "--symbols-per-tier", "T1=5,T2=5,OTCE=8",
                     "--tiers", "T1,OTCE", "--layouts", "ats8", "--seed", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split()
    assert [Path(p).name for p in listed] == [
        "finra_otc_ats_T1_2025-11-17_pub20251208.psv", "finra_otc_ats_OTCE_2025-11-17_pub20251222.psv", "manifest.json",
    ]  # fmt: skip
    blocked = tmp_path / "file"
    blocked.write_text("")
    result = run_cli("--out", str(blocked), "--first-week", "2025-11-17", "--symbols-per-tier", "3")
    assert result.returncode == 1 and "cannot write" in result.stderr


# --- the committed samples ------------------------------------------------------------------------------------


def test_committed_samples_are_exactly_what_the_readme_command_produces(tmp_path: Path) -> None:
    readme = (SAMPLES / "README.md").read_text()
    (command,) = [
        line
        for line in readme.splitlines()
        if line.startswith("python -m spine_dagster.domains.finra_otc.generate ")
    ]
    args = shlex.split(command)[3:]
    out = args.index("--out")
    args[out + 1] = str(tmp_path)
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    committed = sorted(p.name for p in SAMPLES.iterdir() if p.name != "README.md")
    assert committed == sorted(p.name for p in tmp_path.iterdir())
    for name in committed:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name
    for path in SAMPLES.glob("finra_otc_weekly_*.psv"):
        df = read(path)
        if path.name.count("_") == 4:
            check_full(df)
        else:
            check_totals(df)
    assert [e["defect"] for e in manifest(SAMPLES)["defects"]] == ["restatement"]
