"""The ``alerts`` key: `spine validate` errors, and the alert sensors against real receivers on 127.0.0.1.

Runs execute in process on a test instance; the sensors are evaluated the way the daemon does
(``evaluate_tick`` over the instance's run-status events, cursor included), so what a tick reports (the
run reactions and their errors) is Dagster's own. tests/integration/test_alerts_daemon.py drives the same
sensors through a real ``dagster-daemon``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import spine_dagster.defs.alerts as alerts_module
from spine_dagster.composition import CodeLocation, build_code_location
from spine_dagster.defs import AlertDelivery, build_alert_sensors
from spine_dagster.defs.alerts import alert_tag, run_url
from spine_dagster.pipelines import CheckOutcome, Pipeline, PipelineParams, QualityCheck, StepResult
from spine_dagster.pipelines.context import CheckContext, StepContext
from spine_dagster.settings import Settings
from tests._alert_servers import (
    RecordingHTTPServer,
    SmtpServer,
    alert_receivers,
    partial_group,
    partial_payload,
)
from tests.conftest import evaluate_tick, make_test_registry

REPO = Path(__file__).resolve().parents[2]
HOOK_SECRET = "hook-secret-4f1d"
SLACK_TOKEN = "xoxb-test-token-9c2e"
FAST = AlertDelivery(attempts=3, first_delay_seconds=0.05, attempt_timeout_seconds=2, tick_budget_seconds=20)

# --- `spine validate` -------------------------------------------------------------------------------------

BAD = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: demo.bad_alerts}
spec:
  pipelines: [{name: a, pipeline: spine.noop}]
  alerts:
    - on: [failed, failure]
      webhook: {url_env: OPS_WEBHOOK_URL, retries: 3}
    - on: [failed]
      pagerduty: {key_env: PD_KEY}
    - on: [succeeded]
      slack: {channel: "#market-data", token: xoxb-literal}
    - on: [failed]
      webhook: {url: "http://127.0.0.1:9/hook"}
      email: {to: ops@example.com, smtp_host: 127.0.0.1, from: spine@example.com}
"""


