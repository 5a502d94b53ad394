"""FinraOtcClient against a fake FINRA Query API (httpx.MockTransport): paging, text rendering, retries, errors.

The fake server validates every request the way FINRA reads it (POST, path, ``Accept``, JSON body with
``fields``/``compareFilters``/``limit``/``offset``), filters an in-memory partitioned data set, and serves
pages with FINRA's paging headers. Numbers are written as raw JSON literals, so the scientific-notation
floats FINRA really sends (``1.4785138976572317E10``) reach the client byte for byte. Nothing touches the
network and nothing sleeps: the client's ``sleep`` records the waits it asks for.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from spine_dagster.domains.finra_otc.client import (
    MAX_PAGE_SIZE,
    WEEKLY_SUMMARY_PATH,
    FinraApiError,
    FinraApiPermanentError,
    FinraApiTransientError,
    FinraOtcClient,
    records_to_text_rows,
    text_value,
)
from spine_dagster.domains.finra_otc.layouts import FULL_COLUMNS
from spine_dagster.errors import BadConfigError, StepRunError

WEEK = dt.date(2026, 8, 31)
TOKEN = "s3cr3t-finra-token-0123456789"


class Raw(str):
    """A JSON number literal served verbatim (``1.4785138976572317E10`` stays in that spelling)."""


Action = httpx.Response | Exception | Callable[[], None]


class FakeFinra:
    """An in-memory ``otcMarket/weeklySummary``: validates requests, serves pages with paging headers.

    ``script`` maps a 0-based request number to what that request gets instead of (or, for a callable,
    before) the normal answer: a response, an exception to raise, or a callable that mutates the data.
    """

    def __init__(
        self,
        records: list[dict[str, Any]],
        *,
        paging_headers: bool = True,
        max_limit: int = MAX_PAGE_SIZE,
        token: str | None = None,
        script: dict[int, Action] | None = None,
    ) -> None:
        self.records = records
        self.paging_headers = paging_headers
        self.max_limit = max_limit
        self.token = token
        self.script = script or {}
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict[str, Any]] = []

    @property
    def offsets(self) -> list[int]:
        return [b["offset"] for b in self.bodies]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        number = len(self.requests)
        self.requests.append(request)
        assert request.method == "POST"
        assert request.url.path == WEEKLY_SUMMARY_PATH
        assert request.headers["accept"] == "application/json"
        assert request.headers["content-type"] == "application/json"
        if self.token is None:
            assert "authorization" not in request.headers
        else:
            assert request.headers["authorization"] == f"Bearer {self.token}"
        body = json.loads(request.content)
        assert set(body) == {"fields", "compareFilters", "limit", "offset"}
        assert body["fields"] == list(FULL_COLUMNS)
        assert all(f["compareType"] == "EQUAL" for f in body["compareFilters"])
        filters = {f["fieldName"]: f["fieldValue"] for f in body["compareFilters"]}
        assert set(filters) == {"weekStartDate", "tierIdentifier"}
        assert isinstance(body["limit"], int) and 1 <= body["limit"] <= MAX_PAGE_SIZE
        assert isinstance(body["offset"], int) and 0 <= body["offset"] <= 500_000
        self.bodies.append(body)

        action = self.script.get(number)
        if isinstance(action, Exception):
            raise action
        if isinstance(action, httpx.Response):
            return action
        if action is not None:
            action()

        selected = [
            r
            for r in self.records
            if r["weekStartDate"] == filters["weekStartDate"]
            and r["tierIdentifier"] == filters["tierIdentifier"]
        ]
        limit = min(body["limit"], self.max_limit)
        page = selected[body["offset"] : body["offset"] + limit]
        headers = {"FINRA-api-request-id": f"req-{number:04d}"}
        if self.paging_headers:
            headers |= {
                "Record-Total": str(len(selected)),
                "Record-Offset": str(body["offset"]),
                "Record-Limit": str(limit),
                "Record-Max-Limit": str(MAX_PAGE_SIZE),
                "Total-Records-On-Page": str(len(page)),
            }
        if not page:
            return httpx.Response(204, headers=headers)
        headers["Content-Type"] = "application/json"
        return httpx.Response(200, headers=headers, content=_json_array(page, body["fields"]))


def _json_array(records: list[dict[str, Any]], fields: list[str]) -> bytes:
    """Like FINRA: only requested fields, absent ones left out, number literals verbatim."""

    def value(v: Any) -> str:
        return str(v) if isinstance(v, Raw) else json.dumps(v)

    objects = (
        "{" + ",".join(f"{json.dumps(k)}:{value(r[k])}" for k in fields if k in r) + "}" for r in records
    )
    return ("[" + ",".join(objects) + "]").encode()


def record(**fields: Any) -> dict[str, Any]:
    """A full T1 ``ATS_W_SMBL_FIRM`` record of week 2026-08-31 (published 2026-09-21), with overrides."""
    base: dict[str, Any] = {
        "issueSymbolIdentifier": "AAPL",
        "issueName": "Apple Inc. Common Stock",
        "firmCRDNumber": 154019,
        "MPID": "UBSA",
        "marketParticipantName": "UBSA UBS ATS",
        "tierIdentifier": "T1",
        "tierDescription": "NMS Tier 1",
        "summaryStartDate": "2026-08-31",
        "totalWeeklyTradeCount": 61234,
        "totalWeeklyShareQuantity": 3456789,
        "productTypeCode": "UTP",
        "summaryTypeCode": "ATS_W_SMBL_FIRM",
        "weekStartDate": "2026-08-31",
        "lastUpdateDate": "2026-09-21",
        "initialPublishedDate": "2026-09-21",
        "lastReportedDate": "2026-09-04",
        "totalNotionalSum": 792000000,
    }
    return base | fields


# Real rows (reference 1.11(d), OpenBB fixture): T1 ATS_W_SMBL for AAPL and BRK.B, full record completed.
AAPL_2026_06_01 = record(
    firmCRDNumber=None, MPID="", marketParticipantName="", summaryTypeCode="ATS_W_SMBL",
    weekStartDate="2026-06-01", summaryStartDate="2026-06-01", lastUpdateDate="2026-06-22",
    initialPublishedDate="2026-06-22", lastReportedDate="2026-06-05", totalWeeklyShareQuantity=39490452,
    totalWeeklyTradeCount=714646, totalNotionalSum=Raw("1.2278140514325998E10"),
)  # fmt: skip
BRKB_2026_08_24 = record(
    issueSymbolIdentifier="BRK.B", issueName="BERKSHIRE HATHAWAY Class B", productTypeCode="CTS",
    firmCRDNumber=None, MPID="", marketParticipantName="", summaryTypeCode="ATS_W_SMBL",
    weekStartDate="2026-08-24", summaryStartDate="2026-08-24", lastUpdateDate="2026-09-14",
    initialPublishedDate="2026-09-14", lastReportedDate="2026-09-04", totalWeeklyShareQuantity=3011293,
    totalWeeklyTradeCount=104719, totalNotionalSum=Raw("1.51761886119745E9"),
)  # fmt: skip

# Week 2026-08-31, T1: symbol totals, ATS venue rows and non-ATS firm rows (reference 1.11(g) style).
WEEK_T1 = [
    record(firmCRDNumber=None, MPID="", marketParticipantName="", summaryTypeCode="ATS_W_SMBL",
           totalWeeklyShareQuantity=Raw("68123456.5"), totalWeeklyTradeCount=812340,
           totalNotionalSum=Raw("1.4785138976572317E10")),
    record(),
    record(MPID="INCR", marketParticipantName="INCR INTELLIGENT CROSS LLC", firmCRDNumber=7654,
           totalWeeklyShareQuantity=Raw("2210987.25"), totalWeeklyTradeCount=48211, totalNotionalSum=510234987),
    record(firmCRDNumber=116797, MPID="", marketParticipantName="CITADEL SECURITIES LLC",
           summaryTypeCode="OTC_W_SMBL_FIRM", totalWeeklyTradeCount=812345,
           totalWeeklyShareQuantity=Raw("20114433.905343"), totalNotionalSum=Raw("4612345678.12")),
    record(firmCRDNumber=0, MPID="", marketParticipantName="De Minimis Firms", summaryTypeCode="OTC_W_SMBL_FIRM",
           totalWeeklyTradeCount=9876, totalWeeklyShareQuantity=1234567, totalNotionalSum=283000000),
    record(issueSymbolIdentifier="BRK.B", issueName="BERKSHIRE HATHAWAY Class B", productTypeCode="CTS",
           firmCRDNumber=None, MPID="", marketParticipantName="", summaryTypeCode="ATS_W_SMBL",
           totalWeeklyShareQuantity=2876543, totalWeeklyTradeCount=99871,
           totalNotionalSum=Raw("1.4123456789012E9")),
]  # fmt: skip
OTCE_ROW = record(
    issueSymbolIdentifier="AABB", issueName="Asia Broadband Inc Common Stock", firmCRDNumber=None,
    MPID="OTCN", marketParticipantName="OTCN OTC LINK NQB IDQS", tierIdentifier="OTCE",
    tierDescription="OTC", productTypeCode="OTC", totalWeeklyShareQuantity=6753871,
    totalWeeklyTradeCount=171, totalNotionalSum=Raw("4.6276114E5"), lastUpdateDate="2026-10-05",
    initialPublishedDate="2026-10-05",
)  # fmt: skip
T2_ROW = record(
    issueSymbolIdentifier="AAOI", issueName="Applied Optoelectronics, Inc. Common Stock", MPID="EBXL",
    marketParticipantName="EBXL LEVEL ATS", tierIdentifier="T2", tierDescription="NMS Tier 2",
    totalWeeklyShareQuantity=639234, totalWeeklyTradeCount=7396, totalNotionalSum=21345678,
    lastUpdateDate="2026-10-05", initialPublishedDate="2026-10-05",
)  # fmt: skip

ATS = {
    "UBSA": "UBS ATS", "INCR": "INTELLIGENT CROSS LLC", "EBXL": "LEVEL ATS", "SGMT": "SIGMA X2",
    "MLIX": "INSTINCT X", "BIDS": "BIDS TRADING L.P.", "JPMX": "JPM-X", "MSTX": "MS TRAJECTORY CROSS",
}  # fmt: skip


def many_t1_rows(count: int) -> list[dict[str, Any]]:
    """``count`` distinct T1 ATS venue rows of week 2026-08-31 (symbol x MPID), integer era."""
    mpids = list(ATS)
    rows = []
    for i in range(count):
        symbol, mpid = f"S{i // len(mpids):05d}", mpids[i % len(mpids)]
        rows.append(
            record(
                issueSymbolIdentifier=symbol, issueName=f"{symbol} Holdings Inc. Common Stock", MPID=mpid,
                marketParticipantName=f"{mpid} {ATS[mpid]}", firmCRDNumber=100000 + i % len(mpids),
                totalWeeklyShareQuantity=1 + (i * 7919) % 900_000, totalWeeklyTradeCount=1 + (i * 104729) % 9_000,
                totalNotionalSum=(i * 31337) % 50_000_000,
            )
        )  # fmt: skip
    return rows


def plain_text(r: dict[str, Any]) -> dict[str, str]:
    """The expected text row of a record holding only strings, ints and None (independent of the client)."""
    return {c: "" if r.get(c) is None else str(r[c]) for c in FULL_COLUMNS}


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client_for(server: FakeFinra, sleeps: list[float], **kwargs: Any) -> FinraOtcClient:
    return FinraOtcClient(transport=httpx.MockTransport(server), sleep=sleeps.append, **kwargs)


def error_response(status: int, text: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(status, text=text, headers={"FINRA-api-request-id": f"rid-{status}", **headers})


# -- paging -------------------------------------------------------------------------------------------


def test_multi_page_fetch_reads_every_row_in_api_order(sleeps: list[float]) -> None:
    rows = many_t1_rows(12_345)
    noise = [record(weekStartDate="2026-08-24"), T2_ROW, OTCE_ROW]
    server = FakeFinra(noise[:1] + rows[:6000] + noise[1:] + rows[6000:])
    got = client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")
    assert server.offsets == [0, 5000, 10_000]
    assert [b["limit"] for b in server.bodies] == [5000, 5000, 5000]
    assert got == [plain_text(r) for r in rows]
    assert all(list(row) == list(FULL_COLUMNS) for row in got[:3])
    assert sleeps == []


def test_page_size_smaller_than_the_maximum(sleeps: list[float]) -> None:
    server = FakeFinra(many_t1_rows(12))
    got = client_for(server, sleeps, page_size=5).fetch_week(WEEK, "NMS_TIER_1")
    assert server.offsets == [0, 5, 10]
    assert [b["limit"] for b in server.bodies] == [5, 5, 5]
    assert len(got) == 12


def test_record_total_read_exactly_needs_no_extra_request(sleeps: list[float]) -> None:
    server = FakeFinra(many_t1_rows(10))
    assert len(client_for(server, sleeps, page_size=5).fetch_week(WEEK, "NMS_TIER_1")) == 10
    assert server.offsets == [0, 5]


def test_without_paging_headers_a_short_page_ends_the_read(sleeps: list[float]) -> None:
    server = FakeFinra(many_t1_rows(7), paging_headers=False)
    got = client_for(server, sleeps, page_size=3).fetch_week(WEEK, "NMS_TIER_1")
    assert server.offsets == [0, 3, 6]
    assert got == [plain_text(r) for r in many_t1_rows(7)]


def test_without_paging_headers_a_204_after_full_pages_ends_the_read(sleeps: list[float]) -> None:
    server = FakeFinra(many_t1_rows(6), paging_headers=False)
    assert len(client_for(server, sleeps, page_size=3).fetch_week(WEEK, "NMS_TIER_1")) == 6
    assert server.offsets == [0, 3, 6]


def test_server_capping_the_limit_still_reads_record_total_rows(sleeps: list[float]) -> None:
    server = FakeFinra(many_t1_rows(7), max_limit=3)
    got = client_for(server, sleeps, page_size=5).fetch_week(WEEK, "NMS_TIER_1")
    assert server.offsets == [0, 3, 6]
    assert len(got) == 7


def test_204_is_an_empty_week(sleeps: list[float]) -> None:
    server = FakeFinra([T2_ROW, OTCE_ROW])
    assert client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1") == []
    assert len(server.requests) == 1


def test_empty_json_array_is_an_empty_week(sleeps: list[float]) -> None:
    server = FakeFinra([], script={0: httpx.Response(200, json=[], headers={"Record-Total": "0"})})
    assert client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1") == []
    assert len(server.requests) == 1


def test_partition_republished_while_paging_is_a_retryable_error(sleeps: list[float]) -> None:
    server = FakeFinra(many_t1_rows(7))
    server.script = {1: lambda: server.records.append(record(issueSymbolIdentifier="ZZZZ"))}
    with pytest.raises(FinraApiTransientError, match="Record-Total changed from 7 to 8") as info:
        client_for(server, sleeps, page_size=5).fetch_week(WEEK, "NMS_TIER_1")
    assert info.value.retryable


def test_a_204_before_record_total_is_reached_is_a_retryable_error(sleeps: list[float]) -> None:
    server = FakeFinra(many_t1_rows(7), script={1: httpx.Response(204)})
    with pytest.raises(FinraApiTransientError, match="read 5 of Record-Total 7"):
        client_for(server, sleeps, page_size=5).fetch_week(WEEK, "NMS_TIER_1")


# -- request shape and tiers --------------------------------------------------------------------------


def test_request_names_every_field_both_partition_filters_and_json(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1)
    client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")
    (request,) = server.requests
    assert str(request.url) == "https://api.finra.org/data/group/otcMarket/name/weeklySummary"
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers
    assert server.bodies == [
        {
            "fields": list(FULL_COLUMNS),
            "compareFilters": [
                {"compareType": "EQUAL", "fieldName": "weekStartDate", "fieldValue": "2026-08-31"},
                {"compareType": "EQUAL", "fieldName": "tierIdentifier", "fieldValue": "T1"},
            ],
            "limit": 5000,
            "offset": 0,
        }
    ]


def test_base_url_trailing_slash(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1)
    client_for(server, sleeps, base_url="http://finra.test:8080/").fetch_week(WEEK, "NMS_TIER_1")
    assert str(server.requests[0].url) == "http://finra.test:8080/data/group/otcMarket/name/weeklySummary"


@pytest.mark.parametrize(
    ("tier", "tier_id", "expected"),
    [
        ("NMS_TIER_1", "T1", WEEK_T1),
        ("NMS_TIER_2", "T2", [T2_ROW]),
        ("OTC", "OTCE", [OTCE_ROW]),
        ("T1", "T1", WEEK_T1),
        ("OTCE", "OTCE", [OTCE_ROW]),
    ],
)
def test_tier_names_map_to_finra_tier_identifiers(
    sleeps: list[float], tier: str, tier_id: str, expected: list[dict[str, Any]]
) -> None:
    server = FakeFinra([*WEEK_T1, T2_ROW, OTCE_ROW, AAPL_2026_06_01])
    got = client_for(server, sleeps).fetch_week(WEEK, tier)
    assert server.bodies[0]["compareFilters"][1]["fieldValue"] == tier_id
    assert [r["issueSymbolIdentifier"] for r in got] == [r["issueSymbolIdentifier"] for r in expected]
    assert {r["tierIdentifier"] for r in got} == {tier_id}


@pytest.mark.parametrize("tier", ["NMS_TIER_3", "", "NA"])
def test_unknown_tier_is_bad_config_without_a_request(sleeps: list[float], tier: str) -> None:
    server = FakeFinra(WEEK_T1)
    with pytest.raises(BadConfigError, match="unknown FINRA OTC tier"):
        client_for(server, sleeps).fetch_week(WEEK, tier)
    assert server.requests == []


def test_week_start_must_be_a_monday(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1)
    with pytest.raises(BadConfigError, match="Monday"):
        client_for(server, sleeps).fetch_week(dt.date(2026, 9, 4), "NMS_TIER_1")
    assert server.requests == []


@pytest.mark.parametrize("page_size", [0, -1, MAX_PAGE_SIZE + 1])
def test_page_size_beyond_finras_limit_is_refused(page_size: int) -> None:
    with pytest.raises(ValueError, match="page_size"):
        FinraOtcClient(page_size=page_size)


# -- text rendering -----------------------------------------------------------------------------------


def test_numbers_keep_every_digit(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1)
    smbl, ubsa, incr, citadel, de_minimis, brkb = client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")

    assert smbl["totalNotionalSum"] == "14785138976.572317"
    assert float(smbl["totalNotionalSum"]) == 1.4785138976572317e10
    assert smbl["totalWeeklyShareQuantity"] == "68123456.5"
    assert brkb["totalNotionalSum"] == "1412345678.9012"
    assert citadel["totalWeeklyShareQuantity"] == "20114433.905343"
    assert citadel["totalNotionalSum"] == "4612345678.12"
    assert incr["totalWeeklyShareQuantity"] == "2210987.25"
    assert ubsa["totalWeeklyShareQuantity"] == "3456789"
    assert ubsa["totalNotionalSum"] == "792000000"
    assert ubsa["totalWeeklyTradeCount"] == "61234"
    assert ubsa["firmCRDNumber"] == "154019"
    assert (de_minimis["totalWeeklyShareQuantity"], de_minimis["totalNotionalSum"]) == (
        "1234567",
        "283000000",
    )


def test_real_api_rows_round_trip(sleeps: list[float]) -> None:
    server = FakeFinra([AAPL_2026_06_01, BRKB_2026_08_24])
    (aapl,) = client_for(server, sleeps).fetch_week(dt.date(2026, 6, 1), "NMS_TIER_1")
    (brkb,) = client_for(server, sleeps).fetch_week(dt.date(2026, 8, 24), "NMS_TIER_1")
    assert aapl["totalNotionalSum"] == "12278140514.325998"
    assert float(aapl["totalNotionalSum"]) == 1.2278140514325998e10
    assert brkb["totalNotionalSum"] == "1517618861.19745"
    assert float(brkb["totalNotionalSum"]) == 1.51761886119745e9
    assert aapl | {"totalNotionalSum": ""} == plain_text(AAPL_2026_06_01 | {"totalNotionalSum": None})
    assert brkb["issueSymbolIdentifier"] == "BRK.B"
    assert brkb["productTypeCode"] == "CTS"


def test_non_ats_firm_rows_keep_blank_mpid_and_de_minimis_crd_zero(sleeps: list[float]) -> None:
    rows = client_for(FakeFinra(WEEK_T1), sleeps).fetch_week(WEEK, "NMS_TIER_1")
    citadel, de_minimis = rows[3], rows[4]
    assert (citadel["MPID"], citadel["firmCRDNumber"], citadel["marketParticipantName"]) == (
        "",
        "116797",
        "CITADEL SECURITIES LLC",
    )
    assert (de_minimis["MPID"], de_minimis["firmCRDNumber"], de_minimis["marketParticipantName"]) == (
        "",
        "0",
        "De Minimis Firms",
    )
    assert de_minimis["summaryTypeCode"] == "OTC_W_SMBL_FIRM"


def test_digits_beyond_double_precision_are_kept(sleeps: list[float]) -> None:
    server = FakeFinra(
        [record(totalWeeklyShareQuantity=Raw("0.10000000000000000001"), totalNotionalSum=Raw("1E2"))]
    )
    (row,) = client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")
    assert row["totalWeeklyShareQuantity"] == "0.10000000000000000001"
    assert row["totalNotionalSum"] == "100"


def test_missing_and_null_fields_become_empty_text(sleeps: list[float]) -> None:
    old = {k: v for k, v in record().items() if k not in ("totalNotionalSum", "lastReportedDate")}
    blanks = record(firmCRDNumber=None, MPID=None, marketParticipantName=None, summaryTypeCode="ATS_W_SMBL")
    (got_old, got_blanks) = client_for(FakeFinra([old, blanks]), sleeps).fetch_week(WEEK, "NMS_TIER_1")
    assert list(got_old) == list(FULL_COLUMNS)
    assert got_old["totalNotionalSum"] == "" and got_old["lastReportedDate"] == ""
    assert got_old["MPID"] == "UBSA"
    assert (got_blanks["firmCRDNumber"], got_blanks["MPID"], got_blanks["marketParticipantName"]) == (
        "",
        "",
        "",
    )


def test_extra_fields_from_the_api_are_ignored() -> None:
    (row,) = records_to_text_rows([{"MPID": "UBSA", "somethingNew": 1}])
    assert list(row) == list(FULL_COLUMNS)
    assert row["MPID"] == "UBSA"
    assert "somethingNew" not in row


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("", ""),
        ("BRK.B", "BRK.B"),
        (0, "0"),
        (12345678901234567890, "12345678901234567890"),
        (1.4785138976572317e10, "14785138976.572317"),
        (20114433.905343, "20114433.905343"),
        (0.1, "0.1"),
        (1e16, "10000000000000000"),
        (1.5e-7, "0.00000015"),
        (2045218749.0, "2045218749.0"),
        (True, "true"),
    ],
)
def test_text_value(value: object, text: str) -> None:
    assert text_value(value) == text
    if isinstance(value, float):
        assert float(text) == value


# -- retries ------------------------------------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1, script={0: error_response(429, "Too Many Requests", **{"Retry-After": "7"})})
    assert len(client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")) == len(WEEK_T1)
    assert sleeps == [7.0]
    assert len(server.requests) == 2


def test_429_without_usable_retry_after_backs_off(sleeps: list[float]) -> None:
    server = FakeFinra(
        WEEK_T1,
        script={
            0: error_response(429),
            1: error_response(429, **{"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}),
        },
    )
    client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")
    assert sleeps == [1.0, 2.0]


def test_503_twice_then_success(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1, script={0: error_response(503), 1: error_response(503)})
    got = client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")
    assert got == client_for(FakeFinra(WEEK_T1), []).fetch_week(WEEK, "NMS_TIER_1")
    assert sleeps == [1.0, 2.0]
    assert len(server.requests) == 3


def test_a_failed_page_is_retried_at_the_same_offset(sleeps: list[float]) -> None:
    rows = many_t1_rows(7)
    server = FakeFinra(rows, script={1: error_response(502)})
    got = client_for(server, sleeps, page_size=3).fetch_week(WEEK, "NMS_TIER_1")
    assert server.offsets == [0, 3, 3, 6]
    assert got == [plain_text(r) for r in rows]
    assert sleeps == [1.0]


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_network_error_then_success(sleeps: list[float], exc_type: type[httpx.TransportError]) -> None:
    server = FakeFinra(WEEK_T1)
    server.script = {0: exc_type("boom", request=httpx.Request("POST", "https://api.finra.org"))}
    assert len(client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")) == len(WEEK_T1)
    assert sleeps == [1.0]
    assert len(server.requests) == 2


def test_backoff_is_exponential_and_capped_then_retryable_error(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1, script={i: error_response(503, "Service Unavailable") for i in range(6)})
    client = client_for(server, sleeps, max_retries=5, backoff_seconds=1.0, max_backoff_seconds=3.0)
    with pytest.raises(FinraApiTransientError) as info:
        client.fetch_week(WEEK, "NMS_TIER_1")
    assert sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert len(server.requests) == 6
    err = info.value
    assert isinstance(err, StepRunError) and isinstance(err, FinraApiError)
    assert not isinstance(err, BadConfigError)
    assert err.retryable
    assert (err.status, err.path, err.request_id, err.attempts) == (503, WEEKLY_SUMMARY_PATH, "rid-503", 6)
    message = str(err)
    assert "HTTP 503" in message and WEEKLY_SUMMARY_PATH in message and "rid-503" in message
    assert "after 6 attempts" in message and "Service Unavailable" in message


def test_network_errors_exhausting_retries_raise_the_retryable_error(sleeps: list[float]) -> None:
    request = httpx.Request("POST", "https://api.finra.org")
    server = FakeFinra(
        WEEK_T1, script={i: httpx.ConnectError("connection refused", request=request) for i in range(3)}
    )
    with pytest.raises(FinraApiTransientError, match="ConnectError: connection refused") as info:
        client_for(server, sleeps, max_retries=2).fetch_week(WEEK, "NMS_TIER_1")
    assert sleeps == [1.0, 2.0]
    assert info.value.status is None
    assert info.value.retryable
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_max_retries_zero_makes_one_attempt(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1, script={0: error_response(500)})
    with pytest.raises(FinraApiTransientError):
        client_for(server, sleeps, max_retries=0).fetch_week(WEEK, "NMS_TIER_1")
    assert len(server.requests) == 1 and sleeps == []


# -- permanent errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (400, '{"statusCode":400,"message":"Invalid field name: totalWeeklyShares"}'),
        (401, '{"statusCode":401,"message":"Unauthorized"}'),
        (403, '{"statusCode":403,"message":"Forbidden"}'),
        (404, '{"statusCode":404,"message":"Dataset not found"}'),
    ],
)
def test_client_errors_are_permanent_and_not_retried(sleeps: list[float], status: int, text: str) -> None:
    server = FakeFinra(WEEK_T1, script={0: error_response(status, text)})
    with pytest.raises(FinraApiPermanentError) as info:
        client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")
    assert len(server.requests) == 1
    assert sleeps == []
    err = info.value
    assert isinstance(err, BadConfigError) and isinstance(err, FinraApiError)
    assert not err.retryable
    assert (err.status, err.request_id, err.attempts) == (status, f"rid-{status}", 1)
    message = str(err)
    assert f"HTTP {status}" in message and WEEKLY_SUMMARY_PATH in message and f"rid-{status}" in message
    assert text in message


def test_long_error_bodies_are_truncated(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1, script={0: error_response(400, "<html>" + "x" * 5000 + "</html>")})
    with pytest.raises(FinraApiPermanentError) as info:
        client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")
    assert len(str(info.value)) < 700
    assert str(info.value).endswith("...")


def test_a_body_that_is_not_json_is_a_permanent_error(sleeps: list[float]) -> None:
    csv = "issueSymbolIdentifier,issueName\nAAPL,Apple Inc. Common Stock\n"
    server = FakeFinra(
        WEEK_T1, script={0: httpx.Response(200, text=csv, headers={"FINRA-api-request-id": "r1"})}
    )
    with pytest.raises(FinraApiPermanentError, match="not JSON") as info:
        client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")
    assert info.value.request_id == "r1"


def test_json_that_is_not_an_array_of_records_is_a_permanent_error(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1, script={0: httpx.Response(200, json={"message": "hello"})})
    with pytest.raises(FinraApiPermanentError, match="not an array of records"):
        client_for(server, sleeps).fetch_week(WEEK, "NMS_TIER_1")


def test_an_unsupported_base_url_scheme_is_a_permanent_error(sleeps: list[float]) -> None:
    # No transport: httpx's own transport refuses the scheme before any connection is attempted.
    client = FinraOtcClient(base_url="ftp://finra.invalid", sleep=sleeps.append)
    with pytest.raises(FinraApiPermanentError, match="bad base URL"):
        client.fetch_week(WEEK, "NMS_TIER_1")
    assert sleeps == []


# -- the token ----------------------------------------------------------------------------------------


def test_token_goes_in_the_bearer_header(sleeps: list[float]) -> None:
    server = FakeFinra(WEEK_T1, token=TOKEN)  # the fake server asserts the header on every request
    assert len(client_for(server, sleeps, token=TOKEN).fetch_week(WEEK, "NMS_TIER_1")) == len(WEEK_T1)
    assert TOKEN not in repr(client_for(server, sleeps, token=TOKEN))


def test_token_never_appears_in_error_messages_or_logs(
    sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    echo = f'{{"message":"invalid token Bearer {TOKEN}"}}'
    caplog.set_level(logging.DEBUG)
    request = httpx.Request("POST", "https://api.finra.org")
    server = FakeFinra(
        WEEK_T1,
        token=TOKEN,
        script={
            0: error_response(503, echo),
            1: httpx.ConnectError(f"failed with {TOKEN}", request=request),
            2: error_response(503, echo),
        },
    )
    with pytest.raises(FinraApiTransientError) as transient:
        client_for(server, sleeps, token=TOKEN, max_retries=2).fetch_week(WEEK, "NMS_TIER_1")
    server = FakeFinra(WEEK_T1, token=TOKEN, script={0: error_response(401, echo)})
    with pytest.raises(FinraApiPermanentError) as permanent:
        client_for(server, sleeps, token=TOKEN).fetch_week(WEEK, "NMS_TIER_1")
    for err in (transient.value, permanent.value):
        assert TOKEN not in str(err) and TOKEN not in err.body
        assert "invalid token Bearer ***" in str(err)
    assert caplog.records, "retries are logged"
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
