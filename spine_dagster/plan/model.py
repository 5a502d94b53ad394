"""The resolved, deterministic plan of a group (plan stage; frozen dataclasses, no dagster)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..spec.loader import LoadedGroup
from ..spec.models import ExecutionPolicySpec, PartitionsSpec, PipelineGroupSpec, RetrySpec
from ..spec.templates import has_templates
from .params import ParamSource


def partition_params(spec: PipelineGroupSpec) -> frozenset[str]:
    """The run params a partition key of ``spec`` fills at run time."""
    parts = spec.partitions
    if parts is None:
        return frozenset()
    names = {parts.weekly.param}
    if parts.static is not None:
        names.add(parts.static.target_param)
    return frozenset(names)


@dataclass(frozen=True)
class CheckPolicy:
    """How one quality check of a step's pipeline is treated in that step, after the step's ``checks:``.

    ``overridden`` says whether the group file changed the pipeline's defaults (``spine explain`` shows it).
    """

    table: str
    severity: str
    blocking: bool
    overridden: bool = False


@dataclass(frozen=True)
class StepPlan:
    """One step, placed: ``order`` is its 0-based position in the plan, ``level`` its depth from a root.

    ``params`` are the step's final params (defaults < run < step, templates resolved); ``sources``
    says where each came from. ``retry`` is the effective policy (the step's, else the group's);
    ``check_policies`` the effective policy of each quality check of the step's pipeline (empty when the
    group was planned without a registry).
    """

    name: str
    pipeline: str
    depends_on: tuple[str, ...]
    params: Mapping[str, Any]
    sources: Mapping[str, ParamSource]
    order: int
    level: int
    retry: RetrySpec | None = None
    timeout_seconds: float | None = None
    pool: str | None = None
    tags: Mapping[str, str] | tuple[str, ...] = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    description: str = ""
    check_policies: Mapping[str, CheckPolicy] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pipeline": self.pipeline,
            "depends_on": list(self.depends_on),
            "params": dict(self.params),
            "order": self.order,
            "level": self.level,
        }


@dataclass(frozen=True)
class GroupPlan:
    """A group ready to run: steps in spine-core's FIFO Kahn order, params resolved and validated."""

    group: LoadedGroup
    steps: tuple[StepPlan, ...]
    params: Mapping[str, Any]
    required_params: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.group.spec.name

    @property
    def spec(self) -> PipelineGroupSpec:
        return self.group.spec

    @property
    def policy(self) -> ExecutionPolicySpec:
        return self.group.spec.policy

    @property
    def partitions(self) -> PartitionsSpec | None:
        return self.group.spec.partitions

    @property
    def partition_params(self) -> frozenset[str]:
        """The run params a partition key fills at run time (empty for an unpartitioned group)."""
        return partition_params(self.group.spec)

    @property
    def literal_defaults(self) -> dict[str, Any]:
        """The group defaults that are plain values (templated ones are resolved per step at run time)."""
        return {k: v for k, v in self.group.spec.defaults.items() if not has_templates(v)}

    def step(self, name: str) -> StepPlan | None:
        return next((s for s in self.steps if s.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of ``spine plan --format json``."""
        spec = self.group.spec
        return {
            "group": spec.name,
            "version": spec.version,
            "domain": spec.domain,
            "policy": {
                "execution": spec.policy.execution,
                "max_concurrency": spec.policy.max_concurrency,
                "on_failure": spec.policy.on_failure,
                "timeout_minutes": spec.policy.timeout_minutes,
            },
            "params": dict(self.params),
            "steps": [step.to_json() for step in self.steps],
        }