def test_validate_reports_alert_errors_at_file_line_col(tmp_path: Path) -> None:
    path = tmp_path / "bad_alerts.yaml"
    path.write_text(BAD)
    result = subprocess.run(
        [sys.executable, "-m", "spine_dagster", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 1
    lines = [line.replace(str(path), "bad_alerts.yaml") for line in result.stdout.splitlines()]
    assert lines == [
        "bad_alerts.yaml:7:20: invalid value 'failure' for spec.alerts[0].on[1]: expected one of 'completed', "
        "'failed', 'partial', 'check_error', 'check_warn' (did you mean 'failed'?)",
        "bad_alerts.yaml:8:43: unknown key 'retries' in spec.alerts[0].webhook",
        "bad_alerts.yaml:10:7: unknown key 'pagerduty' in spec.alerts[1]: an alert has 'on' and exactly one "
        "channel: 'webhook', 'email' or 'slack'",
        "bad_alerts.yaml:11:12: invalid value 'succeeded' for spec.alerts[2].on[0]: expected one of 'completed', "
        "'failed', 'partial', 'check_error', 'check_warn'",
        "bad_alerts.yaml:12:14: missing required key 'token_env' in spec.alerts[2].slack",
        "bad_alerts.yaml:12:40: unknown key 'token' in spec.alerts[2].slack: secrets come only from the "
        "environment, write token_env: VARIABLE_NAME",
        "bad_alerts.yaml:13:7: spec.alerts[3]: an alert needs exactly one channel (webhook, email or slack), got "
        "webhook and email",
        "0 valid groups, 7 errors in 1 file (1 file checked)",
    ]


# --- the sensors ------------------------------------------------------------------------------------------


def _fails_with(ctx: CheckContext) -> CheckOutcome:
    return CheckOutcome(passed=False, message="37% of rows rejected")


class CheckedPipeline(Pipeline):
    """Writes a table whose two checks fail: an error check that does not block, and a warning."""

    name = "test.checked"
    description = "Writes test.checked; both of its checks fail."
    Params = PipelineParams
    writes = ("test.checked",)
    checks = (
        QualityCheck("reject_rate", "test.checked", "few rejects", _fails_with, "error", False),
        QualityCheck("row_count", "test.checked", "enough rows", _fails_with, "warn", False),
    )

    def run(self, ctx: StepContext, params: PipelineParams) -> StepResult:
        return StepResult(rows_written={"test.checked": 3})


def _groups(http: RecordingHTTPServer, smtp: SmtpServer) -> dict[str, str]:
    return {
        "mixed.yaml": partial_group(
            "alert.mixed",
            f"""
  - on: [failed, partial]
    webhook: {{url_env: SPINE_TEST_HOOK_URL}}
  - on: [partial]
    email: {{to: [ops@example.com, oncall@example.com], smtp_host: 127.0.0.1, smtp_port: {smtp.port},
             from: spine@example.com}}
  - on: partial
    slack: {{channel: "#market-data", token_env: SPINE_TEST_SLACK_TOKEN}}
  - on: [completed]
    webhook: {{url: "{http.url("/completed")}"}}
""",
        ),
        "checked.yaml": f"""
name: alert.checked
steps: [{{name: write, pipeline: test.checked}}]
alerts:
  - on: [check_warn, check_error]
    webhook: {{url: "{http.url("/checks")}"}}
  - on: failed
    webhook: {{url: "{http.url("/failed")}"}}
""",
        "weekly.yaml": f"""
name: alert.weekly
defaults: {{week_ending: "{{{{ params.week_ending }}}}"}}
steps: [{{name: load, pipeline: spine.noop}}]
partitions: {{weekly: {{start: "2025-01-03"}}}}
alerts:
  - on: completed
    webhook: {{url: "{http.url("/weekly")}"}}
""",
        "quiet.yaml": "name: alert.quiet\nsteps: [{name: a, pipeline: spine.noop}]\n",
    }


@pytest.fixture(name="receivers")
def receivers_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RecordingHTTPServer, SmtpServer]]:
    with alert_receivers() as (http, smtp):
        for path in ("/hook", "/completed", "/checks", "/failed", "/weekly"):
            http.answer(path, 200)
        http.answer_slack("/slack/api")
        monkeypatch.setenv("SPINE_TEST_HOOK_URL", http.url(f"/hook?token={HOOK_SECRET}"))
        monkeypatch.setenv("SPINE_TEST_SLACK_TOKEN", SLACK_TOKEN)
        monkeypatch.setenv("SPINE_SLACK_API_URL", http.url("/slack/api"))
        monkeypatch.setenv("SPINE_UI_BASE_URL", "https://dagster.example.test/")
        yield http, smtp


def _location(tmp_path: Path, files: dict[str, str]) -> CodeLocation:
    groups = tmp_path / "groups"
    groups.mkdir(exist_ok=True)
    for name, text in files.items():
        (groups / name).write_text(text)
    registry = make_test_registry()
    registry.register(CheckedPipeline)
    settings = Settings(
        home=tmp_path / "home", groups_dir=groups, warehouse_url="duckdb:///:memory:", strict=True
    )
    return build_code_location(settings, registry=registry)


def _sensors(location: CodeLocation, job_name: str) -> dict[str, dg.SensorDefinition]:
    """The group's alert sensors by run status, with fast retries (the shipped policy waits 1 s, then 2 s)."""
    binding = location.runtime.jobs[job_name]
    job = location.definitions.resolve_job_def(job_name)
    built = build_alert_sensors(binding, job, location.translator, location.runtime.outcome_of, FAST)
    return {sensor.name.rsplit("_", 1)[-1]: sensor for sensor in built}


