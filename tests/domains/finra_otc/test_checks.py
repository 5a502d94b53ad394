"""The SMBL reconciliation and duplicate-key checks, computed in the warehouse: exact counts, messages and
examples on hand-made rows, on both backends, scoped to a step's (week, tier) and over the whole table."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from spine_dagster.domains.finra_otc import tables as t
from spine_dagster.domains.finra_otc.checks import smbl_reconciliation, unique_natural_keys
from spine_dagster.pipelines.context import CheckContext, CheckScope
from spine_dagster.warehouse import open_warehouse
from tests.domains.finra_otc.test_aggregates import CAPTURE, WEEK, _row


def _check(wh: object, whole_table: bool = False, check=smbl_reconciliation):  # type: ignore[no-untyped-def]
    scope = (
        CheckScope("table") if whole_table else CheckScope("step", {"week_start": WEEK, "tier": "NMS_TIER_1"})
    )
    return check(CheckContext(scope, wh))


def _load(wh: object, rows: list[dict]) -> None:
    with wh.transaction():  # type: ignore[attr-defined]
        t.replace_capture_rows(wh, t.WEEKLY_VOLUME, pd.DataFrame(rows), WEEK, "NMS_TIER_1", CAPTURE, "b")  # type: ignore[arg-type]


def test_smbl_reconciliation_exact(warehouse_url: str) -> None:
    wh = open_warehouse(warehouse_url)
    try:
        t.ensure_tables(wh)
        assert (_check(wh).passed, _check(wh).message) == (True, "no symbol rows")
        only_firms = [_row("ATS_W_SMBL_FIRM", "AAA", "alpha", "ATS", 300, 3)]
        _load(wh, only_firms)
        outcome = _check(wh)
        assert (outcome.passed, outcome.message) == (True, "the source has no *_W_SMBL totals to reconcile")
        rows = [
            # AAA agrees: firm rows 300 + 100.5 shares, 3 + 1 trades = the total row
            _row("ATS_W_SMBL_FIRM", "AAA", "alpha", "ATS", 300, 3),
            _row("ATS_W_SMBL_FIRM", "AAA", "beta", "ATS", 100.5, 1),
            _row("ATS_W_SMBL", "AAA", None, "ATS", 400.5, 4),
            # BBB: shares differ (OTC side); CCC: trades differ (ATS side)
            _row("OTC_W_SMBL_FIRM", "BBB", "x", "NON_ATS", 10, 1),
            _row("OTC_W_SMBL", "BBB", None, "NON_ATS", 11, 1),
            _row("ATS_W_SMBL_FIRM", "CCC", "x", "ATS", 10, 1),
            _row("ATS_W_SMBL", "CCC", None, "ATS", 10, 2),
            # AAA's OTC side has firm rows and no total: not compared; DDD has a total and no firm rows
            _row("OTC_W_SMBL_FIRM", "AAA", "y", "NON_ATS", 7, 1),
            _row("ATS_W_SMBL", "DDD", None, "ATS", 5, 1),
            # not symbol rows: ignored
            _row("ATS_W_FIRM", None, "alpha", "ATS", 999, 9),
        ]
        _load(wh, rows)  # the same capture again: replaces the first load
        for whole_table in (False, True):
            outcome = _check(wh, whole_table)
            assert not outcome.passed
            assert outcome.message == "2 symbol total(s) differ from their firm rows"
            assert outcome.metadata["symbols_compared"] == 3
            assert outcome.metadata["mismatches"] == 2
            examples = outcome.metadata["examples"]
            assert [e["key"].split("|")[1:] for e in examples] == [
                ["NMS_TIER_1", "ATS", "CCC"],
                ["NMS_TIER_1", "OTC", "BBB"],
            ]
            assert examples[0]["key"].startswith("2025-12-22")
            assert [(e["firm_shares"], e["total_shares"]) for e in examples] == [(10.0, 10.0), (10.0, 11.0)]
        _load(wh, rows[:3])  # only AAA, which agrees
        outcome = _check(wh)
        assert (outcome.passed, outcome.message) == (True, "SMBL_FIRM rows sum to the SMBL totals")
        assert outcome.metadata == {"symbols_compared": 1, "mismatches": 0, "examples": []}
    finally:
        wh.close()


def test_unique_natural_keys_exact(warehouse_url: str) -> None:
    """Duplicates are found by a hash of the key and then compared exactly: keys that Postgres's hash input
    cannot tell apart (a NULL symbol and a NULL venue swapped) are not reported, NULLs compare equal, and an
    older capture's rows are not counted."""
    wh = open_warehouse(warehouse_url)
    try:
        t.ensure_tables(wh)
        outcome = _check(wh, check=unique_natural_keys)
        assert (outcome.passed, outcome.message, outcome.metadata["rows_checked"]) == (
            True,
            "no duplicate keys",
            0,
        )
        distinct = [
            _row("ATS_W_SMBL_FIRM", "AAA", "alpha", "ATS", 300, 3),
            _row("ATS_W_SMBL_FIRM", "AAA", "beta", "ATS", 100, 1),
            _row("ATS_W_SMBL_FIRM", "X", None, "ATS", 1, 1),  # concat_ws input 'ATS_W_SMBL_FIRM X' ...
            _row("ATS_W_SMBL_FIRM", None, "X", "ATS", 1, 1),  # ... the same for this different key
        ]
        _load(wh, distinct)
        for whole_table in (False, True):
            outcome = _check(wh, whole_table, unique_natural_keys)
            assert (outcome.passed, outcome.message) == (True, "no duplicate keys")
            assert outcome.metadata["rows_checked"] == 4 and outcome.metadata["duplicate_keys"] == 0
        _load(wh, [*distinct, distinct[1], distinct[3], distinct[3]])
        for whole_table in (False, True):
            outcome = _check(wh, whole_table, unique_natural_keys)
            assert (outcome.passed, outcome.message) == (False, "2 key(s) appear more than once")
            assert outcome.metadata["rows_checked"] == 7 and outcome.metadata["duplicate_keys"] == 2
            examples = outcome.metadata["examples"]
            text = [
                tuple(e[k] if isinstance(e[k], str) else "" for k in ("symbol", "venue", "copies"))
                for e in examples
            ]
            assert sorted(text) == [("", "X", "3"), ("AAA", "beta", "2")]
        # A newer capture of the week without the duplicates: the check reads only what the view shows.
        newer = {"capture_id": "newer", "captured_at": CAPTURE["captured_at"] + dt.timedelta(hours=1)}
        with wh.transaction():  # type: ignore[attr-defined]
            t.replace_capture_rows(
                wh,
                t.WEEKLY_VOLUME,
                pd.DataFrame([_row(*a, capture=newer) for a in [("OTC_W_SMBL", "Q", None, "NON_ATS", 1, 1)]]),
                WEEK,
                "NMS_TIER_1",
                newer,
                "b",
            )  # type: ignore[arg-type]
        for whole_table in (False, True):
            outcome = _check(wh, whole_table, unique_natural_keys)
            assert (outcome.passed, outcome.metadata["rows_checked"]) == (True, 1)
    finally:
        wh.close()
