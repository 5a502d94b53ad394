"""Params of the FINRA pipelines, validated when a group is planned (pydantic)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, ValidationInfo, model_validator

from ...pipelines.base import PipelineParams, pending_params
from .calendar import TierName, parse_tier, week_ending_of


def _tier(value: Any) -> Any:
    tier = parse_tier(value)
    if tier is None:
        raise ValueError(
            f"unknown tier {value!r}: use NMS_TIER_1, NMS_TIER_2 or OTC (or T1, T2, OTCE, 'NMS Tier 1', ...)"
        )
    return tier


Tier = Annotated[TierName, BeforeValidator(_tier)]


class WeekParams(PipelineParams):
    """A (week, tier) partition. The week is given by its Friday (``week_ending``) or its Monday
    (``week_start``, FINRA's ``weekStartDate``), or both when they agree."""

    week_ending: dt.date | None = Field(None, description="The week's Friday (give this or week_start).")
    week_start: dt.date | None = Field(
        None, description="The week's Monday, FINRA's weekStartDate (give this or week_ending)."
    )
    tier: Tier = Field(description="NMS_TIER_1, NMS_TIER_2 or OTC (also T1, T2, OTCE, 'NMS Tier 1', ...).")
    force: bool = Field(False, description="Redo the week even when its data is already loaded.")

    @model_validator(mode="after")
    def _one_week(self, info: ValidationInfo) -> WeekParams:
        # A week a template or the partition will supply is given, just not known yet (spine validate):
        # the checks below then apply to the values that are known, and to all of them at run time.
        pending = pending_params(info)
        if (
            self.week_start is None
            and self.week_ending is None
            and not {"week_start", "week_ending"} & pending
        ):
            raise ValueError("give week_ending (a Friday) or week_start (the Monday)")
        if self.week_ending is not None and self.week_ending.weekday() != 4:
            nearest = self.week_ending + dt.timedelta(days=(4 - self.week_ending.weekday()) % 7)
            raise ValueError(
                f"week_ending must be a Friday, got {self.week_ending} ({self.week_ending:%A}); nearest Friday: {nearest}"
            )
        if self.week_start is not None and self.week_start.weekday() != 0:
            raise ValueError(
                f"week_start must be a Monday (FINRA's weekStartDate), got {self.week_start} ({self.week_start:%A})"
            )
        if self.week_start and self.week_ending and week_ending_of(self.week_start) != self.week_ending:
            raise ValueError(
                f"week_start {self.week_start} and week_ending {self.week_ending} are not the same week"
            )
        return self

    @property
    def monday(self) -> dt.date:
        """The week's Monday (FINRA's ``weekStartDate``), whichever of the two dates was given."""
        if self.week_start is not None:
            return self.week_start
        assert self.week_ending is not None
        return self.week_ending - dt.timedelta(days=4)


def default_source_dir() -> str:
    """The shipped samples (``data/samples/finra_otc`` of the repository)."""
    return str(Path(__file__).resolve().parents[3] / "data" / "samples" / "finra_otc")


# spine-core's names for two ingest params, accepted so its group files run unchanged (docs/finra_otc.md):
# file_path for source_path, and source_type: file|api for source (its "file" is our "files").
SPINE_CORE_ALIASES = {"source_path": "file_path", "source": "source_type"}


def _source(value: Any) -> Any:
    return "files" if value == "file" else value


class IngestParams(WeekParams):
    source: Annotated[Literal["files", "api"], BeforeValidator(_source)] = Field(
        "files",
        validation_alias=AliasChoices("source", "source_type"),
        description="files: FINRA's weekly files; api: the FINRA API (spine-core's source_type: file|api).",
    )
    source_dir: str | None = Field(
        None, description="Directory of FINRA weekly files (default: the shipped samples)."
    )
    source_path: str | None = Field(
        None,
        validation_alias=AliasChoices("source_path", "file_path"),
        description="One FINRA weekly file, instead of source_dir (spine-core's file_path).",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_name_each(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, alias in SPINE_CORE_ALIASES.items():
                if name in data and alias in data:
                    raise ValueError(f"give {name} or its spine-core name {alias}, not both")
        return data

    @model_validator(mode="after")
    def _one_source(self, info: ValidationInfo) -> IngestParams:
        pending = pending_params(info)
        given_dir = bool(self.source_dir) or "source_dir" in pending
        given_path = bool(self.source_path) or "source_path" in pending
        if given_dir and given_path:
            raise ValueError("give source_dir or source_path, not both")
        if self.source == "api" and (given_dir or given_path):
            raise ValueError("source: api reads the FINRA API; drop source_dir/source_path")
        return self


class CaptureParams(WeekParams):
    """Downstream steps read the newest capture of (week, tier) unless ``capture_id`` pins one (as-of)."""

    capture_id: str | None = Field(
        None, description="Read this capture of the week instead of the newest (as-of re-runs)."
    )


class NormalizeParams(CaptureParams):
    max_reject_rate: Annotated[
        float, Field(ge=0, le=1, description="Fail when more than this share of raw rows is rejected.")
    ] = 0.01


class RollingParams(CaptureParams):
    window_weeks: Annotated[int, Field(ge=1, le=104, description="Weeks in the rolling window.")] = 6
    anomaly_z: Annotated[
        float, Field(gt=0, description="Flag a symbol's volume this many standard deviations from its mean.")
    ] = 4.0