class Ticks:
    """Evaluates one sensor tick after tick on an instance, carrying the cursor like the daemon."""

    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance) -> None:
        self.sensor, self.instance = sensor, instance
        first = evaluate_tick(sensor, instance=instance)
        assert "Initiating" in (first.skip_message or "")
        self.cursor = first.cursor

    def tick(self) -> Any:
        result = evaluate_tick(self.sensor, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        return result


def _run(location: CodeLocation, job_name: str, instance: dg.DagsterInstance, **kwargs: Any) -> str:
    """Run the job in process on ``instance`` (failing steps allowed); its run id."""
    job = location.definitions.resolve_job_def(job_name)
    return job.execute_in_process(instance=instance, raise_on_error=False, **kwargs).run_id


def _alert_tags(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    tags = instance.get_run_by_id(run_id).tags  # type: ignore[union-attr]
    return {k: v.split("|")[1] for k, v in tags.items() if k.startswith("spine/alert/")}


def test_alert_sensors_are_on_and_watch_the_groups_job(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer]
) -> None:
    location = _location(tmp_path, _groups(*receivers))
    found = {
        s.name: (s.default_status, s.minimum_interval_seconds, s.description)
        for s in location.definitions.sensors  # type: ignore[union-attr]
        if "alert_sensor" in s.name
    }
    channels = (
        "webhook (url_env SPINE_TEST_HOOK_URL) on failed/partial, email (to ops@example.com, oncall@example.com "
        f"via 127.0.0.1:{receivers[1].port}) on partial, slack (#market-data) on partial, webhook "
        f"({receivers[0].url('/completed')}) on completed"
    )
    assert found["alert__mixed__alert_sensor_failure"] == (
        dg.DefaultSensorStatus.RUNNING, 30, f"alert.mixed: alerts for runs that end FAILURE ({channels})"
    )  # fmt: skip
    assert found["alert__mixed__alert_sensor_success"][0] == dg.DefaultSensorStatus.RUNNING
    assert sorted(found) == [
        "alert__checked__alert_sensor_failure",
        "alert__checked__alert_sensor_success",
        "alert__mixed__alert_sensor_failure",
        "alert__mixed__alert_sensor_success",
        "alert__weekly__alert_sensor_failure",
        "alert__weekly__alert_sensor_success",
    ]  # fmt: skip  (alert.quiet has no alerts, so no sensors)
    sensor = location.definitions.resolve_sensor_def("alert__mixed__alert_sensor_failure")
    assert isinstance(sensor, dg.RunStatusSensorDefinition)


def test_a_partial_run_alerts_every_channel_once(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer]
) -> None:
    http, smtp = receivers
    location = _location(tmp_path, _groups(http, smtp))
    with dg.instance_for_test() as instance:
        ticks = Ticks(_sensors(location, "alert__mixed")["failure"], instance)
        run_id = _run(location, "alert__mixed", instance)
        result = ticks.tick()
        assert [(r.dagster_run.run_id, r.error) for r in result.dagster_run_reactions] == [(run_id, None)]

        [hook] = http.to("/hook")
        assert hook.json() == partial_payload("alert.mixed", run_id, "https://dagster.example.test")
        assert hook.headers["Content-Type"] == "application/json"
        assert http.to("/completed") == []  # the run is partial, not completed

        [(sender, recipients, mail)] = smtp.messages
        assert (sender, recipients) == ("spine@example.com", ["ops@example.com", "oncall@example.com"])
        assert mail["Subject"] == f"[spine] alert.mixed: partial (run {run_id[:8]})"
        body = mail.get_payload(decode=True).decode()
        assert "Outcome:    partial (Dagster FAILURE)" in body
        assert (
            "- boom: spine_dagster.pipelines.builtin.SimulatedFailure: disk full on /data (attempt 1)" in body
        )
        assert f"Open the run: https://dagster.example.test/runs/{run_id}" in body

        [slack] = http.to("/slack/api/chat.postMessage")
        assert slack.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
        posted = slack.json()
        assert posted["channel"] == "#market-data"
        assert posted["text"].startswith(
            f"*alert.mixed* partial: <https://dagster.example.test/runs/{run_id}|run {run_id[:8]}>\n• boom: "
        )

        assert _alert_tags(instance, run_id) == {
            alert_tag(0, "partial"): "webhook",
            alert_tag(1, "partial"): "email",
            alert_tag(2, "partial"): "slack",
        }
        # The same run again (a rewound cursor, a crash before the cursor was saved): nothing is sent twice.
        replay = evaluate_tick(ticks.sensor, instance=instance, cursor=Ticks(ticks.sensor, instance).cursor)
        assert replay.dagster_run_reactions == []
        rewound = _rewound(ticks, instance, run_id)
        assert [r.error for r in rewound.dagster_run_reactions] == [None]
        assert len(http.requests) == 2 and len(smtp.messages) == 1


def _rewound(ticks: Ticks, instance: dg.DagsterInstance, run_id: str) -> Any:
    """A tick whose cursor is set back to just before the run's status event."""
    from dagster._core.definitions.run_status_sensor_definition import RunStatusSensorCursor

    records = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=100).records
    storage_id = next(r.storage_id for r in records if r.event_log_entry.run_id == run_id)
    cursor = RunStatusSensorCursor(record_id=storage_id - 1, record_timestamp=None).to_json()
    return evaluate_tick(ticks.sensor, instance=instance, cursor=cursor)


