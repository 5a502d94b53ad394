"""Stage 1: PipelineGroup YAML -> frozen pydantic models with source positions. Never imports dagster."""

from ._errors import explain_all
from ._yaml import YamlSyntaxError, parse_scalar
from .loader import LoadedGroup, LoadResult, SourceInfo, load_group_file, load_group_text, load_groups
from .models import (
    AfterGroupSensorSpec,
    CheckOverrideSpec,
    ExecutionPolicySpec,
    FileArrivalSensorSpec,
    PartitionScheduleSpec,
    PartitionsSpec,
    PipelineGroupSpec,
    RetrySpec,
    ScheduleSpec,
    StaticPartitionSpec,
    StepSpec,
    WeeklyPartitionSpec,
)

__all__ = [
    "AfterGroupSensorSpec",
    "CheckOverrideSpec",
    "ExecutionPolicySpec",
    "FileArrivalSensorSpec",
    "LoadResult",
    "LoadedGroup",
    "PartitionScheduleSpec",
    "PartitionsSpec",
    "PipelineGroupSpec",
    "RetrySpec",
    "ScheduleSpec",
    "SourceInfo",
    "StaticPartitionSpec",
    "StepSpec",
    "WeeklyPartitionSpec",
    "YamlSyntaxError",
    "explain_all",
    "load_group_file",
    "load_group_text",
    "load_groups",
    "parse_scalar",
]
