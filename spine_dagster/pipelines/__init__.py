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
from .catalog import build_default_registry
from .context import CheckContext, CheckScope, StepContext
from .registry import PipelineRegistry

__all__ = [
    "CheckContext",
    "CheckOutcome",
    "CheckScope",
    "NoParams",
    "Pipeline",
    "PipelineParams",
    "PipelineRegistry",
    "QualityCheck",
    "StepContext",
    "StepResult",
    "build_default_registry",
    "pending_params",
]
