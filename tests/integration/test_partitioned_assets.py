"""A group's graph is also its assets (issue 12 §1/§3), on a real SQLite Dagster instance, a real DuckDB
warehouse and real ``spine`` / ``dagster`` processes: FINRA tables materialized per (week, tier) partition
by ``spine run`` and by ``dagster asset materialize``, the group's retries and fail-fast in an asset run,
one producing group per shared table, a leaf step's own asset, and a partitioned check run alone.

One workspace for the whole module (the FINRA runs are shared by the tests that read them). Besides the
shipped FINRA group it holds three small groups over a pipeline module of the test's own
(``SPINE_PIPELINE_MODULES``) that writes ``demo.shared`` or ``demo.ff``.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import subprocess
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from spine_dagster.composition import build_code_location
from spine_dagster.settings import Settings
from tests.integration.conftest import REPO, Workspace, step_events

JOB = "finra__weekly_refresh"
K = "2025-11-17|NMS_TIER_1"  # run with `spine run --partition`
K2 = "2025-11-24|NMS_TIER_1"  # materialized with `dagster asset materialize`
EMPTY = "2025-12-01|OTC"  # a partition nothing in this module loads
FINRA_TABLES = {
    "finra_otc/raw_weekly",
    "finra_otc/weekly_volume",
    "finra_otc/rejects",
    "finra_otc/symbol_week",
    "finra_otc/venue_week",
    "finra_otc/symbol_rolling",
}
FINRA_CHECKS = {
    ("finra_otc/raw_weekly", "raw_not_empty"),
    ("finra_otc/weekly_volume", "unique_natural_keys"),
    ("finra_otc/weekly_volume", "smbl_reconciliation"),
    ("finra_otc/rejects", "reject_rate"),
    ("finra_otc/venue_week", "market_share_sum"),
    ("finra_otc/symbol_week", "hhi_range"),
    ("finra_otc/symbol_rolling", "volume_anomaly"),
}

MODULE = "partitioned_assets_demo_pipes"
DEMO_MODULE = '''
"""Test pipelines: each appends one row (group, step, batch) to the table it writes."""

from spine_dagster.pipelines import Pipeline, StepResult


def _append(ctx, table):
    ctx.warehouse.execute("CREATE SCHEMA IF NOT EXISTS demo")
    ctx.warehouse.execute(f"CREATE TABLE IF NOT EXISTS {table} (grp TEXT, step TEXT, batch_id TEXT)")
    ctx.warehouse.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", [ctx.group, ctx.step, ctx.batch_id])
    return StepResult(rows_written={table: 1})


class WriteShared(Pipeline):
    name = "demo.write_shared"
    description = "Append a row to demo.shared."
    writes = ("demo.shared",)

    def run(self, ctx, params):
        return _append(ctx, "demo.shared")


class WriteFf(Pipeline):
    name = "demo.write_ff"
    description = "Append a row to demo.ff."
    writes = ("demo.ff",)

    def run(self, ctx, params):
        return _append(ctx, "demo.ff")
'''
# Both groups write demo.shared. The file order is the reverse of the name order: the owner is picked by
# group name. Within the owner, `write` and `rewrite` both write it: the last writer in plan order produces
# the asset; `notify` is a leaf step that writes no table.
OWNER_GROUP = """
name: demo.a_owner
steps:
  - {name: write, pipeline: demo.write_shared}
  - {name: rewrite, pipeline: demo.write_shared, depends_on: write}
  - {name: notify, pipeline: spine.noop, depends_on: rewrite}
"""
OTHER_GROUP = """
name: demo.b_other
steps:
  - {name: write, pipeline: demo.write_shared}
"""
FAIL_FAST_GROUP = """
name: demo.c_failfast
policy: {execution: parallel, max_concurrency: 2, on_failure: stop}
steps:
  - {name: load, pipeline: demo.write_ff}
  - {name: boom, pipeline: spine.fail, depends_on: load, retry: {max_retries: 1}}
  - {name: slow, pipeline: spine.sleep, depends_on: load, params: {seconds: 60}}
  - {name: later, pipeline: spine.noop, depends_on: slow}
