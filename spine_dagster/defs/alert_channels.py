"""How an alert is written (email, Slack) and sent through its channel, with the errors a retry can help.

Each sender returns a ``send(timeout)`` that raises :class:`Retryable` or :class:`Permanent`; the retries,
the time budget and the bookkeeping of what was sent are :mod:`spine_dagster.defs.alerts`'. Secrets are
read from the environment only inside ``send``; :func:`secret_values` and :func:`mask` keep them out of
errors.
"""

from __future__ import annotations

import math
import os
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping
from email.message import EmailMessage
from typing import Any

from ..spec.alerts import AlertSpec, EmailAlertSpec, SlackAlertSpec, WebhookAlertSpec

# Where the Slack Web API is (slack_sdk's default when unset): a test server or an enterprise proxy.
SLACK_API_URL_ENV = "SPINE_SLACK_API_URL"


def _headline(payload: Mapping[str, Any]) -> str:
    where = f", partition {payload['partition']}" if payload["partition"] else ""
    return f"{payload['group']}: {', '.join(payload['conditions'])} (run {payload['run_id'][:8]}{where})"


def _facts(payload: Mapping[str, Any], bullet: str) -> list[str]:
    lines = [f"{bullet}{s['step']}: {s['error'] or 'failed'}" for s in payload["failed_steps"]]
    if payload["skipped_steps"]:
        lines.append(f"{bullet}not run: {', '.join(payload['skipped_steps'])}")
    for c in payload["failed_checks"]:
        lines.append(
            f"{bullet}check {c['asset']}:{c['check']} ({c['severity']}): {c['description'] or 'failed'}"
        )
    return lines


def email_message(payload: Mapping[str, Any], spec: EmailAlertSpec) -> EmailMessage:
    """A plain-text email: the headline as subject, the facts and the run link in the body."""
    message = EmailMessage()
    message["Subject"] = f"[spine] {_headline(payload)}"
    message["From"] = spec.sender
    message["To"] = ", ".join(spec.to)
    message["X-Spine-Run-Id"] = payload["run_id"]
    partition = payload["partition"] or "-"
    body = [
        f"Group:      {payload['group']}",
        f"Outcome:    {payload['outcome']} (Dagster {payload['dagster_status']})",
        f"Conditions: {', '.join(payload['conditions'])}",
        f"Run:        {payload['run_id']}",
        f"Partition:  {partition}",
        "",
        *(_facts(payload, "- ") or ["No step failed."]),
        "",
        f"Open the run: {payload['run_url']}",
    ]
    message.set_content("\n".join(body) + "\n")
    return message


def slack_text(payload: Mapping[str, Any]) -> str:
    """The Slack message (mrkdwn): the headline with a link to the run, then one line per fact."""
    where = f", partition {payload['partition']}" if payload["partition"] else ""
    head = (
        f"*{payload['group']}* {', '.join(payload['conditions'])}: "
        f"<{payload['run_url']}|run {payload['run_id'][:8]}>{where}"
    )
    return "\n".join([head, *_facts(payload, "• ")])


# --- channels ---------------------------------------------------------------------------------------------


class Retryable(Exception):
    """This attempt failed; another one may not."""


class Permanent(Exception):
    """Retrying cannot help (bad address, refused credentials, a variable not set)."""


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise Permanent(f"environment variable {name} is not set")
    return value


def secret_values(spec: AlertSpec) -> list[str]:
    """The values of the alert's secret variables (masked out of errors and logs): a webhook URL from the
    environment, a token, a password. (The SMTP login name is not one.)"""
    channel = spec.webhook or spec.email or spec.slack
    names = [getattr(channel, key, None) for key in ("url_env", "token_env", "password_env")]
    return [os.environ[n] for n in names if isinstance(n, str) and os.environ.get(n)]


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def alert_target(spec: AlertSpec) -> str:
    """Where an alert goes, without its secrets: ``url_env OPS_URL``, ``to a@b.c via host:25``, ``#channel``."""
    if spec.webhook is not None:
        return f"url_env {spec.webhook.url_env}" if spec.webhook.url_env else str(spec.webhook.url)
    if spec.email is not None:
        return f"to {', '.join(spec.email.to)} via {spec.email.smtp_host}:{spec.email.smtp_port}"
    assert spec.slack is not None
    return spec.slack.channel


def channel_label(index: int, spec: AlertSpec) -> str:
    """How errors and logs name an alert: ``alerts[1] webhook (url_env OPS_URL)``."""
    return f"alerts[{index}] {spec.channel} ({alert_target(spec)})"


def _webhook_sender(spec: WebhookAlertSpec, payload: Mapping[str, Any]) -> Callable[[float], None]:
    def send(timeout: float) -> None:
        import httpx  # imported when a webhook is sent, not when the code location loads

        url = spec.url or _env(spec.url_env or "")
        try:
            response = httpx.post(
                url, json=payload, timeout=timeout, headers={"User-Agent": "spine-dagster alerts"}
            )
        except httpx.HTTPError as exc:  # connection refused, timed out, ...: the URL is not in the text
            raise Retryable(f"{type(exc).__name__}: {exc}") from None
        if response.is_success:
            return
        error = f"HTTP {response.status_code}"
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            raise Retryable(error)
        raise Permanent(error)

    return send


def _email_sender(spec: EmailAlertSpec, payload: Mapping[str, Any]) -> Callable[[float], None]:
    message = email_message(payload, spec)

    def send(timeout: float) -> None:
        user = _env(spec.username_env) if spec.username_env else None
        password = _env(spec.password_env) if spec.password_env else None
        try:
            if spec.tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    spec.smtp_host, spec.smtp_port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(spec.smtp_host, spec.smtp_port, timeout=timeout)
            with smtp:
                if spec.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if password is not None:
                    smtp.login(user or spec.sender, password)
                smtp.send_message(message)
        except smtplib.SMTPNotSupportedError as exc:  # e.g. tls: starttls against a server without it
            raise Permanent(f"{type(exc).__name__}: {exc}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise Permanent(f"recipients refused: {', '.join(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            error = f"SMTP {exc.smtp_code} {text}".strip()
            raise (Permanent if 500 <= exc.smtp_code < 600 else Retryable)(error) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from None

    return send


def _slack_sender(spec: SlackAlertSpec, payload: Mapping[str, Any]) -> Callable[[float], None]:
    text = slack_text(payload)

    def send(timeout: float) -> None:
        from dagster_slack import SlackResource  # slack_sdk is imported only when an alert goes to Slack
        from slack_sdk.errors import SlackApiError

        client = SlackResource(token=_env(spec.token_env)).get_client()
        api_url = os.environ.get(SLACK_API_URL_ENV)
        if api_url:
            client.base_url = api_url if api_url.endswith("/") else api_url + "/"
        client.timeout = max(1, math.ceil(timeout))
        client.retry_handlers = []  # the retries are ours, with our backoff and budget
        try:
            client.chat_postMessage(channel=spec.channel, text=text)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            message = f"Slack API HTTP {status}" + (f": {error}" if error else "")
            raise (Retryable if status == 429 or status >= 500 else Permanent)(message) from None
        except OSError as exc:  # urllib's URLError, timeouts, refused connections
            raise Retryable(f"{type(exc).__name__}: {exc}") from None

    return send


def sender_for(spec: AlertSpec, payload: Mapping[str, Any]) -> Callable[[float], None]:
    if spec.webhook is not None:
        return _webhook_sender(spec.webhook, payload)
    if spec.email is not None:
        return _email_sender(spec.email, payload)
    assert spec.slack is not None
    return _slack_sender(spec.slack, payload)
