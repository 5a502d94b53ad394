"""The four FINRA OTC Transparency pipelines (the order is the data flow)."""

from .aggregate import AggregateWeek
from .ingest import IngestWeek
from .normalize import NormalizeWeek
from .rolling import ComputeRolling

PIPELINES = (IngestWeek, NormalizeWeek, AggregateWeek, ComputeRolling)
__all__ = ["PIPELINES", "AggregateWeek", "ComputeRolling", "IngestWeek", "NormalizeWeek"]