"""
OUTCOMES = {"STEP_START", "STEP_RESTARTED", "STEP_UP_FOR_RETRY", "STEP_SUCCESS", "STEP_FAILURE"}
SHARED = dg.AssetKey(["demo", "shared"])
NOTIFY = dg.AssetKey(["demo__a_owner", "notify"])


@dataclass
class DemoWorkspace(Workspace):
    """The conftest Workspace, with the test's pipeline module importable and registered in every process."""

    def env(self, **extra: str) -> dict[str, str]:
        path = os.pathsep.join(p for p in (str(self.root), os.environ.get("PYTHONPATH", "")) if p)
        return super().env(SPINE_PIPELINE_MODULES=MODULE, PYTHONPATH=path, **extra)

    @property
    def warehouse(self) -> Path:
        return self.root / "spine_home" / "warehouse.duckdb"

    def settings(self) -> Settings:
        return Settings(
            home=self.root / "spine_home",
            groups_dir=self.groups,
            warehouse_url=f"duckdb:///{self.warehouse}",
            strict=True,
            pipeline_modules=(MODULE,),
        )


@dataclass
class Materialized:
    """One ``dagster asset materialize`` process and the run it made."""

    process: subprocess.CompletedProcess[str]
    run: dg.DagsterRun
    seconds: float


@pytest.fixture(scope="module", name="aws")
def assets_workspace(tmp_path_factory: pytest.TempPathFactory) -> DemoWorkspace:
    ws = DemoWorkspace(tmp_path_factory.mktemp("partitioned_assets"))
    ws.groups.mkdir()
    ws.dagster_home.mkdir()
    (ws.dagster_home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    shutil.copy(REPO / "groups" / "finra_weekly_refresh.yaml", ws.groups)
    (ws.root / f"{MODULE}.py").write_text(textwrap.dedent(DEMO_MODULE))
    ws.write("z_owner.yaml", OWNER_GROUP)
    ws.write("a_other.yaml", OTHER_GROUP)
    ws.write("failfast.yaml", FAIL_FAST_GROUP)
    with ws.instance():
        pass  # the instance's tables, created once before any process uses them
    return ws


def materialize(ws: DemoWorkspace, select: str, partition: str | None = None) -> Materialized:
    """``dagster asset materialize`` of ``select`` (for ``partition``) in the workspace: the process and its run."""
    args = ["asset", "materialize", "-m", "spine_dagster.definitions", "-a", "defs", "--select", select]
    if partition is not None:
        args += ["--partition", partition]
    with ws.instance() as instance:
        before = {r.run_id for r in instance.get_runs()}
    started = time.perf_counter()
    process = ws.dagster(*args)
    seconds = time.perf_counter() - started
    with ws.instance() as instance:
        runs = [r for r in instance.get_runs() if r.run_id not in before]
    assert len(runs) == 1, process.stdout + process.stderr
    return Materialized(process, runs[0], seconds)


@pytest.fixture(scope="module")
def finra_spine_run(aws: DemoWorkspace) -> dict[str, Any]:
    """``spine run finra.weekly_refresh --partition K``: the JSON outcome."""
    out = aws.run("finra.weekly_refresh", "--partition", K)
    assert out["exit_code"] == 0 and out["status"] == "completed", out
    return out


@pytest.fixture(scope="module")
def finra_materialized(aws: DemoWorkspace) -> Materialized:
    """``dagster asset materialize --select finra_otc/symbol_week --partition K2``."""
    return materialize(aws, "finra_otc/symbol_week", K2)


def materializations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetMaterialization]:
    """Every materialization a run recorded, in order."""
    found = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        assert record.asset_materialization is not None
        found.append(record.asset_materialization)
    return found


def check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    """Every asset check evaluation a run recorded, in order."""
    found = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        data = record.dagster_event.event_specific_data if record.dagster_event else None
        assert isinstance(data, dg.AssetCheckEvaluation)
        found.append(data)
    return found


