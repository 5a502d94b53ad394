"""The shipped groups in the real Dagster webserver: jobs listed, a `spine run` run visible with its outcome."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.integration.conftest import REPO, Workspace


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


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
    port = _free_port()
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
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert time.time() < deadline, "webserver did not start"
                assert server.poll() is None, "webserver exited"
                time.sleep(0.5)
        jobs = []
        while not jobs and time.time() < deadline:
            data = _graphql(
                port,
                "{ repositoriesOrError { ... on RepositoryConnection { nodes { name jobs { name } } } } }",
            )
            jobs = sorted(j["name"] for n in data["repositoriesOrError"].get("nodes", []) for j in n["jobs"])
            time.sleep(0.5)
        assert {"spine__smoke", "spine__resilience_demo"} <= set(jobs)
        data = _graphql(
            port,
            "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }",
        )
        runs = {r["runId"]: r for r in data["runsOrError"]["results"]}
        assert runs[run_id]["jobName"] == "spine__smoke" and runs[run_id]["status"] == "SUCCESS"
        tags = {t["key"]: t["value"] for t in runs[run_id]["tags"]}
        assert tags["spine/group_status"] == "completed"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_spine_dev_serves_the_ui_on_localhost(ws: Workspace) -> None:
    env = ws.env(SPINE_GROUPS_DIR=str(REPO / "groups"))
    env.pop("DAGSTER_HOME")  # spine dev prepares $SPINE_HOME/dagster itself, as on a fresh clone
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "spine_dagster", "dev", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and "spine_home/dagster" in banner
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
                    assert response.status == 200
                break
            except OSError:
                assert time.time() < deadline, "spine dev did not serve the UI"
                time.sleep(0.5)
        assert (ws.root / "spine_home" / "dagster" / "dagster.yaml").is_file()
    finally:
        os.killpg(
            server.pid, signal.SIGKILL
        )  # dagster dev ignores SIGTERM when backgrounded (docs/dagster.md)
        server.wait(timeout=15)
