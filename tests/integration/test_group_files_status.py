"""The ``spine/group_files`` asset and its check ``all_group_files_valid`` show the state of the group files
without anyone clicking: a sensor (on by default) re-reads the groups directory and, when what it finds
changes, reports the asset materialized and records the check's evaluation. Evaluated tick by tick on a
real instance, and end to end by a real ``dagster-daemon``.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from tests.conftest import build_location, evaluate_tick
from tests.integration.conftest import Workspace
from tests.integration.test_alerts_daemon import _daemon

GOOD = "name: ok.group\nsteps:\n  - {name: nap, pipeline: spine.sleep, params: {seconds: 0}}\n"
TYPO = "name: bad.group\nsteps:\n  - {name: nap, pipeline: spine.slep}\n"
KEY = dg.AssetKey(["spine", "group_files"])
CHECK = dg.AssetCheckKey(KEY, "all_group_files_valid")
SENSOR = "spine__group_files_sensor"


def _record(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the daemon does with a tick's asset events (dagster._daemon.sensor)."""
    for event in result.asset_events:
        instance.report_runless_asset_event(event)


def _latest_check(instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation | None:
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK]).get(CHECK)
    if record is None or record.event is None or record.event.dagster_event is None:
        return None
    return record.event.dagster_event.event_specific_data  # type: ignore[return-value]


def test_the_sensor_reports_the_group_files_when_they_change(tmp_path: Path) -> None:
    location = build_location(tmp_path, {"good.yaml": GOOD, "typo.yaml": TYPO})
    defs = location.definitions
    sensor = defs.resolve_sensor_def(SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 60
    typo_line = (
        f"{tmp_path / 'groups' / 'typo.yaml'}:3:27: Step 'nap' references unknown pipeline: spine.slep"
    )
    typo_line += " (did you mean 'spine.sleep'?)"
    with dg.instance_for_test() as instance:
        assert instance.get_latest_materialization_event(KEY) is None  # "Never materialized" until a tick
        first = evaluate_tick(sensor, instance=instance)
        _record(instance, first)
        materialization = instance.get_latest_materialization_event(KEY)
        assert materialization is not None and materialization.asset_materialization is not None
        assert materialization.asset_materialization.metadata["problems"] == dg.MetadataValue.int(1)
        summary = f"1 problem(s) in the group files: {typo_line}"
        assert materialization.asset_materialization.description == summary
        check = _latest_check(instance)
        assert check is not None and not check.passed
        assert check.severity == dg.AssetCheckSeverity.ERROR
        assert typo_line in check.metadata["details"].value  # type: ignore[attr-defined]
        [record] = instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=5)
        assert record.status == AssetCheckExecutionRecordStatus.FAILED

        # nothing changed: the tick skips and records nothing
        again = evaluate_tick(sensor, instance=instance, cursor=first.cursor)
        assert not again.asset_events
        assert again.skip_message == f"{summary} (unchanged)"

        # the file is fixed: the next tick reports it, and the check passes
        (tmp_path / "groups" / "typo.yaml").write_text(TYPO.replace("spine.slep", "spine.sleep"))
        fixed = evaluate_tick(sensor, instance=instance, cursor=first.cursor)
        _record(instance, fixed)
        check = _latest_check(instance)
        assert check is not None and check.passed and check.description == "All group files are valid"
        history = instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=5)
        assert [r.status for r in history] == [
            AssetCheckExecutionRecordStatus.SUCCEEDED,
            AssetCheckExecutionRecordStatus.FAILED,
        ]
        latest = instance.get_latest_materialization_event(KEY)
        assert latest is not None and latest.asset_materialization is not None
        assert latest.asset_materialization.metadata["problems"] == dg.MetadataValue.int(0)


def test_a_running_daemon_reports_the_group_files_on_its_first_tick(ws: Workspace) -> None:
    ws.write("good.yaml", GOOD)
    ws.write("typo.yaml", TYPO)
    log = ws.root / "daemon.log"
    ws.instance().get_runs()  # create the instance's storage before the daemon and its code server race to
    with _daemon(ws.env(), log) as daemon:
        instance = ws.instance()
        deadline = time.monotonic() + 120
        while _latest_check(instance) is None:
            assert daemon.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, (
                "no check evaluation within 120 s:\n" + log.read_text()[-3000:]
            )
            time.sleep(1)
        check = _latest_check(instance)
        assert check is not None and not check.passed
        assert "Step 'nap' references unknown pipeline: spine.slep" in check.metadata["details"].value  # type: ignore[attr-defined]
        materialization = instance.get_latest_materialization_event(KEY)
        assert materialization is not None and materialization.run_id == ""  # reported, not run
