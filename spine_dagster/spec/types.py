"""The scalar types of the PipelineGroup language: names, numbers, dates, cron strings, timezones, tags
(spec stage; no dagster). Each is an annotated type whose validator says what a group file must write.
:mod:`spine_dagster.spec.models` builds the language's models from them.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictStr, StringConstraints

# The name of the weekly dimension of a two-dimensional partitioned job: Dagster joins a multi-partition
# key's parts in the order of the dimension names, and "date" sorts before most names ("tier"), so the key
# reads WEEK|VALUE. docs/dagster.md section 10.
WEEK_DIMENSION = "date"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


# --- scalar types ---------------------------------------------------------------------------------------


def _number(value: Any) -> Any:
    # pydantic would coerce "30" and True to numbers; a group file must say what it means.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r}: use an IANA name such as 'UTC' or 'America/New_York'"
        ) from None
    return value


_CRON_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly")


def _cron(value: str) -> str:
    from croniter import croniter  # imported here: only schedules need it

    if value.startswith("@"):
        if value not in _CRON_ALIASES:
            raise ValueError(
                f"unknown cron alias {value!r}: use one of {', '.join(_CRON_ALIASES)} or 5 fields"
            )
        return value
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(
            f"invalid cron expression {value!r}: expected 5 fields 'minute hour day month weekday', "
            "e.g. '0 6 * * 1' (Mondays at 06:00)"
        )
    return value


def _iso_date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"invalid date {value!r}: expected YYYY-MM-DD") from None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"invalid date {value!r}: expected YYYY-MM-DD")
    return value


# Field() before BeforeValidator so the JSON Schema gets standard exclusiveMinimum/minimum keywords.
PositiveNumber = Annotated[float, Field(gt=0), BeforeValidator(_number)]
NonNegativeNumber = Annotated[float, Field(ge=0), BeforeValidator(_number)]

_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
GroupName = Annotated[StrictStr, StringConstraints(pattern=_NAME_PATTERN, max_length=200)]
StepName = Annotated[StrictStr, StringConstraints(pattern=_NAME_PATTERN, max_length=100)]
PipelineName = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$", max_length=200)]
ParamName = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]
Identifier = ParamName
PoolName = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9_.\-/]+$", max_length=100)]
Owner = Annotated[
    StrictStr,
    StringConstraints(pattern=r"^(team:[A-Za-z0-9_\-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$"),
]
CronString = Annotated[StrictStr, AfterValidator(_cron)]
Timezone = Annotated[StrictStr, AfterValidator(_timezone)]
IsoDate = Annotated[StrictStr, AfterValidator(_iso_date)]
PartitionValue = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)]

Params = dict[ParamName, Any]


TagKey = Annotated[StrictStr, StringConstraints(pattern=r"^([A-Za-z0-9_.\-]+/)?[A-Za-z0-9_.\-]{1,63}$")]
Label = Annotated[StrictStr, StringConstraints(min_length=1, max_length=256)]


def _tags(value: Any) -> Any:
    # spine-core's metadata.tags is a list of labels; Dagster users write key/value tags. Both are accepted.
    return tuple(value) if isinstance(value, list) else value


Tags = Annotated[
    dict[TagKey, Annotated[StrictStr, StringConstraints(max_length=256)]] | tuple[Label, ...],
    BeforeValidator(_tags),
]
DefaultStatus = Literal["running", "stopped"]
