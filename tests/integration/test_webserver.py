"""The shipped groups in the real Dagster webserver: jobs listed, a `spine run` run visible with its outcome."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests._servers import free_port, graphql, server_info_answers, stop_process_group, wait_until
from tests.integration.conftest import REPO, Workspace

# The old names, imported from here by tests/integration/test_spine_core_canonical.py: new code imports
# tests._servers.
_free_port, _graphql = free_port, graphql


def test_webserver_shows_shipped_groups_and_spine_runs(ws: Workspace) -> None:
    env = ws.env(SPINE_GROUPS_DIR=str(REPO / "groups"))
    run = subprocess.run(
        [sys.executable, "-m", "spine_dagster", "run", "spine.smoke", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-webserver")),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 90
        wait_until(lambda: server_info_answers(port), timeout=90, what="webserver", process=server)
        jobs = []
        while not jobs and time.time() < deadline:
            data = graphql(
                port,
                "{ repositoriesOrError { ... on RepositoryConnection { nodes { name jobs { name } } } } }",
            )
            jobs = sorted(j["name"] for n in data["repositoriesOrError"].get("nodes", []) for j in n["jobs"])
            time.sleep(0.5)
        assert {"spine__smoke", "spine__resilience_demo"} <= set(jobs)
        data = graphql(
            port,
            "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }",
        )
        runs = {r["runId"]: r for r in data["runsOrError"]["results"]}
        assert runs[run_id]["jobName"] == "spine__smoke" and runs[run_id]["status"] == "SUCCESS"
        tags = {t["key"]: t["value"] for t in runs[run_id]["tags"]}
        assert tags["spine/group_status"] == "completed"
    finally:
        stop_process_group(server)


def test_spine_dev_serves_the_ui_on_localhost(ws: Workspace) -> None:
    env = ws.env(SPINE_GROUPS_DIR=str(REPO / "groups"))
    env.pop("DAGSTER_HOME")  # spine dev prepares $SPINE_HOME/dagster itself, as on a fresh clone
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "spine_dagster", "dev", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and "spine_home/dagster" in banner
        wait_until(lambda: server_info_answers(port), timeout=90, what="spine dev's UI", process=server)
        assert (ws.root / "spine_home" / "dagster" / "dagster.yaml").is_file()
    finally:
        stop_process_group(server)
