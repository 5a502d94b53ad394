"""The contract between the framework and domain code (no dagster import)."""

from .base import (
    CheckOutcome,
    NoParams,
    Pipeline,
    PipelineParams,
    QualityCheck,
    StepResult,
    pending_params,
)
from .context import CheckContext, CheckScope, StepContext
from .discovery import PluginFailure, PluginOrigin, discover_pipelines
from .registry import PipelineRegistry

__all__ = [
    "CheckContext",
    "CheckOutcome",
    "CheckScope",
    "NoParams",
    "Pipeline",
    "PipelineParams",
    "PipelineRegistry",
    "PluginFailure",
    "PluginOrigin",
    "QualityCheck",
    "StepContext",
    "StepResult",
    "discover_pipelines",
    "pending_params",
]