def test_a_down_channel_is_retried_then_fails_the_tick_and_the_others_still_alert(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer]
) -> None:
    http, smtp = receivers
    http.answer("/hook", 500)  # the url_env webhook: down for good
    http.answer_slack("/slack/api", 503, 200)  # Slack: one 503, then fine
    location = _location(tmp_path, _groups(http, smtp))
    with dg.instance_for_test() as instance:
        ticks = Ticks(_sensors(location, "alert__mixed")["failure"], instance)
        run_id = _run(location, "alert__mixed", instance)
        started = time.monotonic()
        result = ticks.tick()
        assert time.monotonic() - started < 10
        [reaction] = result.dagster_run_reactions
        assert reaction.error is not None
        error = reaction.error.to_string()
        assert reaction.error.message.startswith(
            f"spine_dagster.defs.alerts.AlertDeliveryError: 1 alert(s) of run {run_id} (group alert.mixed) not "
            "delivered: alerts[0] webhook (url_env SPINE_TEST_HOOK_URL): HTTP 500 (after 3 attempts); delivered: "
            "alerts[1] email (to ops@example.com, oncall@example.com via 127.0.0.1:"
        )
        assert HOOK_SECRET not in error and SLACK_TOKEN not in error
        assert len(http.to("/hook")) == 3
        assert len(http.to("/slack/api/chat.postMessage")) == 2
        assert len(smtp.messages) == 1
        assert _alert_tags(instance, run_id) == {
            alert_tag(1, "partial"): "email",
            alert_tag(2, "partial"): "slack",
        }

        # The webhook is back: replaying the run delivers the one alert that is missing, and only that one.
        http.answer("/hook", 200)
        replay = _rewound(ticks, instance, run_id)
        assert [r.error for r in replay.dagster_run_reactions] == [None]
        assert len(http.to("/hook")) == 4
        assert len(http.to("/slack/api/chat.postMessage")) == 2 and len(smtp.messages) == 1
        assert alert_tag(0, "partial") in _alert_tags(instance, run_id)


def test_a_failure_earlier_in_a_tick_stays_the_ticks(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    http, smtp = receivers
    location = _location(tmp_path, _groups(http, smtp))
    with dg.instance_for_test() as instance:
        ticks = Ticks(_sensors(location, "alert__mixed")["failure"], instance)
        monkeypatch.delenv("SPINE_TEST_HOOK_URL")  # first run: the webhook's variable is missing
        first, second = _run(location, "alert__mixed", instance), _run(location, "alert__mixed", instance)
        sent = []
        real_send = alerts_module.send_alerts

        def send_then_restore(*args: Any, **kwargs: Any) -> Any:
            # The variable comes back after the first run's alerts: the second run's alerts all go out.
            result = real_send(*args, **kwargs)
            sent.append(args[0].dagster_run.run_id)
            os.environ["SPINE_TEST_HOOK_URL"] = http.url(f"/hook?token={HOOK_SECRET}")
            return result

        monkeypatch.setattr(alerts_module, "send_alerts", send_then_restore)
        result = ticks.tick()
        assert sent == [first, second]  # both runs handled in one tick
        # The daemon gives the tick the status and error of its last reaction: the second run, whose
        # alerts all went out, repeats the first run's error so that the tick stays FAILURE with it.
        reactions = result.dagster_run_reactions
        assert [r.dagster_run.run_id for r in reactions] == [first, second]
        errors = [r.error.message if r.error else "" for r in reactions]
        first_error = (
            f"1 alert(s) of run {first} (group alert.mixed) not delivered: alerts[0] webhook (url_env "
            "SPINE_TEST_HOOK_URL): environment variable SPINE_TEST_HOOK_URL is not set; delivered: "
        )
        assert errors[0].startswith(f"spine_dagster.defs.alerts.AlertDeliveryError: {first_error}")
        assert errors[1].startswith(f"spine_dagster.defs.alerts.AlertDeliveryError: {first_error}")
        assert f"(repeated: run {second}, handled later in this tick, had no delivery error)" in errors[1]
        assert len(http.to("/hook")) == 1  # only the second run's: a missing variable is not retried
        assert alert_tag(0, "partial") in _alert_tags(instance, second)
        assert alert_tag(0, "partial") not in _alert_tags(instance, first)


def test_check_conditions_come_from_the_runs_failed_checks(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer]
) -> None:
    http, _smtp = receivers
    location = _location(tmp_path, _groups(*receivers))
    with dg.instance_for_test() as instance:
        ticks = Ticks(_sensors(location, "alert__checked")["success"], instance)
        _run(location, "alert__checked", instance)
        assert [r.error for r in ticks.tick().dagster_run_reactions] == [None]
    [alert] = http.to("/checks")
    payload = alert.json()
    assert payload["outcome"] == "completed"
    assert payload["conditions"] == ["check_error", "check_warn"]  # one message for both conditions
    assert payload["failed_checks"] == [
        {"asset": "test/checked", "check": "reject_rate", "severity": "error", "description": "37% of rows rejected"},
        {"asset": "test/checked", "check": "row_count", "severity": "warn", "description": "37% of rows rejected"},
    ]  # fmt: skip
    assert http.to("/failed") == []


