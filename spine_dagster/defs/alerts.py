"""A group's ``alerts``: run-status sensors that send webhook, email and Slack alerts (docs/alerts.md).

Each group with alerts gets two run-status sensors over its job (Dagster SUCCESS and FAILURE: a ``partial``
or ``check_warn`` run can end either way), on by default. For each finished run a sensor derives the spine
outcome (:meth:`SpineRuntime.outcome_of`, the same derivation as ``spine run`` and the outcome sensors) and
the failed quality checks, then sends every alert whose ``on`` conditions the run meets:

* **once per run and condition**: a delivered alert is recorded as the run tag ``spine/alert/<n>/<condition>``
  (its value starts with the run id, so a re-execution that copies its parent's tags still gets its own
  alerts), and a recorded one is never sent again, whatever replays the run (a daemon restart, a rewound
  cursor);
* **retried with backoff** within the tick (:class:`AlertDelivery`), every channel of a run at the same
  time, all within a time budget well under Dagster's 60 s sensor timeout;
* **a failure is the tick's**: when a channel still fails, the other channels have had their alert, and the
  sensor raises :class:`AlertDeliveryError` naming the channel and its error, so the tick is FAILURE in the
  UI (Automation -> the sensor). Dagster advances the cursor past the run anyway (docs/alerts.md).

Secrets (``url_env``, ``token_env``, ``username_env``/``password_env``) are read from the environment when an
alert is sent and are masked out of every error and log line; the payload never holds them.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from ..runtime.binding import JobBinding
from ..runtime.outcome import GroupOutcome
from ..spec.alerts import AlertSpec
from ..spec.models import PipelineGroupSpec
from .alert_channels import Permanent, Retryable, alert_target, channel_label, mask, secret_values, sender_for
from .translator import SpineDagsterTranslator

ALERT_TAG_PREFIX = "spine/alert/"
UI_BASE_URL_ENV = "SPINE_UI_BASE_URL"
DEFAULT_UI_BASE_URL = "http://127.0.0.1:3000"

_RUN_STATUSES = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)


@dataclass(frozen=True)
class AlertDelivery:
    """How hard one tick tries: ``attempts`` per channel, waiting ``first_delay_seconds`` and then twice as
    long before each further attempt, each attempt cut off after ``attempt_timeout_seconds``, and all
    deliveries of one tick (up to 5 runs) within ``tick_budget_seconds`` (Dagster gives a sensor 60 s).

    The defaults: 3 attempts, 1 s then 2 s apart, 5 s each, 40 s per tick.
    """

    attempts: int = 3
    first_delay_seconds: float = 1.0
    attempt_timeout_seconds: float = 5.0
    tick_budget_seconds: float = 40.0


class AlertDeliveryError(Exception):
    """One or more alerts of a run were not delivered (the message names each channel and its error)."""


def alert_tag(index: int, condition: str) -> str:
    """The run tag that records a delivered alert: ``spine/alert/<index in alerts>/<condition>``."""
    return f"{ALERT_TAG_PREFIX}{index}/{condition}"


def run_url(run_id: str, environ: Mapping[str, str] | None = None) -> str:
    """The run's page in the Dagster UI: ``$SPINE_UI_BASE_URL/runs/<run id>``."""
    env = os.environ if environ is None else environ
    base = (env.get(UI_BASE_URL_ENV) or DEFAULT_UI_BASE_URL).rstrip("/")
    return f"{base}/runs/{run_id}"


