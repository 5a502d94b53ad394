"""The ``alerts`` key of the language: conditions and exactly one channel per alert (no dagster).

Secrets never appear in a file: webhook URLs that embed a token, SMTP credentials and the Slack token are
named by environment variable (``*_env``) and read when an alert is sent (spine_dagster.defs.alerts).
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._model import SpecModel

AlertCondition = Literal["completed", "failed", "partial", "check_error", "check_warn"]
ALERT_CONDITIONS: tuple[str, ...] = typing.get_args(AlertCondition)
ALERT_CHANNELS = ("webhook", "email", "slack")

EnvVarName = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200)]
EmailAddress = Annotated[StrictStr, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Hostname = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9_.\-:\[\]]+$", max_length=253)]
SlackChannel = Annotated[StrictStr, StringConstraints(pattern=r"^#?[A-Za-z0-9_.\-]{1,80}$")]
_LOOPBACK = ("localhost", "::1", "[::1]")


def _one_or_list(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


def _http_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _conditions(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError(f"give at least one condition: {', '.join(ALERT_CONDITIONS)}")
    twice = sorted({v for i, v in enumerate(values) if v in values[:i]})
    if twice:
        raise ValueError(f"lists {', '.join(map(repr, twice))} more than once")
    return values


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (a password may then travel without TLS)."""
    return host in _LOOPBACK or host.startswith("127.")


class WebhookAlertSpec(SpecModel):
    """POST the alert as JSON to ``url`` (written in the file: not a secret) or to the URL held by the
    environment variable ``url_env`` (for URLs that embed a token)."""

    url: Annotated[StrictStr, AfterValidator(_http_url)] | None = None
    url_env: EnvVarName | None = None

    @model_validator(mode="after")
    def _one_url(self) -> WebhookAlertSpec:
        if (self.url is None) == (self.url_env is None):
            raise ValueError(
                "a webhook needs exactly one of 'url' (a literal URL) or 'url_env' (a variable name)"
            )
        return self


class EmailAlertSpec(SpecModel):
    """Send the alert as a plain-text email through ``smtp_host``; credentials only from the environment."""

    # `from` is a Python keyword: the field is `sender`, written `from` in files and dumps.
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    to: Annotated[tuple[EmailAddress, ...], BeforeValidator(_one_or_list), Field(min_length=1)]
    sender: EmailAddress = Field(validation_alias="from", serialization_alias="from")
    smtp_host: Hostname
    smtp_port: Annotated[StrictInt, Field(ge=1, le=65535)] = 25
    tls: Literal["none", "starttls", "ssl"] = "none"
    username_env: EnvVarName | None = None
    password_env: EnvVarName | None = None

    @field_validator("password_env")
    @classmethod
    def _no_password_in_clear(cls, value: str | None, info: ValidationInfo) -> str | None:
        host, tls = info.data.get("smtp_host"), info.data.get("tls")
        if value is not None and tls == "none" and isinstance(host, str) and not is_loopback(host):
            raise ValueError(
                f"tls: none would send the password to {host} in clear text: set tls: starttls or tls: ssl"
            )
        return value


class SlackAlertSpec(SpecModel):
    """Post the alert to a Slack channel (through dagster-slack); the bot token only from the environment."""

    channel: SlackChannel
    token_env: EnvVarName


class AlertSpec(SpecModel):
    """Send an alert through one channel when a run of the group ends with one of the ``on`` conditions.

    Conditions: the group outcomes ``completed``, ``failed``, ``partial``, and ``check_error`` /
    ``check_warn`` (a quality check of that severity failed in the run).
    """

    unknown_key_note: ClassVar[str] = (
        "an alert has 'on' and exactly one channel: 'webhook', 'email' or 'slack'"
    )

    on: Annotated[tuple[AlertCondition, ...], BeforeValidator(_one_or_list), AfterValidator(_conditions)]
    webhook: WebhookAlertSpec | None = None
    email: EmailAlertSpec | None = None
    slack: SlackAlertSpec | None = None

    @model_validator(mode="after")
    def _one_channel(self) -> AlertSpec:
        given = [name for name in ALERT_CHANNELS if getattr(self, name) is not None]
        if len(given) != 1:
            got = " and ".join(given) if given else "none"
            raise ValueError(f"an alert needs exactly one channel (webhook, email or slack), got {got}")
        return self

    @property
    def channel(self) -> str:
        """``webhook``, ``email`` or ``slack``."""
        return next(name for name in ALERT_CHANNELS if getattr(self, name) is not None)