def test_the_payload_names_the_partition(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer]
) -> None:
    http, _smtp = receivers
    location = _location(tmp_path, _groups(*receivers))
    with dg.instance_for_test() as instance:
        ticks = Ticks(_sensors(location, "alert__weekly")["success"], instance)
        run_id = _run(location, "alert__weekly", instance, partition_key="2025-01-06")
        ticks.tick()
    [alert] = http.to("/weekly")
    assert alert.json()["partition"] == "2025-01-06"
    assert alert.json()["run_url"] == run_url(run_id, {"SPINE_UI_BASE_URL": "https://dagster.example.test/"})
    assert run_url("r1", {}) == "http://127.0.0.1:3000/runs/r1"


def test_a_hanging_channel_is_cut_off_by_the_tick_budget(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    http, smtp = receivers
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("SPINE_TEST_HOOK_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
        location = _location(tmp_path, _groups(http, smtp))
        binding = location.runtime.jobs["alert__mixed"]
        job = location.definitions.resolve_job_def("alert__mixed")
        policy = AlertDelivery(
            attempts=5, first_delay_seconds=0.1, attempt_timeout_seconds=1, tick_budget_seconds=2.5
        )
        [_, failure] = build_alert_sensors(
            binding, job, location.translator, location.runtime.outcome_of, policy
        )
        with dg.instance_for_test() as instance:
            ticks = Ticks(failure, instance)
            job.execute_in_process(instance=instance, raise_on_error=False)
            started = time.monotonic()
            [reaction] = ticks.tick().dagster_run_reactions
            elapsed = time.monotonic() - started
    assert elapsed < 6
    assert reaction.error is not None and "ReadTimeout" in reaction.error.message
    assert (
        "no time left in the tick to retry" in reaction.error.message or "ran out" in reaction.error.message
    )
    assert len(smtp.messages) == 1  # the other channels went out at the same time


def test_the_email_channel_logs_in_over_starttls_only_with_env_credentials(
    tmp_path: Path, receivers: tuple[RecordingHTTPServer, SmtpServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiosmtpd here offers no STARTTLS: asking for it is a permanent failure, reported without retries.
    _http, smtp = receivers
    group = f"""
name: alert.tls
steps: [{{name: boom, pipeline: spine.fail}}]
alerts:
  - on: failed
    email: {{to: ops@example.com, smtp_host: 127.0.0.1, smtp_port: {smtp.port}, from: spine@example.com,
             tls: starttls, username_env: SPINE_TEST_SMTP_USER, password_env: SPINE_TEST_SMTP_PASSWORD}}
"""
    monkeypatch.setenv("SPINE_TEST_SMTP_USER", "spine")
    monkeypatch.setenv("SPINE_TEST_SMTP_PASSWORD", "smtp-password-77")
    location = _location(tmp_path, {"tls.yaml": group})
    with dg.instance_for_test() as instance:
        ticks = Ticks(_sensors(location, "alert__tls")["failure"], instance)
        _run(location, "alert__tls", instance)
        [reaction] = ticks.tick().dagster_run_reactions
    assert reaction.error is not None
    message = reaction.error.message
    assert "alerts[0] email (to ops@example.com via 127.0.0.1:" in message
    assert "STARTTLS extension not supported by server" in message
    assert "smtp-password-77" not in reaction.error.to_string()
    assert smtp.messages == []
