"""The SMBL reconciliation check, computed in the warehouse: exact counts, messages and examples on hand-made
rows, on both backends, scoped to a step's (week, tier) and over the whole table."""

from __future__ import annotations

import pandas as pd

from spine_dagster.domains.finra_otc import tables as t
from spine_dagster.domains.finra_otc.checks import smbl_reconciliation
from spine_dagster.pipelines.context import CheckContext, CheckScope
from spine_dagster.warehouse import open_warehouse
from tests.domains.finra_otc.test_aggregates import CAPTURE, WEEK, _row


def _check(wh: object, whole_table: bool = False):  # type: ignore[no-untyped-def]
    scope = (
        CheckScope("table") if whole_table else CheckScope("step", {"week_start": WEEK, "tier": "NMS_TIER_1"})
    )
    return smbl_reconciliation(CheckContext(scope, wh))


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
