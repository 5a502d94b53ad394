"""What a pipeline sees while it runs, and what a quality check sees (no dagster: domain code is testable
with a warehouse alone)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class StepContext:
    """Everything a step needs besides its params.

    ``attempt`` is 1 for the first try of the step in this run and grows with each retry.
    ``warehouse`` is whatever storage the runtime hands over (``None`` for pipelines that need none).
    """

    group: str
    step: str
    run_id: str
    batch_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1
    partition_key: str | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("spine_dagster.step"))
    warehouse: Any = None


@dataclass(frozen=True)
class CheckScope:
    """What a quality check looks at.

    ``kind="step"``: the data one step has just written, described by that step's final ``params`` and its
    ``partition_key``. ``kind="partition"``: the check runs on its own for one partition (the asset check of
    a partitioned table, launched from the Dagster UI for a partition): ``params`` are those the table's
    producing step runs with for that partition, so a check reads them exactly as in ``kind="step"``.
    ``kind="table"``: the whole table, when the check runs on its own without a partition: there is no
    step, so no params.
    """

    kind: Literal["step", "partition", "table"]
    params: Mapping[str, Any] = field(default_factory=dict)
    partition_key: str | None = None

    @property
    def whole_table(self) -> bool:
        return self.kind == "table"


@dataclass(frozen=True)
class CheckContext:
    """What a :class:`~spine_dagster.pipelines.base.QualityCheck` receives: its scope, the warehouse, a logger."""

    scope: CheckScope
    warehouse: Any
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("spine_dagster.check"))

    @classmethod
    def for_step(cls, ctx: StepContext) -> CheckContext:
        """The check of a step, right after it wrote: scoped to that step's params and partition."""
        scope = CheckScope("step", params=ctx.params, partition_key=ctx.partition_key)
        return cls(scope, ctx.warehouse, ctx.log)

    @classmethod
    def for_partition(
        cls, warehouse: Any, params: Mapping[str, Any], partition_key: str, log: logging.Logger
    ) -> CheckContext:
        """A check run on its own for one partition of its table (scoped like the step's own check)."""
        return cls(CheckScope("partition", params=params, partition_key=partition_key), warehouse, log)

    @classmethod
    def for_table(cls, warehouse: Any, log: logging.Logger | None = None) -> CheckContext:
        """A check run on its own, over the whole table."""
        scope = CheckScope("table")
        return cls(scope, warehouse, log) if log is not None else cls(scope, warehouse)
