"""Normalize rules: every reject reason, other-partition rows, layouts and the week of the 8-column export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from spine_dagster.domains.finra_otc.calendar import parse_tier, publication_date
from spine_dagster.domains.finra_otc.layouts import FULL_COLUMNS
from spine_dagster.domains.finra_otc.rules import normalize
from spine_dagster.domains.finra_otc.sources import read_source_file, route

MONDAY = dt.date(2025, 12, 22)


def _raw(path: Path) -> pd.DataFrame:
    rows = route(read_source_file(path))
    rows["capture_id"] = "c1"
    rows["captured_at"] = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return rows


def _full_line(**fields: str) -> str:
    base = {
        "issueSymbolIdentifier": "AAPL", "issueName": "Apple Inc. Common Stock", "firmCRDNumber": "",
        "MPID": "UBSA", "marketParticipantName": "UBSA UBS ATS", "tierIdentifier": "T1",
        "tierDescription": "NMS Tier 1", "summaryStartDate": "2025-12-22", "totalWeeklyTradeCount": "100",
        "totalWeeklyShareQuantity": "5000.5", "productTypeCode": "UTP", "summaryTypeCode": "ATS_W_SMBL_FIRM",
        "weekStartDate": "2025-12-22", "lastUpdateDate": "2026-01-12", "initialPublishedDate": "2026-01-12",
        "lastReportedDate": "2025-12-26", "totalNotionalSum": "1.4785138976572317E10",
    }  # fmt: skip
    base.update(fields)
    return "|".join(base[c] for c in FULL_COLUMNS)


CASES = [
    ({}, None),
    ({"issueSymbolIdentifier": "BAD$YM"}, "INVALID_SYMBOL"),
    ({"issueSymbolIdentifier": "brk.b"}, None),  # trimmed and upper-cased: BRK.B is valid
    ({"MPID": "UBS"}, "INVALID_MPID"),
    ({"MPID": "UB$A"}, "INVALID_MPID"),
    ({"totalWeeklyShareQuantity": "-5"}, "NEGATIVE_VOLUME"),
    ({"totalWeeklyTradeCount": "-1"}, "NEGATIVE_VOLUME"),
    ({"totalWeeklyShareQuantity": "0", "totalWeeklyTradeCount": "0"}, "ZERO_VOLUME"),
    ({"totalWeeklyShareQuantity": "abc"}, "PARSE_ERROR"),
    ({"totalWeeklyTradeCount": "1.5"}, "PARSE_ERROR"),
    ({"lastUpdateDate": "2025-02-30"}, "PARSE_ERROR"),
    ({"summaryTypeCode": "ATS_W_NOPE"}, "PARSE_ERROR"),
    ({"tierIdentifier": "T9", "tierDescription": "NMS Tier 9"}, "INVALID_TIER"),
    ({"weekStartDate": "2025-12-23"}, "WRONG_WEEK"),  # a Tuesday
    ({"weekStartDate": "2025-12-15"}, "OTHER"),  # a valid row of another week (directory source)
    ({"tierIdentifier": "T2", "tierDescription": "NMS Tier 2"}, "OTHER"),  # another tier
    ({"summaryTypeCode": "OTC_W_SMBL_FIRM", "MPID": "", "marketParticipantName": "CITADEL SECURITIES LLC", "firmCRDNumber": "116797"}, None),
    ({"summaryTypeCode": "OTC_W_SMBL_FIRM", "MPID": "", "marketParticipantName": "", "firmCRDNumber": ""}, "PARSE_ERROR"),
    ({"summaryTypeCode": "ATS_W_SMBL", "MPID": "", "marketParticipantName": ""}, None),
    ({"summaryTypeCode": "ATS_W_FIRM", "issueSymbolIdentifier": "", "issueName": ""}, None),
    ({"summaryTypeCode": "ATS_W_VOL_STATS", "issueSymbolIdentifier": "", "MPID": "", "tierIdentifier": "NA", "tierDescription": "Not Applicable"}, "OTHER"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "expected"), CASES)
def test_each_rule(tmp_path: Path, fields: dict[str, str], expected: str | None) -> None:
    path = tmp_path / "finra_otc_weekly_2025-12-22.psv"
    path.write_text("|".join(FULL_COLUMNS) + "\n" + _full_line(**fields) + "\n")
    result = normalize(_raw(path), MONDAY, "NMS_TIER_1", "dir")
    assert result.raw_rows == 1
    assert len(result.accepted) + len(result.rejects) + result.other_rows == 1
    if expected is None:
        assert len(result.accepted) == 1, result.rejects.to_dict("records")
    elif expected == "OTHER":
        assert result.other_rows == 1
    else:
        assert result.rejects["reason_code"].tolist() == [expected]
        assert result.rejects["raw"].tolist() == [path.read_text().splitlines()[1]]


def test_a_row_of_another_week_in_a_single_file_is_wrong_week(tmp_path: Path) -> None:
    path = tmp_path / "one.psv"
    path.write_text("|".join(FULL_COLUMNS) + "\n" + _full_line(weekStartDate="2025-12-15") + "\n")
    result = normalize(_raw(path), MONDAY, "NMS_TIER_1", "path")
    assert result.rejects["reason_code"].tolist() == ["WRONG_WEEK"]
    assert "not the requested week 2025-12-22" in result.rejects["detail"].iloc[0]


def test_accepted_rows_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "x_2025-12-22.psv"
    path.write_text(
        "|".join(FULL_COLUMNS) + "\n" + _full_line() + "\n"
        + _full_line(summaryTypeCode="OTC_W_SMBL_FIRM", MPID="", marketParticipantName="De Minimis Firms", firmCRDNumber="0") + "\n"
    )  # fmt: skip
    volume = normalize(_raw(path), MONDAY, "NMS_TIER_1", "dir").accepted
    ats, firm = volume.iloc[0], volume.iloc[1]
    assert (ats["venue"], ats["venue_kind"], ats["shares"], ats["trades"]) == ("UBSA", "ATS", 5000.5, 100)
    assert ats["notional"] == 1.4785138976572317e10
    assert ats["week_ending"] == dt.date(2025, 12, 26) and ats["last_update_date"] == dt.date(2026, 1, 12)
    assert (firm["venue"], firm["venue_kind"], firm["is_unattributed"]) == (
        "De Minimis Firms",
        "NON_ATS",
        True,
    )
    assert not ats["is_unattributed"]


def test_wrong_width_rows_are_parse_errors_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "x_2025-12-22.psv"
    path.write_text("|".join(FULL_COLUMNS) + "\n" + _full_line() + "\nAAPL|too|few\n")
    result = normalize(_raw(path), MONDAY, "NMS_TIER_1", "dir")
    assert result.rejects["reason_code"].tolist() == ["PARSE_ERROR"]
    assert result.rejects["raw"].tolist() == ["AAPL|too|few"]
    assert result.rejects["row_number"].tolist() == [3]


def test_raw_lines_looked_up_on_demand_give_the_same_result(tmp_path: Path) -> None:
    # The normalize step reads a capture without its source lines and looks up only the rows that need
    # theirs (rejects, suspected wrong widths): every rule case, a wrong-width line and a valid row at once.
    path = tmp_path / "finra_otc_weekly_2025-12-22.psv"
    lines = [_full_line(**fields) for fields, _expected in CASES] + ["AAPL|too|few", _full_line()]
    path.write_text("|".join(FULL_COLUMNS) + "\n" + "\n".join(lines) + "\n")
    rows = _raw(path)
    asked: list[tuple[str, int]] = []

    def raw_lines(wanted: pd.DataFrame) -> pd.Series:
        asked.extend(zip(wanted["source_file"], wanted["row_number"], strict=True))
        keyed = rows.set_index(["source_file", "row_number"])["raw"]
        return pd.Series(
            [keyed[(f, n)] for f, n in zip(wanted["source_file"], wanted["row_number"], strict=True)],
            index=wanted.index,
        )

    whole = normalize(rows, MONDAY, "NMS_TIER_1", "dir")
    on_demand = normalize(rows.drop(columns=["raw"]), MONDAY, "NMS_TIER_1", "dir", raw_lines=raw_lines)
    pd.testing.assert_frame_equal(on_demand.accepted, whole.accepted)
    pd.testing.assert_frame_equal(on_demand.rejects, whole.rejects)
    assert (on_demand.raw_rows, on_demand.other_rows) == (whole.raw_rows, whole.other_rows)
    assert "AAPL|too|few" in whole.rejects["raw"].tolist()
    # only the rejected rows' lines were read, each once
    rejected = set(zip(whole.rejects["source_file"], whole.rejects["row_number"], strict=True))
    assert set(asked) == rejected and len(asked) == len(rejected)
    with pytest.raises(ValueError, match="no 'raw' column"):
        normalize(rows.drop(columns=["raw"]), MONDAY, "NMS_TIER_1", "dir")


def test_ats8_week_from_name_or_publication(tmp_path: Path) -> None:
    header = "tierDescription|issueSymbolIdentifier|issueName|marketParticipantName|MPID|totalWeeklyShareQuantity|totalWeeklyTradeCount|lastUpdateDate"
    line = "OTC|AABB|Asia Broadband Inc Common Stock|OTCN OTC LINK NQB IDQS|OTCN|6753871|171|2025-12-15"
    named = tmp_path / "finra_otc_ats_OTCE_2025-11-10_pub20251215.psv"
    named.write_text(f"{header}\n{line}\n")
    unnamed = tmp_path / "finra_otc_weekly_otc.csv"
    unnamed.write_text(f"{header}\n{line}\n")
    for path in (named, unnamed):
        rows = _raw(path)
        assert rows["route_week"].tolist() == [dt.date(2025, 11, 10)]  # published 2025-12-15 - 35 days
        result = normalize(rows, dt.date(2025, 11, 10), "OTC", "dir")
        assert len(result.accepted) == 1 and result.accepted["summary_type"].iloc[0] == "ATS_W_SMBL_FIRM"


def test_spine_core_layout_rows_are_ats_venue_rows(tmp_path: Path) -> None:
    path = tmp_path / "week.psv"
    path.write_text(
        "WeekEnding|Tier|Symbol|MPID|TotalShares|TotalTrades\n2025-12-26|NMS_TIER_1|AAPL|NITE|1650000|9200\n2025-12-27|NMS_TIER_1|AAPL|NITE|1|1\n"
    )
    result = normalize(_raw(path), MONDAY, "NMS_TIER_1", "dir")
    assert result.accepted[["symbol", "venue", "shares"]].values.tolist() == [["AAPL", "NITE", 1650000.0]]
    assert result.rejects["reason_code"].tolist() == ["WRONG_WEEK"]  # 2025-12-27 is a Saturday


def test_unknown_header_is_a_clear_error(tmp_path: Path) -> None:
    from spine_dagster.errors import BadDataError

    path = tmp_path / "garbage.psv"
    path.write_text("Symbol|Venue|Date|TotalWeeklyShareVolume\nA|B|C|D\n")
    with pytest.raises(BadDataError, match=r"garbage.psv: unknown layout"):
        read_source_file(path)


def test_publication_calendar_matches_real_dates() -> None:
    assert publication_date(dt.date(2023, 5, 8), "NMS_TIER_1") == dt.date(2023, 5, 30)  # Memorial Day
    assert publication_date(dt.date(2023, 12, 11), "NMS_TIER_1") == dt.date(2024, 1, 2)  # New Year's Day
    assert publication_date(dt.date(2025, 11, 10), "OTC") == dt.date(2025, 12, 15)
    assert [parse_tier(x) for x in ("T1", "NMS Tier 2", "OTCE", "otc", "tier1", "Tier 9")] == [
        "NMS_TIER_1", "NMS_TIER_2", "OTC", "OTC", "NMS_TIER_1", None,
    ]  # fmt: skip
