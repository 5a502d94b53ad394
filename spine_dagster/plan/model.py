"""The resolved, deterministic plan of a group (plan stage; frozen dataclasses, no dagster)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..spec.loader import LoadedGroup
from ..spec.models import CheckOverrideSpec, ExecutionPolicySpec, RetrySpec
from .params import ParamSource


@dataclass(frozen=True)
class StepPlan:
    """One step, placed: ``order`` is its 0-based position in the plan, ``level`` its depth from a root.

    ``params`` are the step's final params (defaults < run < step, templates resolved); ``sources``
    says where each came from. ``retry`` is the effective policy (the step's, else the group's).
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
    checks: Mapping[str, CheckOverrideSpec] = field(default_factory=dict)
    description: str = ""

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
    def policy(self) -> ExecutionPolicySpec:
        return self.group.spec.policy

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
