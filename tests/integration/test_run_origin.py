"""Runs of ``spine run`` belong to the code location: the webserver's job, partition and re-execution views
count them as they count the UI's own launches (issue 11 §1)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from tests._servers import free_port, graphql, server_info_answers, stop_process_group, wait_until
from tests.integration.conftest import REPO, Workspace

FLAKY = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: ops.flaky}
spec:
  pipelines:
    - {name: first, pipeline: spine.noop}
    - {name: boom, pipeline: spine.fail, depends_on: [first]}
"""
PARTITION = "2025-12-22|NMS_TIER_1"  # the partition key: the week's Monday, then the tier
SELECTOR = 'repositoryLocationName: "spine", repositoryName: "__repository__"'


def test_spine_runs_are_counted_by_the_ui_and_can_be_reexecuted_from_it(ws: Workspace) -> None:
    for path in (REPO / "groups").glob("*.yaml"):
        shutil.copy(path, ws.groups / path.name)
    ws.write("flaky.yaml", FLAKY)
    finra = ws.run("finra.weekly_refresh", "--partition", PARTITION)
    assert finra["exit_code"] == 0 and finra["status"] == "completed", finra
    flaky = ws.run("ops.flaky")
    assert flaky["exit_code"] == 1

    with ws.instance() as instance:
        run = instance.get_run_by_id(finra["run_id"])
        assert run.remote_job_origin is not None
        assert run.remote_job_origin.repository_origin.get_label() == "__repository__@spine"
        partition_key = run.tags["dagster/partition"]
        labelled = instance.get_runs(
            dg.RunsFilter(
                job_name="finra__weekly_refresh", tags={".dagster/repository": "__repository__@spine"}
            )
        )
        assert [r.run_id for r in labelled] == [finra["run_id"]]

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=ws.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: server_info_answers(port), timeout=90, what="webserver", process=server)

        def job_runs(job: str) -> list[str]:
            data = graphql(
                port,
                f'{{ pipelineOrError(params: {{{SELECTOR}, pipelineName: "{job}"}}) '
                "{ __typename ... on Pipeline { runs { runId } } } }",
            )["pipelineOrError"]
            return [r["runId"] for r in data.get("runs", [])]

        wait_until(lambda: bool(job_runs("finra__weekly_refresh")), timeout=60, what="the job's runs")
        assert job_runs("finra__weekly_refresh") == [finra["run_id"]]  # the job's Runs tab
        assert job_runs("ops__flaky") == [flaky["run_id"]]

        statuses = graphql(
            port,
            f"{{ partitionSetOrError(repositorySelector: {{{SELECTOR}}}, "
            'partitionSetName: "finra__weekly_refresh_partition_set") { __typename ... on PartitionSet '
            "{ partitionStatusesOrError { __typename ... on PartitionStatuses "
            "{ results { partitionName runStatus } } } } } }",
        )["partitionSetOrError"]["partitionStatusesOrError"]["results"]
        by_key = {s["partitionName"]: s["runStatus"] for s in statuses}
        assert by_key[partition_key] == "SUCCESS"  # the Partitions tab
        assert sum(status == "SUCCESS" for status in by_key.values()) == 1

        # "Re-execute from failure" in the UI accepts a run that spine run made.
        reexecuted = graphql(
            port,
            "mutation { launchPipelineReexecution(reexecutionParams: "
            f'{{parentRunId: "{flaky["run_id"]}", strategy: FROM_FAILURE}}) '
            "{ __typename ... on LaunchRunSuccess { run { runId tags { key value } } } "
            "... on PythonError { message } } }",
        )["launchPipelineReexecution"]
        assert reexecuted["__typename"] == "LaunchRunSuccess", json.dumps(reexecuted)
        tags = {t["key"]: t["value"] for t in reexecuted["run"]["tags"]}
        assert tags["dagster/parent_run_id"] == flaky["run_id"]
    finally:
        stop_process_group(server)
        with ws.instance() as instance:  # the UI's re-execution was only queued (no daemon): leave nothing
            for record in instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED])):
                instance.report_run_canceled(record.dagster_run)


def test_spine_rerun_carries_the_ui_lineage_tags(ws: Workspace) -> None:
    ws.write("flaky.yaml", FLAKY)
    flaky = ws.run("ops.flaky")
    rerun = ws.spine("rerun", flaky["run_id"], "--format", "json")
    child = json.loads(rerun.stdout)["run_id"]
    with ws.instance() as instance:
        run = instance.get_run_by_id(child)
        assert run.tags["dagster/parent_run_id"] == flaky["run_id"]
        assert run.tags["dagster/root_run_id"] == flaky["run_id"]
        assert run.remote_job_origin.repository_origin.get_label() == "__repository__@spine"
        starts = instance.all_logs(child, of_type=dg.DagsterEventType.STEP_START)
        assert [r.dagster_event.step_key for r in starts] == ["boom"]  # from the failure: `first` not again


def test_spine_dev_without_a_workspace_file_serves_location_spine(ws: Workspace) -> None:
    ws.write("flaky.yaml", FLAKY)
    env = ws.env()
    env.pop("DAGSTER_HOME")  # spine dev prepares $SPINE_HOME/dagster, as on a fresh machine
    assert not (ws.root / "workspace.yaml").exists()
    flaky = subprocess.run(
        [sys.executable, "-m", "spine_dagster", "run", "ops.flaky", "--format", "json"],
        cwd=ws.root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    run_id = json.loads(flaky.stdout)["run_id"]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "spine_dagster", "dev", "--port", str(port)],
        cwd=ws.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: server_info_answers(port), timeout=90, what="spine dev", process=server)

        def runs() -> list[str]:
            data = graphql(
                port,
                f'{{ pipelineOrError(params: {{{SELECTOR}, pipelineName: "ops__flaky"}}) '
                "{ __typename ... on Pipeline { runs { runId } } } }",
            )["pipelineOrError"]
            return [r["runId"] for r in data.get("runs", [])]

        wait_until(lambda: bool(runs()), timeout=60, what="location spine with the run")
        assert runs() == [run_id]
        assert "location_name: spine" in (ws.root / "spine_home" / "dagster" / "workspace.yaml").read_text()
    finally:
        stop_process_group(server)
