"""The production profile deploy/dagster.yaml, as shipped, on a real Postgres instance with a real daemon:
runs, events and the queue live in Postgres, and the queue holds a second run of a partition until the first
has ended while a run of another partition goes ahead."""

from __future__ import annotations

import json
import shutil
import time

import dagster as dg
import pytest

from tests.integration.conftest import REPO, Workspace, spine_process
from tests.integration.test_queue import dagster_daemon

NAPPING = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: deploy.napping}
spec:
  defaults: {week_ending: "{{ params.week_ending }}", tier: "{{ params.tier }}"}
  pipelines:
    - {name: mark, pipeline: spine.noop}
    - {name: nap, pipeline: spine.sleep, params: {seconds: 4}, depends_on: [mark]}
  partitions:
    weekly: {start: "2025-11-21", ends_on: friday, key_day: monday, param: week_ending}
    static: {name: tier, values: [NMS_TIER_1, OTC], param: tier}
"""
SAME, OTHER = "2025-11-17|NMS_TIER_1", "2025-11-17|OTC"


def test_the_profile_queues_one_run_per_partition_on_postgres(
    ws: Workspace, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", ws.dagster_home / "dagster.yaml")
    monkeypatch.setenv("SPINE_DAGSTER_PG_URL", pg_database)  # the daemon and the CLI inherit it
    ws.write("napping.yaml", NAPPING)
    with ws.instance() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 8
    with dagster_daemon(ws):
        with (
            spine_process(
                ws, "run", "deploy.napping", "--queue", "--partition", SAME, "--format", "json"
            ) as a,
            spine_process(
                ws, "run", "deploy.napping", "--queue", "--partition", SAME, "--format", "json"
            ) as b,
            spine_process(
                ws, "run", "deploy.napping", "--queue", "--partition", OTHER, "--format", "json"
            ) as c,
        ):
            outputs = [p.communicate(timeout=240) for p in (a, b, c)]
        assert [p.returncode for p in (a, b, c)] == [0, 0, 0], outputs
    run_ids = [json.loads(out)["run_id"] for out, _err in outputs]
    with ws.instance() as instance:
        records = [instance.get_run_record_by_id(run_id) for run_id in run_ids]
    spans = []
    for record in records:
        assert record is not None and record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        assert record.start_time is not None and record.end_time is not None
        spans.append((record.start_time, record.end_time))
    (a_start, a_end), (b_start, b_end), (c_start, c_end) = spans
    # the two runs of one partition never overlap: the queue held the second until the first ended
    assert a_end <= b_start or b_end <= a_start, spans
    # the other partition was not held behind them: it overlapped at least one of the two
    assert c_start < max(a_end, b_end) and min(a_start, b_start) < c_end, spans
    assert time.time() - min(a_start, b_start, c_start) < 300
