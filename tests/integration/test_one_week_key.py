"""One FINRA week has one key everywhere (issue 12 §2): the week of Monday 2025-11-17 (FINRA's weekStartDate),
tier NMS_TIER_1, is ``2025-11-17|NMS_TIER_1`` in the job's partitions, the Launchpad's partitioned config
(which still fills ``week_ending: 2025-11-21``), a schedule tick, a file-arrival sensor tick, ``spine run``'s
run tags and the capture id of the ingest."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest

from spine_dagster.composition import build_code_location
from spine_dagster.defs.partitions import PartitionKeys
from spine_dagster.settings import Settings
from spine_dagster.warehouse import open_warehouse
from tests.conftest import evaluate_tick
from tests.integration.conftest import REPO, Workspace, step_params

KEY = "2025-11-17|NMS_TIER_1"
JOB = "finra__weekly_refresh"


def test_the_shipped_group_names_the_week_by_its_monday_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        home=tmp_path / "home", groups_dir=REPO / "groups", warehouse_url="duckdb:///:memory:", strict=True
    )
    location = build_code_location(settings)
    defs = location.definitions
    job = defs.resolve_job_def(JOB)
    assert job.partitions_def is not None
    keys = job.partitions_def.get_partition_keys(current_time=dt.datetime(2025, 12, 29, tzinfo=dt.UTC))
    assert keys[0] == KEY  # the first sample week; every key is a Monday, then the tier
    assert {k.split("|")[0] for k in keys} == {
        "2025-11-17",
        "2025-11-24",
        "2025-12-01",
        "2025-12-08",
        "2025-12-15",
        "2025-12-22",
    }
    # the Launchpad's config for the key: the group's week_ending param is still the week's Friday
    config = job.partitioned_config.get_run_config_for_partition_key(KEY)  # type: ignore[union-attr]
    assert {op["config"]["params"]["week_ending"] for op in config["ops"].values()} == {"2025-11-21"}
    assert {op["config"]["params"]["tier"] for op in config["ops"].values()} == {"NMS_TIER_1"}

    # spine run --partition: any day of the week, either order, gives the key
    spec = location.runtime.jobs[JOB].plan.spec
    keys_of = PartitionKeys(spec.name, spec.partitions, location.translator)
    for text in (KEY, "NMS_TIER_1|2025-11-17", "2025-11-19|NMS_TIER_1", "NMS_TIER_1|2025-11-21"):
        assert keys_of.parse(text) == KEY, text

    with dg.instance_for_test() as instance:
        # Wednesday 2025-12-10 06:00 New York: the newest complete week is the week of 2025-12-01; Tier 1
        # lags 2 weeks (Tier 2 and OTC, 4 weeks, have no week that old yet)
        schedule = defs.resolve_schedule_def(f"{JOB}__schedule_partitions")
        when = dt.datetime(2025, 12, 10, 11, tzinfo=dt.UTC)
        tick = evaluate_tick(
            schedule,
            instance=instance,
            scheduled_execution_time=when,
            repository_def=defs.get_repository_def(),
        )
        assert [r.partition_key for r in tick.run_requests] == [KEY]  # type: ignore[union-attr]
        assert schedule.description == (
            "finra.weekly_refresh: each Wednesday at 06:00 America/New_York, for each tier the newest complete "
            "week minus its lag: NMS_TIER_1 2 weeks, NMS_TIER_2 4 weeks, OTC 4 weeks (cron 0 6 * * 3)"
        )
        # a file named with its weekStartDate runs that week, for every tier
        monkeypatch.chdir(tmp_path)  # the sensor's directory, data/inbox, is relative
        inbox = tmp_path / "data" / "inbox"
        inbox.mkdir(parents=True)
        (inbox / "finra_otc_weekly_2025-11-17_pub20251208.psv").write_text("x")
        sensor = defs.resolve_sensor_def(f"{JOB}__file_arrival_sensor_inbox")
        result = evaluate_tick(sensor, instance=instance, repository_def=defs.get_repository_def())
        assert sorted(r.partition_key for r in result.run_requests) == [
            "2025-11-17|NMS_TIER_1", "2025-11-17|NMS_TIER_2", "2025-11-17|OTC",
        ]  # fmt: skip


def test_spine_run_tags_and_capture_id_carry_the_key(ws: Workspace) -> None:
    shutil.copy(REPO / "groups" / "finra_weekly_refresh.yaml", ws.groups)
    out = ws.run("finra.weekly_refresh", "--partition", "NMS_TIER_1|2025-11-19")  # tier first, a Wednesday
    assert out["exit_code"] == 0 and out["status"] == "completed", out
    with ws.instance() as instance:
        run = instance.get_run_by_id(out["run_id"])
        assert run is not None
        assert run.tags["dagster/partition"] == KEY
        assert run.tags["dagster/partition/date"] == "2025-11-17"
        assert run.tags["dagster/partition/tier"] == "NMS_TIER_1"
        assert {p["week_ending"] for p in step_params(instance, run.run_id).values()} == {"2025-11-21"}
    wh = open_warehouse(f"duckdb:///{ws.root / 'spine_home' / 'warehouse.duckdb'}")
    try:
        captures = wh.query_df("SELECT capture_id FROM finra_otc.captures")["capture_id"].tolist()
    finally:
        wh.close()
    assert len(captures) == 1 and captures[0].startswith(f"finra_otc:{KEY}:"), captures
