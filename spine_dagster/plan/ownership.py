"""Which group's step produces each warehouse table's Dagster asset (plan stage; no dagster).

A table's asset can have one producing definition in Dagster. When several steps write a table, the rule is:

* the **group**: the first by name among the groups that write it (deterministic, independent of file
  order; rename a group or move the step to change it);
* the **step** inside that group: the last writer in plan order (the step that leaves the table as the
  group run ends).

Every other writer still runs and still records its materializations on the asset: they show in the asset's
Events tab, tagged with the group and step that wrote them. ``spine validate`` lists shared tables and their
owner (:meth:`TableOwnership.notes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..pipelines.registry import PipelineRegistry
from .model import GroupPlan


@dataclass(frozen=True, order=True)
class TableWriter:
    """One step that writes a table: ``group`` and ``step`` are spine names (not Dagster ones)."""

    group: str
    step: str

    def __str__(self) -> str:
        return f"{self.group} (step {self.step})"


@dataclass(frozen=True)
class TableOwnership:
    """``owners``: table -> the step producing its asset; ``writers``: table -> every step that writes it."""

    owners: Mapping[str, TableWriter]
    writers: Mapping[str, tuple[TableWriter, ...]]

    def owned_by(self, group: str) -> dict[str, str]:
        """The tables ``group`` produces as assets, each with the step that produces it."""
        return {table: w.step for table, w in self.owners.items() if w.group == group}

    def notes(self) -> list[str]:
        """One line per table written by more than one step, naming the owner and why."""
        lines = []
        for table in sorted(self.writers):
            writers = self.writers[table]
            if len(writers) < 2:
                continue
            owner = self.owners[table]
            others = ", ".join(str(w) for w in writers if w != owner)
            lines.append(
                f"table {table} is written by {len(writers)} steps: {owner} produces its Dagster asset "
                f"(first group by name, its last writer); {others} record materializations on it"
            )
        return lines


def table_ownership(plans: Iterable[GroupPlan], registry: PipelineRegistry) -> TableOwnership:
    """Decide the producing step of every table the planned groups write (see the module docstring)."""
    writers: dict[str, list[TableWriter]] = {}
    for plan in sorted(plans, key=lambda p: p.name):
        for step in plan.steps:  # plan order
            if step.pipeline not in registry:
                continue
            for table in registry.get(step.pipeline).writes:
                writers.setdefault(table, []).append(TableWriter(plan.name, step.name))
    owners = {}
    for table, found in writers.items():
        group = found[0].group
        owners[table] = [w for w in found if w.group == group][-1]
    return TableOwnership(owners, {table: tuple(found) for table, found in writers.items()})
