"""Alerts end to end: a real ``dagster-daemon`` runs a group's alert sensors against real receivers on
127.0.0.1 (a recording HTTP server for the webhooks and the Slack Web API, and aiosmtpd for email).

The run is started with ``dagster job launch -w workspace.yaml`` (a run with the code location's origin, as
from the UI; the daemon's run queue launches it). One webhook answers 500 once, another is down: the first
is delivered on its retry, the second fails the tick (FAILURE, with the channel and its error, no secret),
and email and Slack still get their alert. Then the daemon is stopped, the down webhook comes back, an
operator rewinds the sensor's cursor to before the run (`dagster sensor cursor --set`), and a new daemon
replays the run: only the missing alert is sent, nothing twice. No secret is anywhere in DAGSTER_HOME or
in the daemon's output.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorState, InstigatorTick, InstigatorType, TickStatus

from tests._alert_servers import (
    RecordingHTTPServer,
    SmtpServer,
    alert_receivers,
    partial_group,
    partial_payload,
)
from tests.integration.conftest import REPO

HOOK_SECRET = "hook-secret-d41e"
SLACK_TOKEN = "xoxb-daemon-test-3a7f"
JOB = "alert__daemon"
FAILURE_SENSOR = f"{JOB}__alert_sensor_failure"
SUCCESS_SENSOR = f"{JOB}__alert_sensor_success"

# Alert sensors tick every 2 s here instead of 30 (the translator seam every path uses).
TRANSLATOR = """
from spine_dagster.defs import SpineDagsterTranslator


class FastAlerts(SpineDagsterTranslator):
    def get_alert_sensor_interval(self, group):
        return 2
"""

T = TypeVar("T")


def _group(http: RecordingHTTPServer, smtp: SmtpServer) -> str:
    return partial_group(
        "alert.daemon",
        f"""
  - on: [failed, partial]
    webhook: {{url_env: SPINE_TEST_HOOK_URL}}
  - on: [partial]
    webhook: {{url: "{http.url("/down")}"}}
  - on: [partial]
    email: {{to: ops@example.com, smtp_host: 127.0.0.1, smtp_port: {smtp.port}, from: spine@example.com}}
  - on: [partial]
    slack: {{channel: "#market-data", token_env: SPINE_TEST_SLACK_TOKEN}}
  - on: [completed]
    webhook: {{url: "{http.url("/completed")}"}}
