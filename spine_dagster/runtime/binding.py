"""What the runtime knows about a job: its plan and the Dagster-side decisions the translator made for it.

The definitions (``spine_dagster.defs``) build one :class:`JobBinding` per group job from the translator;
the runtime (op bodies, the outcome, ``spine run``'s progress) reads names, retry rules, asset keys and
check names from the binding and never decides one itself, so a custom translator cannot disagree with
what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dagster as dg

    from ..pipelines.registry import PipelineRegistry
    from ..plan.model import GroupPlan, StepPlan
    from .outcome import GroupOutcome


@dataclass(frozen=True)
class StepAliases:
    """Step names and the Dagster node aliases they become, both ways (they differ when a name needs
    sanitizing: ``load-orders`` -> ``load_orders``)."""

    alias_by_step: Mapping[str, str]
    step_by_alias: Mapping[str, str]

    @classmethod
    def of(cls, pairs: Mapping[str, str]) -> StepAliases:
        """From step name -> alias; :class:`ValueError` when two steps would share one alias."""
        step_by_alias: dict[str, str] = {}
        for step, alias in pairs.items():
            if alias in step_by_alias:
                raise ValueError(
                    f"steps {step_by_alias[alias]!r} and {step!r} both become op {alias!r} in Dagster: rename one"
                )
            step_by_alias[alias] = step
        return cls(dict(pairs), step_by_alias)

    def alias(self, step: str) -> str:
        return self.alias_by_step[step]

    def step(self, alias: str) -> str:
        return self.step_by_alias[alias]

    def __iter__(self) -> Iterator[str]:
        """The aliases, in plan order."""
        return iter(self.step_by_alias)


@dataclass(frozen=True)
class StepBinding:
    """One step of a job with the translator's decisions for it.

    ``retry_policy`` is the policy on the node invocation; ``retry_delay_cap`` the longest wait the runtime
    lets it compute (``None``: Dagster's own delay applies). ``asset_keys`` maps every table the step's
    pipeline writes or checks to its asset key; ``check_names`` maps the pipeline's check names to the
    asset check names.

    ``produces`` maps each table whose asset this step produces (:mod:`spine_dagster.plan.ownership`) to its
    op output: in a run of the group's assets (materialized from the asset graph) the step yields that
    output and Dagster records the materialization; every other write is recorded by the step itself.
    ``partitioned`` holds the tables whose asset has this job's partitions: their materializations and check
    evaluations carry the run's partition key.
    """

    step: StepPlan
    retry_policy: dg.RetryPolicy | None
    retry_delay_cap: float | None
    asset_keys: Mapping[str, dg.AssetKey] = field(default_factory=dict)
    check_names: Mapping[str, str] = field(default_factory=dict)
    produces: Mapping[str, str] = field(default_factory=dict)
    partitioned: frozenset[str] = frozenset()


@dataclass(frozen=True)
class JobBinding:
    """A group's Dagster job as the runtime sees it: its name, plan, aliases and steps by alias.

    ``partition_params`` turns the run's partition key into the run params it fills (``None`` for an
    unpartitioned group).
    """

    job_name: str
    plan: GroupPlan
    aliases: StepAliases
    steps: Mapping[str, StepBinding]
    partition_params: Callable[[str], dict[str, Any]] | None = None

    def step(self, alias: str) -> StepBinding:
        return self.steps[alias]


@dataclass
class SpineRuntime:
    """What ops need at run time, handed over as the ``spine`` resource: job bindings and the registry."""

    jobs: Mapping[str, JobBinding]
    registry: PipelineRegistry

    def step_of(self, context: dg.OpExecutionContext) -> tuple[JobBinding, StepBinding]:
        """The job and step an op invocation stands for, in the group's job or in a run of its assets.

        In an asset run the op sits inside the group's graph (named like the group's job), one level down.
        """
        handle = context.op_handle
        job = self.jobs[handle.parent.name if handle.parent is not None else context.job_name]
        return job, job.step(handle.name)

    def outcome_of(self, instance: dg.DagsterInstance, run_id: str) -> GroupOutcome | None:
        """The spine outcome of a run of one of these jobs (None for any other run)."""
        from .outcome import derive_outcome

        run = instance.get_run_by_id(run_id)
        if run is None or run.job_name not in self.jobs:
            return None
        return derive_outcome(instance, run_id, self.jobs[run.job_name])