# --- what happened in the run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedCheck:
    """A quality check whose last evaluation in the run did not pass."""

    asset: str
    check: str
    severity: str  # "error" or "warn"
    description: str | None


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[FailedCheck]:
    """The run's asset checks whose last evaluation failed, in the order they were evaluated."""
    last: dict[tuple[str, str], Any] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        event = record.dagster_event
        evaluation = event.event_specific_data if event is not None else None
        if evaluation is not None:
            last[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation
    return [
        FailedCheck(asset, check, e.severity.value.lower(), e.description)
        for (asset, check), e in last.items()
        if not e.passed
    ]


def conditions_met(outcome: GroupOutcome, checks: Iterable[FailedCheck]) -> set[str]:
    """The ``on`` conditions a run meets: its group outcome, and ``check_<severity>`` per failed check."""
    return {outcome.status, *(f"check_{c.severity}" for c in checks)}


def alert_payload(
    outcome: GroupOutcome,
    run: dg.DagsterRun,
    conditions: Iterable[str],
    checks: Iterable[FailedCheck],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The alert as JSON (the webhook body; email and Slack render the same facts)."""
    return {
        "group": outcome.group,
        "job": run.job_name,
        "run_id": run.run_id,
        "partition": run.tags.get("dagster/partition"),
        "outcome": outcome.status,
        "conditions": sorted(conditions),
        "dagster_status": run.status.value,
        "failed_steps": [{"step": s.name, "error": s.error} for s in outcome.steps if s.status == "failed"],
        "skipped_steps": [s.name for s in outcome.steps if s.status == "skipped"],
        "failed_checks": [
            {"asset": c.asset, "check": c.check, "severity": c.severity, "description": c.description}
            for c in checks
        ],
        "run_url": run_url(run.run_id, environ),
    }


# --- one tick ---------------------------------------------------------------------------------------------


@dataclass
class _Evaluation:
    """What the calls of one sensor evaluation share: its deadline, and the first delivery error."""

    deadline: float
    failure: str | None = None


@dataclass
class _Evaluations:
    """The evaluation a call belongs to.

    Dagster calls the sensor function once per run within one evaluation, and every call gets the
    evaluation's own logger object (``context.log``): it identifies the evaluation. Weak keys: an
    evaluation's state goes with its logger.
    """

    budget: float
    _by_log: weakref.WeakKeyDictionary[Any, _Evaluation] = field(default_factory=weakref.WeakKeyDictionary)

    def of(self, log: Any) -> _Evaluation:
        try:
            return self._by_log.setdefault(log, _Evaluation(time.monotonic() + self.budget))
        except TypeError:  # not weak-referenceable: this call alone
            return _Evaluation(time.monotonic() + self.budget)


@dataclass(frozen=True)
class _Delivery:
    index: int
    spec: AlertSpec
    conditions: tuple[str, ...]
    label: str


def _deliver(
    send: Callable[[float], None],
    item: _Delivery,
    policy: AlertDelivery,
    deadline: float,
    log: Any,
) -> tuple[int, str | None]:
    """Try one alert with retries and backoff until ``deadline``; (attempts made, masked error or None)."""
    secrets = secret_values(item.spec)
    delay = policy.first_delay_seconds
    error = "not attempted"
    for attempt in range(1, policy.attempts + 1):
        remaining = deadline - time.monotonic()
        if remaining < 0.5:
            return attempt - 1, f"{error}: the tick's {policy.tick_budget_seconds:g} s for alerts ran out"
        try:
            send(min(policy.attempt_timeout_seconds, remaining))
            return attempt, None
        except Permanent as exc:
            return attempt, mask(str(exc), secrets)
        except Retryable as exc:
            error = mask(str(exc), secrets)
        except Exception as exc:  # a bug or an unexpected library error: still one channel's failure
            return attempt, mask(f"{type(exc).__name__}: {exc}", secrets)
        if attempt == policy.attempts:
            break
        if time.monotonic() + delay >= deadline:
            return attempt, f"{error} (attempt {attempt}; no time left in the tick to retry)"
        log.warning(f"{item.label}: attempt {attempt} failed ({error}); retrying in {delay:g} s")
        time.sleep(delay)
        delay *= 2
    return policy.attempts, f"{error} (after {policy.attempts} attempts)"


def _already_sent(tags: Mapping[str, str], run_id: str, index: int, condition: str) -> bool:
    return tags.get(alert_tag(index, condition), "").startswith(f"{run_id}|")


def _pending(
    alerts: tuple[AlertSpec, ...], met: set[str], tags: Mapping[str, str], run_id: str
) -> list[_Delivery]:
    """Each alert with the conditions it still has to report for this run (one message covers them all)."""
    pending = []
    for index, spec in enumerate(alerts):
        conditions = tuple(c for c in spec.on if c in met and not _already_sent(tags, run_id, index, c))
        if conditions:
            pending.append(_Delivery(index, spec, conditions, channel_label(index, spec)))
    return pending


@dataclass(frozen=True)
class AlertsResult:
    """What one run's alerts came to: the labels of the alerts delivered now, and the errors of the others."""

    delivered: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def send_alerts(
    context: dg.RunStatusSensorContext,
    alerts: tuple[AlertSpec, ...],
    outcome_of: Callable[[dg.DagsterInstance, str], GroupOutcome | None],
    policy: AlertDelivery,
    deadline: float,
) -> AlertsResult:
    """Send the alerts one finished run still owes, all channels at once; record each delivery as run tags."""
    instance = context.instance
    run = instance.get_run_by_id(context.dagster_run.run_id) or context.dagster_run  # fresh tags
    outcome = outcome_of(instance, run.run_id)
    if outcome is None:
        return AlertsResult()
    checks = failed_checks(instance, run.run_id)
    met = conditions_met(outcome, checks)
    pending = _pending(alerts, met, run.tags, run.run_id)
    if not pending:
        context.log.info(f"run {run.run_id} ({', '.join(sorted(met))}): no alert to send")
        return AlertsResult()
    delivered, errors = [], []
    with ThreadPoolExecutor(max_workers=len(pending), thread_name_prefix="spine-alert") as pool:
        futures = []
        for item in pending:
            send = sender_for(item.spec, alert_payload(outcome, run, item.conditions, checks))
            futures.append((item, pool.submit(_deliver, send, item, policy, deadline, context.log)))
        for item, future in futures:
            attempts, error = future.result()
            if error is not None:
                errors.append(f"{item.label}: {error}")
                context.log.error(f"{item.label}: not delivered for run {run.run_id}: {error}")
                continue
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            value = f"{run.run_id}|{item.spec.channel}|{stamp}"
            instance.add_run_tags(run.run_id, {alert_tag(item.index, c): value for c in item.conditions})
            delivered.append(item.label)
            context.log.info(
                f"{item.label}: delivered {', '.join(item.conditions)} for run {run.run_id} (attempt {attempts})"
            )
    return AlertsResult(tuple(delivered), tuple(errors))


def _alert_sensor(
    spec: PipelineGroupSpec,
    status: dg.DagsterRunStatus,
    job: dg.JobDefinition,
    translator: SpineDagsterTranslator,
    outcome_of: Callable[[dg.DagsterInstance, str], GroupOutcome | None],
    policy: AlertDelivery,
) -> dg.SensorDefinition:
    evaluations = _Evaluations(policy.tick_budget_seconds)
    channels = ", ".join(f"{a.channel} ({alert_target(a)}) on {'/'.join(a.on)}" for a in spec.alerts)

    @dg.run_status_sensor(
        name=translator.get_alert_sensor_name(spec, status.value.lower()),
        run_status=status,
        monitored_jobs=[job],
        minimum_interval_seconds=translator.get_alert_sensor_interval(spec),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"{spec.name}: alerts for runs that end {status.value} ({channels})",
    )
    def _alert(context: dg.RunStatusSensorContext) -> None:
        evaluation = evaluations.of(context.log)
        run_id = context.dagster_run.run_id
        result = send_alerts(context, spec.alerts, outcome_of, policy, evaluation.deadline)
        if result.errors:
            done = f"; delivered: {', '.join(result.delivered)}" if result.delivered else ""
            message = (
                f"{len(result.errors)} alert(s) of run {run_id} (group {spec.name}) not delivered: "
                + "; ".join(result.errors)
                + done
            )
            evaluation.failure = evaluation.failure or message
            raise AlertDeliveryError(message)
        if evaluation.failure is not None:
            # The daemon gives a tick the status of its last run: raising again keeps an earlier run's failure
            # on the tick (this run's alerts, if any, went out and are recorded).
            raise AlertDeliveryError(
                f"{evaluation.failure} (repeated: run {run_id}, handled later in this tick, had no delivery error)"
            )
        # None: on to the next finished run (up to 5 per tick); Dagster notes on the run that the sensor acted.

    return _alert


def build_alert_sensors(
    binding: JobBinding,
    job: dg.JobDefinition,
    translator: SpineDagsterTranslator,
    outcome_of: Callable[[dg.DagsterInstance, str], GroupOutcome | None],
    policy: AlertDelivery | None = None,
) -> list[dg.SensorDefinition]:
    """The group's alert sensors (none when it has no ``alerts``): one per Dagster run status."""
    spec = binding.plan.spec
    if not spec.alerts:
        return []
    return [
        _alert_sensor(spec, status, job, translator, outcome_of, policy or AlertDelivery())
        for status in _RUN_STATUSES
    ]
