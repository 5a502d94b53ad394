"""A backfill of the FINRA weekly refresh over weeks and tiers, launched as a real Dagster backfill
(`dagster job backfill`) and executed by a real `dagster-daemon` on the shipped samples."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import yaml

from tests.integration.conftest import REPO

PARTITIONS = ["2025-12-15|NMS_TIER_1", "2025-12-15|OTC", "2025-12-22|NMS_TIER_1"]  # weeks by their Monday


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_backfill_runs_each_partition_through_the_daemon(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    # The run queue (the instance's default coordinator) hands the daemon's runs over one at a time. With
    # three runs at once competing for the finra_warehouse pool (limit 1) on SQLite, Dagster 1.13.27 can
    # leave a step pending beside a free slot: `claim_concurrency_slot` checks for unassigned slots and
    # enqueues the step in two transactions, a slot freed in between is assigned to nobody, and the run
    # then polls (at 100% CPU) forever. Seen in 2 of 7 full suite runs; pool waits are issue 11's subject,
    # this test is the backfill's.
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 5
    config["concurrency"]["runs"] = {"max_concurrent_runs": 1}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPINE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        SPINE_HOME=str(tmp_path / "spine_home"),
        SPINE_GROUPS_DIR=str(REPO / "groups"),
        SPINE_WAREHOUSE_URL=f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs()  # create the storage once, before the daemon and the CLI race to
    daemon = subprocess.Popen(
        [_tool("dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        submitted = subprocess.run(
            [_tool("dagster"), "job", "backfill", "-w", "workspace.yaml", "-j", "finra__weekly_refresh",
             "--partitions", ",".join(PARTITIONS), "--noprompt"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert submitted.returncode == 0, submitted.stdout[-2000:] + submitted.stderr[-2000:]
        deadline = time.time() + 420
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while True:
                runs = instance.get_runs(dg.RunsFilter(job_name="finra__weekly_refresh"))
                finished = [r for r in runs if r.is_finished]
                if len(runs) == len(PARTITIONS) and len(finished) == len(runs):
                    tags_done = all(
                        "spine/group_status" in instance.get_run_by_id(r.run_id).tags for r in runs
                    )
                    if tags_done:
                        break
                assert time.time() < deadline, (
                    f"backfill did not finish: {[(r.tags.get('dagster/partition'), r.status) for r in runs]}"
                )
                assert daemon.poll() is None, "the daemon exited"
                time.sleep(2)
            runs = [instance.get_run_by_id(r.run_id) for r in runs]
        assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(PARTITIONS)
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert {r.tags["dagster/backfill"] for r in runs} and all("dagster/backfill" in r.tags for r in runs)
        assert {r.tags["spine/group_status"] for r in runs} == {"completed"}  # written by the outcome sensor
        steps = json.loads(runs[0].tags["spine/steps"])
        assert [v[0] for v in steps.values()] == ["completed"] * 4
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=20)
        # The daemon's code server and the run workers it launched share its process group and can outlive
        # it (a run stuck waiting for a pool slot ignores SIGTERM): nothing this test started may survive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)