""",
    )


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _wait(
    check: Callable[[], T], timeout: float, what: str, daemon: subprocess.Popen[Any] | None = None
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert daemon is None or daemon.poll() is None, f"{what}: the daemon exited ({daemon.returncode})"
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.5)


@contextlib.contextmanager
def _daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[Any]]:
    """``dagster-daemon run`` in its own process group; the whole group is stopped afterwards."""
    with log.open("a") as out:
        daemon = subprocess.Popen(
            [_tool("dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield daemon
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=20)
        # Its code server and run workers share the group and may outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=10)


def _sensor_state(instance: dg.DagsterInstance, name: str) -> InstigatorState | None:
    states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    return next((s for s in states if s.instigator_name == name), None)


def _cursor(instance: dg.DagsterInstance, name: str) -> str | None:
    state = _sensor_state(instance, name)
    data = state.instigator_data if state is not None else None
    return getattr(data, "cursor", None)


def _ticks(instance: dg.DagsterInstance, name: str) -> list[InstigatorTick]:
    state = _sensor_state(instance, name)
    if state is None:
        return []
    return list(instance.get_ticks(state.instigator_origin_id, state.selector_id))  # newest first


def _acted_on(
    instance: dg.DagsterInstance, name: str, run_id: str, after: float = 0
) -> InstigatorTick | None:
    """The newest finished tick of sensor ``name`` after ``after`` that handled the run (or None)."""
    for tick in _ticks(instance, name):
        if tick.timestamp <= after or tick.status not in (TickStatus.SUCCESS, TickStatus.FAILURE):
            continue
        if tick.status == TickStatus.FAILURE or run_id in (tick.origin_run_ids or []):
            return tick
    return None


def _setup(tmp_path: Path, http: RecordingHTTPServer, group: str) -> tuple[dict[str, str], Path]:
    """A groups dir with ``group``, a Dagster home with the shipped dagster.yaml, and the environment."""
    groups = tmp_path / "groups"
    groups.mkdir()
    (groups / "alerts.yaml").write_text(group)
    (tmp_path / "fast_alerts.py").write_text(TRANSLATOR)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPINE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        SPINE_HOME=str(tmp_path / "spine_home"),
        SPINE_GROUPS_DIR=str(groups),
        SPINE_WAREHOUSE_URL=f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        SPINE_TRANSLATOR="fast_alerts:FastAlerts",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        SPINE_TEST_HOOK_URL=http.url(f"/hook?token={HOOK_SECRET}"),
        SPINE_TEST_SLACK_TOKEN=SLACK_TOKEN,
        SPINE_SLACK_API_URL=http.url("/slack/api/"),
        SPINE_UI_BASE_URL="http://dagster.example.test:3000",
    )
    return env, home


@pytest.fixture(name="receivers")
def receivers_fixture() -> Iterator[tuple[RecordingHTTPServer, SmtpServer]]:
    with alert_receivers() as (http, smtp):
        http.answer("/hook", 500, 200)  # answers 500 first
        http.answer("/down", 500)  # down until the test brings it back
        http.answer("/completed", 200)
        http.answer_slack("/slack/api")
        yield http, smtp


def test_the_daemon_sends_each_alert_once_and_a_down_channel_fails_the_tick(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer]
) -> None:
    http, smtp = receivers
    env, home = _setup(tmp_path, http, _group(http, smtp))
    log = tmp_path / "daemon.log"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs()  # create the storage before the daemon and the CLI race to

        with _daemon(env, log) as daemon:
            # The first tick of a run-status sensor only sets its cursor: runs that ended before it are not
            # reported. Launch once both alert sensors have one.
            _wait(
                lambda: _cursor(instance, FAILURE_SENSOR) and _cursor(instance, SUCCESS_SENSOR),
                120, "first ticks of the alert sensors", daemon,
            )  # fmt: skip
            before_run = _cursor(instance, FAILURE_SENSOR)
            launched = subprocess.run(
                [_tool("dagster"), "job", "launch", "-w", "workspace.yaml", "-j", JOB],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            assert launched.returncode == 0, launched.stdout[-2000:] + launched.stderr[-2000:]
            [run] = _wait(lambda: instance.get_runs(dg.RunsFilter(job_name=JOB)), 30, "the queued run")
            run_id = run.run_id
            tick = _wait(lambda: _acted_on(instance, FAILURE_SENSOR, run_id), 180, "the alert tick", daemon)

        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
        assert run.remote_job_origin is not None  # launched like the UI does: the sensor can see it

        # The tick: FAILURE, naming the down channel and its error; no secret in it.
        assert tick.status == TickStatus.FAILURE and tick.error is not None
        assert tick.error.message.startswith(
            f"spine_dagster.defs.alerts.AlertDeliveryError: 1 alert(s) of run {run_id} (group alert.daemon) not "
            f"delivered: alerts[1] webhook ({http.url('/down')}): HTTP 500 (after 3 attempts); delivered: "
            "alerts[0] webhook (url_env SPINE_TEST_HOOK_URL), alerts[2] email"
        )
        assert HOOK_SECRET not in tick.error.to_string() and SLACK_TOKEN not in tick.error.to_string()

        # The flaky webhook was retried once; the down one three times; the others got their alert once.
        hook = http.to("/hook")
        assert len(hook) == 2 and hook[0].json() == hook[1].json()
        assert hook[1].json() == partial_payload("alert.daemon", run_id, "http://dagster.example.test:3000")
        assert len(http.to("/down")) == 3
        assert http.to("/completed") == []
        [(_, recipients, mail)] = smtp.messages
        assert recipients == ["ops@example.com"]
        assert mail["Subject"] == f"[spine] alert.daemon: partial (run {run_id[:8]})"
        [slack] = http.to("/slack/api/chat.postMessage")
        assert slack.json()["channel"] == "#market-data"
        assert slack.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"  # from the environment only
        sent = {k: v for k, v in run.tags.items() if k.startswith("spine/alert/")}
        assert sorted(sent) == ["spine/alert/0/partial", "spine/alert/2/partial", "spine/alert/3/partial"]
        assert all(v.startswith(f"{run_id}|") for v in sent.values())

        # The down webhook comes back; an operator rewinds the sensor to before the run, and a new daemon
        # replays it: only the alert that is missing goes out.
        http.answer("/down", 200)
        rewind = subprocess.run(
            [_tool("dagster"), "sensor", "cursor", "-w", "workspace.yaml", "--set", str(before_run), FAILURE_SENSOR],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert rewind.returncode == 0, rewind.stdout[-2000:] + rewind.stderr[-2000:]
        restarted = time.time()
        with _daemon(env, log) as daemon:
            replay = _wait(
                lambda: _acted_on(instance, FAILURE_SENSOR, run_id, after=restarted),
                120,
                "the replay",
                daemon,
            )
        assert replay.status == TickStatus.SUCCESS, replay.error
        assert len(http.to("/down")) == 4
        assert len(http.to("/hook")) == 2 and len(http.to("/slack/api/chat.postMessage")) == 1
        assert len(smtp.messages) == 1
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.tags["spine/alert/1/partial"].startswith(f"{run_id}|webhook|")

    # No secret reached Dagster's storage, the sensors' captured logs or the daemon's output.
    leaks = [
        str(path)
        for path in [*home.rglob("*"), log]
        if path.is_file() and any(s.encode() in path.read_bytes() for s in (HOOK_SECRET, SLACK_TOKEN))
    ]
    assert leaks == []


def test_a_spine_run_run_is_alerted_by_the_daemon(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer]
) -> None:
    # spine run creates its runs with the code location's origin, so the location's sensors see them.
    http, _ = receivers
    group = partial_group("alert.daemon", "  - on: [partial]\n    webhook: {url_env: SPINE_TEST_HOOK_URL}\n")
    env, home = _setup(tmp_path, http, group)
    http.answer("/hook", 200)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs()
        with _daemon(env, tmp_path / "daemon.log") as daemon:
            _wait(lambda: _cursor(instance, FAILURE_SENSOR), 120, "first tick of the alert sensor", daemon)
            ran = subprocess.run(
                [sys.executable, "-m", "spine_dagster", "run", "alert.daemon", "--format", "json"],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            assert ran.returncode == 1, ran.stdout[-2000:] + ran.stderr[-2000:]
            [run] = instance.get_runs(dg.RunsFilter(job_name=JOB))
            tick = _wait(
                lambda: _acted_on(instance, FAILURE_SENSOR, run.run_id), 120, "the alert tick", daemon
            )
        assert tick.status == TickStatus.SUCCESS, tick.error
        [hook] = http.to("/hook")
        assert hook.json() == partial_payload("alert.daemon", run.run_id, "http://dagster.example.test:3000")
