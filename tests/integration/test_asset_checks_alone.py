"""The FINRA quality checks run alone, as Dagster asset checks without a partition, over every (week, tier)
in the warehouse's latest views (run for one partition, they look at that partition:
tests/integration/test_partitioned_assets.py)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from spine_dagster.composition import build_definitions
from spine_dagster.pipelines import StepContext, discover_pipelines
from spine_dagster.settings import get_settings
from spine_dagster.warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[2]
STEPS = ("ingest_week", "normalize_week", "aggregate_week", "compute_rolling")


def _load_samples(url: str) -> None:
    registry = discover_pipelines()
    warehouse = open_warehouse(url)
    try:
        for week in ("2025-12-12", "2025-12-19", "2025-12-26"):
            params = {"week_ending": week, "tier": "OTC"}
            for name in STEPS:
                pipeline = registry.get(f"finra.otc_transparency.{name}")
                model = pipeline.Params.model_validate(params)
                pipeline.run(StepContext("g", name, "r", "b", params=params, warehouse=warehouse), model)
    finally:
        warehouse.close()


def _evaluate(monkeypatch: pytest.MonkeyPatch, url: str) -> dict[tuple[str, str], bool]:
    monkeypatch.setenv("SPINE_WAREHOUSE_URL", url)
    monkeypatch.setenv("SPINE_GROUPS_DIR", str(REPO / "groups"))
    defs = build_definitions(get_settings())
    job = defs.resolve_implicit_global_asset_job_def()
    checks = {key for check in defs.asset_checks or [] for key in check.check_keys}  # type: ignore[union-attr]
    with dg.instance_for_test() as instance:
        # the checks alone: no asset is materialized (the tables are the group's partitioned assets)
        result = job.get_subset(asset_selection=set(), asset_check_selection=checks).execute_in_process(
            instance=instance, raise_on_error=False
        )
        return {
            (
                e.event_specific_data.asset_key.to_user_string(),
                e.event_specific_data.check_name,
            ): e.event_specific_data.passed
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        }


def test_every_table_check_runs_alone_and_sees_bad_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    _load_samples(url)
    results = _evaluate(monkeypatch, url)
    assert results == {
        ("finra_otc/raw_weekly", "raw_not_empty"): True,
        ("finra_otc/weekly_volume", "unique_natural_keys"): True,
        ("finra_otc/weekly_volume", "smbl_reconciliation"): True,
        ("finra_otc/rejects", "reject_rate"): True,
        ("finra_otc/venue_week", "market_share_sum"): True,
        ("finra_otc/symbol_week", "hhi_range"): True,
        ("finra_otc/symbol_rolling", "volume_anomaly"): results[
            ("finra_otc/symbol_rolling", "volume_anomaly")
        ],
        ("spine/group_files", "all_group_files_valid"): True,
    }
    warehouse = open_warehouse(url)
    try:  # corrupt the latest data: a duplicated row and a venue share that no longer sums to 1
        warehouse.execute(
            "INSERT INTO finra_otc.weekly_volume SELECT * FROM finra_otc.weekly_volume_latest "
            "WHERE summary_type = 'ATS_W_SMBL_FIRM' LIMIT 1"
        )
        warehouse.execute("UPDATE finra_otc.venue_week SET market_share = market_share * 1.5 WHERE rank = 1")
    finally:
        warehouse.close()
    broken = _evaluate(monkeypatch, url)
    assert broken[("finra_otc/weekly_volume", "unique_natural_keys")] is False
    assert (
        broken[("finra_otc/weekly_volume", "smbl_reconciliation")] is False
    )  # the firm rows now sum too high
    assert broken[("finra_otc/venue_week", "market_share_sum")] is False
    assert broken[("finra_otc/symbol_week", "hhi_range")] is True
