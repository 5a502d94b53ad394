"""The ingest -> normalize hand-off (handoff.py) changes where normalize gets its capture's raw rows, never
what it writes: normalize after an ingest in the same process (the rows handed over) and normalize reading
the capture back from the warehouse write identical weekly_volume and rejects rows, rejects included, on
both backends; the hand-off is refused to another connection or capture and is taken once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from spine_dagster.domains.finra_otc import handoff
from spine_dagster.domains.finra_otc import tables as t
from spine_dagster.domains.finra_otc.generate import DEFECTS, generate
from spine_dagster.pipelines import StepContext, discover_pipelines
from spine_dagster.warehouse import open_warehouse

WEEKS = [dt.date(2025, 11, 17) + dt.timedelta(weeks=i) for i in range(3)]
TIERS = ("NMS_TIER_1", "NMS_TIER_2", "OTC")
_CAPTURE_SPECIFIC = ["capture_id", "captured_at"]  # differ between any two captures, by design


@pytest.fixture(scope="module", name="sources")
def sources_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three generated weeks with every defect injected (the shipped samples have no rejectable rows)."""
    out = tmp_path_factory.mktemp("defects")
    weeks = [w.isoformat() for w in WEEKS]
    generate(out, weeks=weeks, symbols_per_tier={"T1": 8, "T2": 12, "OTCE": 24}, seed=11, inject=DEFECTS)
    return out


def _run(step: str, warehouse: object, sources: Path, week: dt.date, tier: str) -> None:
    pipeline = discover_pipelines().get(f"finra.otc_transparency.{step}_week")
    params = {"week_start": week.isoformat(), "tier": tier}
    if step == "ingest":
        params["source_dir"] = str(sources)
    pipeline.run(
        StepContext("test", step, "r", "b", params=params, warehouse=warehouse),
        pipeline.Params.model_validate(params),
    )


def _normalized(
    url: str, sources: Path, handed_over: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, pd.DataFrame], int]:
    """Ingest + normalize every (week, tier) into an empty schema; the tables normalize wrote, sorted, and
    the hand-offs taken. The schema is dropped afterwards, for the next pass."""
    taken = []
    real_take = handoff.take

    def take(warehouse: object, capture_id: str) -> pa.Table | None:
        rows = real_take(warehouse, capture_id) if handed_over else None  # type: ignore[arg-type]
        taken.append(rows is not None)
        return rows

    monkeypatch.setattr(handoff, "take", take)
    warehouse = open_warehouse(url)
    try:
        for week in WEEKS:
            for tier in TIERS:
                _run("ingest", warehouse, sources, week, tier)
                _run("normalize", warehouse, sources, week, tier)
        tables = {}
        for table in (t.WEEKLY_VOLUME, t.REJECTS):
            frame = warehouse.query_df(f"SELECT * FROM {table.name}").drop(columns=_CAPTURE_SPECIFIC)
            tables[table.name] = frame.sort_values(
                ["week_start", "tier", "source_file", "row_number"]
            ).reset_index(drop=True)
        warehouse.execute(f"DROP SCHEMA {t.SCHEMA} CASCADE")
    finally:
        warehouse.close()
    return tables, sum(taken)


def test_normalize_writes_the_same_rows_from_the_handoff_and_from_the_warehouse(
    warehouse_url: str, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed, taken = _normalized(warehouse_url, sources, True, monkeypatch)
    read_back, not_taken = _normalized(warehouse_url, sources, False, monkeypatch)
    assert (taken, not_taken) == (len(WEEKS) * len(TIERS), 0)
    assert len(handed[t.WEEKLY_VOLUME.name]) > 1000 and len(handed[t.REJECTS.name]) > 0  # rejects covered too
    for name, frame in handed.items():
        pd.testing.assert_frame_equal(frame, read_back[name], check_exact=True)


def test_the_handoff_goes_only_to_its_connection_and_capture_once(tmp_path: Path) -> None:
    rows = pa.table({name: pa.nulls(2) for name in t.RAW_WEEKLY.column_names})
    first, second = open_warehouse(f"duckdb:///{tmp_path / 'a.duckdb'}"), open_warehouse("duckdb:///:memory:")
    try:
        handoff.keep(first, "cap-1", rows)
        assert handoff.take(second, "cap-1") is None  # another connection: another warehouse, maybe
        assert handoff.take(first, "cap-2") is None  # another capture
        kept = handoff.take(first, "cap-1")
        assert kept is not None and kept.column_names == list(handoff.READ_COLUMNS) and kept.num_rows == 2
        assert handoff.take(first, "cap-1") is None  # taken once: a retried normalize reads the warehouse
        handoff.keep(first, "cap-1", rows)
        handoff.keep(first, "cap-3", rows)  # only the newest capture is kept
        assert handoff.take(first, "cap-1") is None and handoff.take(first, "cap-3") is not None
        # The end of the writing connection releases what it kept (a process whose normalize runs elsewhere).
        gone = open_warehouse("duckdb:///:memory:")
        handoff.keep(gone, "cap-4", rows)
        assert handoff._kept is not None
        gone.close()
        del gone
        assert handoff._kept is None
    finally:
        first.close()
        second.close()
