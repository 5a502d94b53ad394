"""The PipelineGroup language (spine.io/v1) as frozen pydantic models (spec stage; no dagster).

:class:`PipelineGroupSpec` is the canonical, shape-independent form: the loader turns both YAML shapes
(nested ``metadata``/``spec`` and flat) into it, the Python DSL builds it, and ``to_yaml`` writes it back.
Every model forbids unknown keys and checks types strictly (``max_concurrency: "4"`` is an error).
Cross-field rules (duplicate step names, template syntax) live in :mod:`spine_dagster.spec.semantics`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._model import SpecModel
from .alerts import AlertSpec
from .types import (
    WEEK_DIMENSION,
    WEEKDAYS,
    CronString,
    DefaultStatus,
    GroupName,
    Identifier,
    IsoDate,
    NonNegativeNumber,
    Owner,
    ParamName,
    Params,
    PartitionValue,
    PipelineName,
    PoolName,
    PositiveNumber,
    StepName,
    Tags,
    Timezone,
    Weekday,
)

API_VERSION = "spine.io/v1"
KIND = "PipelineGroup"

# --- policies ---------------------------------------------------------------------------------------------


class RetrySpec(SpecModel):
    """Retry a failed step. ``max_retries`` counts retries *after* the first attempt (Dagster's meaning).

    Delay before retry n (1-based), before ``max_delay_seconds`` caps it:
    ``constant`` = delay, ``linear`` = delay * n, ``exponential`` = delay * (2**n - 1).
    ``jitter``: ``full`` = random in [0, delay], ``plus_minus`` = delay ± delay_seconds.
    """

    max_retries: Annotated[StrictInt, Field(ge=0, le=100)]
    delay_seconds: NonNegativeNumber = 0.0
    backoff: Literal["constant", "linear", "exponential"] = "constant"
    max_delay_seconds: PositiveNumber | None = None
    jitter: Literal["none", "full", "plus_minus"] = "none"

    @field_validator("max_delay_seconds")
    @classmethod
    def _cap_not_below_delay(cls, value: float | None, info: ValidationInfo) -> float | None:
        delay = info.data.get("delay_seconds")
        if value is not None and delay is not None and value < delay:
            raise ValueError(
                f"max_delay_seconds ({value:g}) is below delay_seconds ({delay:g}): the cap must be at least "
                "the base delay"
            )
        return value


class ExecutionPolicySpec(SpecModel):
    """How a group runs: ``sequential`` (one step at a time, plan order) or ``parallel``."""

    execution: Literal["sequential", "parallel"] = "sequential"
    max_concurrency: Annotated[StrictInt, Field(ge=1, le=1024)] = 4
    on_failure: Literal["stop", "continue"] = "stop"
    timeout_minutes: PositiveNumber | None = None
    retry: RetrySpec | None = None


class CheckOverrideSpec(SpecModel):
    """Change how one of a pipeline's quality checks is treated in this step."""

    severity: Literal["warn", "error"] | None = None
    blocking: StrictBool | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> CheckOverrideSpec:
        if self.severity is None and self.blocking is None:
            raise ValueError("a check override needs 'severity' or 'blocking'")
        return self


# --- steps -------------------------------------------------------------------------------------------------


def _depends_on(value: Any) -> Any:
    # spine-core accepts a single string and normalizes it to a 1-tuple.
    if isinstance(value, str):
        return (value,)
    if value is None:
        raise ValueError("depends_on must be a step name or a list of step names, not null")
    return value


class StepSpec(SpecModel):
    """One step: run the registered ``pipeline`` after the steps in ``depends_on``."""

    name: StepName
    pipeline: PipelineName
    depends_on: Annotated[tuple[StepName, ...], BeforeValidator(_depends_on)] = ()
    params: Params = Field(default_factory=dict)
    description: StrictStr = ""
    retry: RetrySpec | None = None
    timeout_seconds: PositiveNumber | None = None
    pool: PoolName | None = None
    tags: Tags = Field(default_factory=dict)
    owners: tuple[Owner, ...] = ()
    checks: dict[Annotated[StrictStr, StringConstraints(min_length=1)], CheckOverrideSpec] = Field(
        default_factory=dict
    )


# --- triggers ----------------------------------------------------------------------------------------------


class ScheduleSpec(SpecModel):
    """Run the group on a cron schedule (``params`` are the run params of scheduled runs)."""

    cron: CronString
    timezone: Timezone = "UTC"
    name: Identifier | None = None
    description: StrictStr = ""
    params: Params = Field(default_factory=dict)
    default_status: DefaultStatus = "stopped"


class WeeklyPartitionSpec(SpecModel):
    """Weekly partitions: one per week ending on ``ends_on``, from the week ending on ``start``.

    ``key_day`` names the day of the week whose date is the partition key (default Monday, the date a week
    is known by: ISO 8601, FINRA's ``weekStartDate``); ``param``/``fills`` still receive the week's last
    (``ends_on``) or first day.
    """

    ends_on: Weekday = "friday"
    key_day: Weekday = "monday"
    start: IsoDate
    param: ParamName = "week_ending"
    fills: Literal["week_ending", "week_start"] = "week_ending"
    end_offset: Annotated[StrictInt, Field(ge=-52, le=52)] = 0
    timezone: Timezone = "UTC"

    @field_validator("start")
    @classmethod
    def _start_on_week_end(cls, value: str, info: ValidationInfo) -> str:
        ends_on = info.data.get("ends_on")
        weekday = WEEKDAYS[dt.date.fromisoformat(value).weekday()]
        if ends_on is not None and weekday != ends_on:
            raise ValueError(
                f"start {value} is a {weekday}, but weeks end on {ends_on}: give the last day of the first week"
            )
        return value


class StaticPartitionSpec(SpecModel):
    """A second, fixed partition dimension (for example the FINRA tier)."""

    name: Identifier
    values: Annotated[tuple[PartitionValue, ...], Field(min_length=1)]
    param: ParamName | None = None

    @field_validator("name")
    @classmethod
    def _not_the_week(cls, value: str) -> str:
        if value == WEEK_DIMENSION:
            raise ValueError(
                f"{WEEK_DIMENSION!r} is the weekly dimension's name: give the static dimension another"
            )
        return value

    @field_validator("values")
    @classmethod
    def _unique(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        seen = [v for i, v in enumerate(values) if v in values[:i]]
        if seen:
            raise ValueError(f"duplicate partition values: {', '.join(seen)}")
        return values

    @property
    def target_param(self) -> str:
        """The run param that receives the partition value (``param``, else the dimension's name)."""
        return self.param or self.name


LagWeeks = Annotated[StrictInt, Field(ge=0, le=52)]


class PartitionScheduleSpec(SpecModel):
    """A schedule built from the partitioned job: each tick runs the newest complete week.

    ``lag_weeks`` runs an older week instead: that many weeks before the newest complete one, either one
    number or one per value of the static dimension (FINRA publishes NMS Tier 1 two weeks before the
    other tiers).
    """

    hour: Annotated[StrictInt, Field(ge=0, le=23)] = 0
    minute: Annotated[StrictInt, Field(ge=0, le=59)] = 0
    day_of_week: Weekday | None = None
    timezone: Timezone = "UTC"
    default_status: DefaultStatus = "stopped"
    lag_weeks: LagWeeks | dict[PartitionValue, LagWeeks] = 0


class PartitionsSpec(SpecModel):
    weekly: WeeklyPartitionSpec
    static: StaticPartitionSpec | None = None
    schedule: PartitionScheduleSpec | None = None

    @model_validator(mode="after")
    def _distinct_params(self) -> PartitionsSpec:
        if self.static is not None and self.static.target_param == self.weekly.param:
            raise ValueError(
                f"the weekly and static dimensions both fill param {self.weekly.param!r}: give them "
                "different params"
            )
        lags = self.schedule.lag_weeks if self.schedule is not None else 0
        if isinstance(lags, dict):
            values = self.static.values if self.static is not None else ()
            unknown = [v for v in lags if v not in values]
            if unknown:
                raise ValueError(
                    f"schedule.lag_weeks names {', '.join(map(repr, unknown))}, not values of the static dimension "
                    f"({', '.join(values) or 'there is none'})"
                )
        return self


def _regex(value: str) -> str:
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    if "week" not in compiled.groupindex:
        raise ValueError(
            f"partition_pattern {value!r} needs a named group (?P<week>...) matching a YYYY-MM-DD date"
        )
    return value


class FileArrivalSensorSpec(SpecModel):
    """Launch the group once for every new file matching ``glob`` in ``directory``.

    For a partitioned group, ``partition_pattern`` (a regular expression searched in the file name) picks
    the partition: a named group ``week`` holds a date within the week; a group named after the static
    dimension picks its value (without one, every value of that dimension gets a run).
    """

    type: Literal["file_arrival"]
    directory: Annotated[StrictStr, StringConstraints(min_length=1)]
    glob: Annotated[StrictStr, StringConstraints(min_length=1)] = "*"
    path_param: ParamName | None = None
    partition_pattern: Annotated[StrictStr, AfterValidator(_regex)] | None = None
    name: Identifier | None = None
    params: Params = Field(default_factory=dict)
    minimum_interval_seconds: Annotated[StrictInt, Field(ge=1)] = 30
    default_status: DefaultStatus = "stopped"


class AfterGroupSensorSpec(SpecModel):
    """Launch the group when a run of another group ends with ``status``."""

    type: Literal["after_group"]
    group: GroupName
    status: Literal["completed", "failed", "partial"] = "completed"
    name: Identifier | None = None
    params: Params = Field(default_factory=dict)
    minimum_interval_seconds: Annotated[StrictInt, Field(ge=1)] = 30
    default_status: DefaultStatus = "stopped"


SensorSpec = Annotated[FileArrivalSensorSpec | AfterGroupSensorSpec, Field(discriminator="type")]


# --- the group ---------------------------------------------------------------------------------------------


class PipelineGroupSpec(SpecModel):
    """A pipeline group: named steps with ``depends_on`` edges, default params and a policy.

    Example (the Python DSL builds the same object; see :mod:`spine_dagster.spec.dsl`)::

        PipelineGroupSpec(name="demo.smoke", steps=(StepSpec(name="a", pipeline="spine.noop"),))
    """

    name: GroupName
    domain: StrictStr = ""
    version: StrictInt | StrictStr = 1
    description: StrictStr = ""
    tags: Tags = Field(default_factory=dict)
    owners: tuple[Owner, ...] = ()
    defaults: Params = Field(default_factory=dict)
    steps: tuple[StepSpec, ...] = ()
    policy: ExecutionPolicySpec = ExecutionPolicySpec()
    schedules: tuple[ScheduleSpec, ...] = ()
    partitions: PartitionsSpec | None = None
    sensors: tuple[SensorSpec, ...] = ()
    alerts: tuple[AlertSpec, ...] = ()

    def step(self, name: str) -> StepSpec | None:
        """The step of that name, or None."""
        return next((s for s in self.steps if s.name == name), None)


# Where each canonical top-level key lives in the nested (Kubernetes-style) shape.
METADATA_KEYS = ("name", "domain", "version", "description", "tags", "owners")
SPEC_KEYS = ("defaults", "pipelines", "steps", "policy", "schedules", "partitions", "sensors", "alerts")