def started_steps(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [key for key, kind, _ in step_events(instance, run_id) if kind == "STEP_START"]


def check_key(asset: str, name: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey.from_user_string(asset), name)


def warehouse_rows(ws: DemoWorkspace, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """A query on the workspace's DuckDB warehouse, opened read-only (no run may be writing)."""
    with duckdb.connect(str(ws.warehouse), read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def test_spine_run_of_a_partition_records_it_on_every_table_and_check(
    aws: DemoWorkspace, finra_spine_run: dict[str, Any]
) -> None:
    """`spine run finra.weekly_refresh --partition K` records each FINRA table's materialization with
    partition K (and nothing unpartitioned), and each of the seven FINRA checks' evaluation with K."""
    run_id = finra_spine_run["run_id"]
    with aws.instance() as instance:
        recorded = {(m.asset_key.to_user_string(), m.partition) for m in materializations(instance, run_id)}
        assert recorded == {(table, K) for table in FINRA_TABLES}
        for table in FINRA_TABLES:
            assert K in instance.get_materialized_partitions(dg.AssetKey.from_user_string(table)), table
        for asset, name in FINRA_CHECKS:
            history = instance.event_log_storage.get_asset_check_execution_history(
                check_key(asset, name), limit=50
            )
            ours = [record for record in history if record.run_id == run_id]
            assert len(ours) == 1, (asset, name, history)
            event = ours[0].event
            assert event is not None and event.dagster_event is not None
            evaluation = event.dagster_event.event_specific_data
            assert isinstance(evaluation, dg.AssetCheckEvaluation)
            assert evaluation.partition == K, (asset, name)
            assert evaluation.passed, (asset, name, evaluation.description)


def test_dagster_asset_materialize_runs_the_steps_a_table_needs_for_the_partition(
    aws: DemoWorkspace, finra_materialized: Materialized
) -> None:
    """`dagster asset materialize --select finra_otc/symbol_week --partition K2` succeeds, runs ingest,
    normalize and aggregate (not rolling) for K2: the warehouse has symbol_week rows for that week and tier
    (and no rolling rows), and symbol_week, raw_weekly and weekly_volume are materialized for K2 while
    symbol_rolling is not."""
    done = finra_materialized
    assert done.process.returncode == 0, done.process.stdout + done.process.stderr
    assert done.run.tags["dagster/partition"] == K2
    with aws.instance() as instance:
        run = instance.get_run_by_id(done.run.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        steps = [s for s in started_steps(instance, run.run_id) if s.startswith(f"{JOB}.")]
        assert steps == [f"{JOB}.ingest", f"{JOB}.normalize", f"{JOB}.aggregate"]
        recorded = {
            (m.asset_key.to_user_string(), m.partition) for m in materializations(instance, run.run_id)
        }
        assert {t for t, _ in recorded} == FINRA_TABLES - {"finra_otc/symbol_rolling"}
        assert {p for _, p in recorded} == {K2}
        for table in ("finra_otc/symbol_week", "finra_otc/raw_weekly", "finra_otc/weekly_volume"):
            assert K2 in instance.get_materialized_partitions(dg.AssetKey.from_user_string(table)), table
        rolling = instance.get_materialized_partitions(dg.AssetKey(["finra_otc", "symbol_rolling"]))
        assert K2 not in rolling
        evaluations = check_evaluations(instance, run.run_id)
        evaluated = {(e.asset_key.to_user_string(), e.check_name, e.partition) for e in evaluations}
        assert {(asset, name) for asset, name, _ in evaluated} == FINRA_CHECKS - {
            ("finra_otc/symbol_rolling", "volume_anomaly")
        }
        # the steps' own evaluations carry K2; Dagster's check step (Materialize adds symbol_week's check)
        # records an unpartitioned check's evaluation without one, and names K2 in its metadata
        in_steps = [e for e in evaluations if "spine/partition" not in e.metadata]
        check_step = [e for e in evaluations if "spine/partition" in e.metadata]
        assert {e.partition for e in in_steps} == {K2}
        assert [(e.check_name, e.partition, e.metadata["spine/partition"].value) for e in check_step] == [
            ("hhi_range", None, K2)
        ]
    week = [dt.date(2025, 11, 24), "NMS_TIER_1"]
    (symbols,) = warehouse_rows(
        aws, "SELECT COUNT(*) FROM finra_otc.symbol_week WHERE week_start = ? AND tier = ?", week
    )[0]
    (traded,) = warehouse_rows(
        aws,
        "SELECT COUNT(DISTINCT symbol) FROM finra_otc.weekly_volume_latest "
        "WHERE week_start = ? AND tier = ? AND summary_type LIKE '%_W_SMBL_FIRM'",
        week,
    )[0]
    assert symbols > 0 and symbols == traded  # one row per symbol traded that week in that tier
    assert warehouse_rows(
        aws, "SELECT COUNT(*) FROM finra_otc.symbol_rolling WHERE week_start = ? AND tier = ?", week
    ) == [(0,)]


def test_retries_and_fail_fast_of_the_group_apply_in_an_asset_run(aws: DemoWorkspace) -> None:
    """Materializing every asset of a group with `on_failure: stop`: the table-writing first step succeeds
    and is materialized, the failing step is retried by its `retry:` (one retry, then the final failure),
    the failure is reported (exit code, run FAILURE, the step's error), and fail-fast stops the run: the
    60 s sibling is interrupted and the step after it never starts."""
    done = materialize(aws, "demo/ff,demo__c_failfast/boom,demo__c_failfast/later")
    output = done.process.stdout + done.process.stderr
    assert done.process.returncode != 0, output
    assert done.seconds < 45, output  # slow's 60 s were cut short
    with aws.instance() as instance:
        run = instance.get_run_by_id(done.run.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE  # not CANCELED
        events = step_events(instance, run.run_id)
        kinds = [(key.removeprefix("demo__c_failfast."), kind) for key, kind, _ in events if kind in OUTCOMES]
        assert ("load", "STEP_SUCCESS") in kinds
        assert [kind for step, kind in kinds if step == "boom"] == [
            "STEP_START",
            "STEP_UP_FOR_RETRY",
            "STEP_RESTARTED",
            "STEP_FAILURE",
        ], kinds
        assert ("slow", "STEP_SUCCESS") not in kinds
        if multiprocessing.cpu_count() >= 2:  # the asset executor runs one step per CPU: slow ran beside boom
            assert ("slow", "STEP_START") in kinds and ("slow", "STEP_FAILURE") in kinds  # interrupted
        assert not [k for k in kinds if k[0] == "later"]  # never started
        failure = next(
            r.dagster_event
            for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            if r.dagster_event is not None and r.dagster_event.step_key == "demo__c_failfast.boom"
        )
        assert failure.step_failure_data is not None and failure.step_failure_data.error is not None
        error = failure.step_failure_data.error
        assert error.message.strip() == "Exceeded max_retries of 1"  # the step's `retry:` (max_retries 1)
        messages = [r.user_message for r in instance.all_logs(run.run_id)]
        assert any("fail-fast (on_failure: stop): step demo__c_failfast.boom failed" in m for m in messages)
        assert [m.asset_key for m in materializations(instance, run.run_id)] == [dg.AssetKey(["demo", "ff"])]


def test_a_shared_table_is_produced_by_the_first_group_by_name_and_written_by_the_other(
    aws: DemoWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two groups write demo.shared: demo.a_owner (first by name, though its file sorts last) produces the
    asset, from its last writer `rewrite`; demo.b_other has no assets of its own, and its `spine run`
    still records a materialization on demo/shared, tagged with its group and step."""
    monkeypatch.syspath_prepend(str(aws.root))
    defs = build_code_location(aws.settings()).definitions
    graph_backed = [a for a in defs.assets or () if isinstance(a, dg.AssetsDefinition)]  # the rest: specs
    assert all(isinstance(a.node_def, dg.GraphDefinition) for a in graph_backed)
    owners = [a for a in graph_backed if SHARED in a.keys]
    assert [a.node_def.name for a in owners] == ["demo__a_owner"]
    (owner,) = owners
    assert owner.keys == {SHARED, NOTIFY}
    assert not [a for a in graph_backed if a.node_def.name == "demo__b_other"]
    assert owner.specs_by_key[SHARED].metadata["spine/produced_by"] == "group demo.a_owner, step rewrite"
    graph = owner.node_def
    assert isinstance(graph, dg.GraphDefinition)
    output = next(name for name, key in owner.keys_by_output_name.items() if key == SHARED)
    assert graph.get_output_mapping(output).maps_from.node_name == "rewrite"

    out = aws.run("demo.b_other")
    assert out["exit_code"] == 0 and out["status"] == "completed", out
    with aws.instance() as instance:
        (written,) = materializations(instance, out["run_id"])
        assert written.asset_key == SHARED and written.partition is None
        assert written.metadata["spine/group"].value == "demo.b_other"
        assert written.metadata["spine/step"].value == "write"
        on_asset = instance.fetch_materializations(SHARED, limit=100).records
        assert out["run_id"] in {r.run_id for r in on_asset}  # in the asset's own event history
    assert ("demo.b_other", "write") in warehouse_rows(aws, "SELECT grp, step FROM demo.shared")


def test_a_leaf_step_that_writes_no_table_has_its_own_asset_and_runs_with_the_group(
    aws: DemoWorkspace,
) -> None:
    """`notify` (spine.noop, after the table-writing steps) is the asset demo__a_owner/notify: materializing
    all the group's assets runs write, rewrite and notify and materializes demo/shared (recorded by `write`,
    produced by `rewrite`) and demo__a_owner/notify."""
    done = materialize(aws, "demo/shared,demo__a_owner/notify")
    assert done.process.returncode == 0, done.process.stdout + done.process.stderr
    with aws.instance() as instance:
        run = instance.get_run_by_id(done.run.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert started_steps(instance, run.run_id) == [
            "demo__a_owner.write",
            "demo__a_owner.rewrite",
            "demo__a_owner.notify",
        ]
        recorded = [
            (m.asset_key, m.metadata["spine/step"].value if "spine/step" in m.metadata else None)
            for m in materializations(instance, run.run_id)
        ]
        assert recorded == [(SHARED, "write"), (SHARED, "rewrite"), (NOTIFY, None)]
        latest = instance.get_latest_materialization_event(NOTIFY)
        assert latest is not None and latest.run_id == run.run_id


def test_a_check_run_alone_for_a_partition_checks_only_that_partition(
    aws: DemoWorkspace,
    finra_spine_run: dict[str, Any],
    finra_materialized: Materialized,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """raw_not_empty run alone (no asset selected) in a run of partition K, with K and K2 both loaded: it
    counts K's raw rows only and names K in its metadata; for a partition never loaded it fails with 0 rows.
    Run without a partition (the asset page's Execute), it counts every partition's rows."""
    assert finra_materialized.process.returncode == 0
    monkeypatch.syspath_prepend(str(aws.root))
    monkeypatch.setenv("SPINE_HOME", str(aws.root / "spine_home"))  # the warehouse resource's default URL
    monkeypatch.delenv("SPINE_WAREHOUSE_URL", raising=False)
    defs = build_code_location(aws.settings()).definitions
    key = check_key("finra_otc/raw_weekly", "raw_not_empty")
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={key}
    )
    assert [node.name for node in job.graph.nodes] == ["finra_otc__raw_weekly_raw_not_empty"]
    per_partition = dict(
        warehouse_rows(
            aws,
            "SELECT strftime(week_start, '%Y-%m-%d') || '|' || tier, COUNT(*) FROM finra_otc.raw_weekly_latest "
            "GROUP BY ALL",
        )
    )
    assert set(per_partition) == {K, K2}

    evaluations: dict[str, dg.AssetCheckEvaluation] = {}
    with aws.instance() as instance:
        for partition in (K, EMPTY):
            result = job.execute_in_process(instance=instance, partition_key=partition, raise_on_error=False)
            (evaluation,) = [
                e.event_specific_data
                for e in result.all_events
                if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ]
            assert isinstance(evaluation, dg.AssetCheckEvaluation)
            evaluations[partition] = evaluation
            (record,) = [
                r
                for r in instance.event_log_storage.get_asset_check_execution_history(key, limit=50)
                if r.run_id == result.run_id
            ]
            assert record.event is not None and record.event.dagster_event is not None
        whole = job.execute_in_process(instance=instance, raise_on_error=False)
        (everything,) = [
            e.event_specific_data
            for e in whole.all_events
            if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ]
    checked = evaluations[K]
    assert checked.passed and checked.metadata["spine/partition"].value == K
    assert checked.metadata["raw_rows"].value == per_partition[K]  # not K + K2
    assert checked.metadata["partitions"].value == 1
    empty = evaluations[EMPTY]
    assert empty.metadata["spine/partition"].value == EMPTY and not empty.passed
    assert empty.metadata["raw_rows"].value == 0
    assert everything.passed and "spine/partition" not in everything.metadata
    assert everything.metadata["raw_rows"].value == per_partition[K] + per_partition[K2]


def test_a_failed_job_run_shows_its_partition_failed_and_the_loaded_ones_materialized(
    aws: DemoWorkspace, finra_spine_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the asset's Partitions tab reads: after `spine run` of partition F fails in ingest (its source
    file is missing), raw_weekly's status has F failed and K materialized, and EMPTY neither (missing)."""
    from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

    failed_key = "2025-12-15|OTC"
    out = aws.run(
        "finra.weekly_refresh", "--partition", failed_key, "--param", "source_path=/nonexistent.psv"
    )
    assert out["exit_code"] == 1 and out["steps"][0]["status"] == "failed", out
    # The code location loads the test's pipeline module in this process too (not only when an earlier test
    # of this worker happened to import it: failed under pytest -n 2 when this test ran first).
    monkeypatch.syspath_prepend(str(aws.root))
    key = dg.AssetKey(["finra_otc", "raw_weekly"])
    partitions_def = (
        build_code_location(aws.settings()).definitions.resolve_asset_graph().get(key).partitions_def
    )
    assert partitions_def is not None
    with aws.instance() as instance:
        status = get_and_update_asset_status_cache_value(instance, key, partitions_def)
        assert status is not None
        failed = set(status.deserialize_failed_partition_subsets(partitions_def).get_partition_keys())
        loaded = set(status.deserialize_materialized_partition_subsets(partitions_def).get_partition_keys())
    assert failed == {failed_key}
    assert K in loaded and failed_key not in loaded and EMPTY not in loaded | failed
