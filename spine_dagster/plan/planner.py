"""Specs + pipeline registry -> validated, deterministic :class:`GroupPlan` (plan stage; no dagster).

Checks run in spine-core's order (unknown pipeline, unknown dependencies, cycle), then the FIFO Kahn
order, the param merge with provenance, and validation of every step's params against its pipeline's
params model. All problems are collected; the error raised has the class of the first one and carries
every problem in ``diagnostics``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .._text import hint
from ..errors import (
    CycleDetectedError,
    DependencyError,
    Diagnostic,
    InvalidGroupSpecError,
    ParamError,
    SpineError,
    StepNotFoundError,
)
from ..pipelines.base import PENDING_CONTEXT, Pipeline
from ..pipelines.registry import PipelineRegistry
from ..spec import explain_all
from ..spec.loader import LoadedGroup
from ..spec.models import CheckOverrideSpec, PipelineGroupSpec
from . import graph
from .model import CheckPolicy, GroupPlan, StepPlan, partition_params
from .params import UNRESOLVED, ParamResolutionError, ParamSource, required_params, resolve_step_params


class _Collector:
    """Gathers problems as (exception, diagnostic) pairs, in the order they were found."""

    def __init__(self, group: LoadedGroup) -> None:
        self.group = group
        self.found: list[tuple[SpineError, Diagnostic]] = []

    def add(
        self, error: SpineError, path: tuple[str | int, ...], message: str | None = None, *, key: bool = False
    ) -> None:
        diag = self.group.source.diagnostic(path, message or error.message, type(error).__name__, key=key)
        if all(d != diag for _, d in self.found):  # a defaults problem is found once per step: report it once
            self.found.append((error, diag))

    def add_param(self, path: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        self.add(ParamError(message), path, key=key)

    def raise_if_any(self) -> None:
        if not self.found:
            return
        first, _ = self.found[0]
        first.diagnostics = tuple(diag for _, diag in self.found)
        raise first


def _as_loaded(group: LoadedGroup | PipelineGroupSpec) -> LoadedGroup:
    return group if isinstance(group, LoadedGroup) else LoadedGroup(group)


def _value_path(
    spec: PipelineGroupSpec, source: ParamSource, name: str, step_index: int
) -> tuple[str | int, ...]:
    """Where a bad value can be pointed at in the file: where it was set, or declared as a run param."""
    if source.origin == "default":
        return ("defaults", name)
    if source.origin == "step":
        return ("steps", step_index, "params", name)
    return required_params(spec).get(name, ("steps", step_index, "name"))


def _check_step_params(
    found: _Collector,
    step_index: int,
    pipeline: Pipeline,
    params: Mapping[str, Any],
    sources: Mapping[str, ParamSource],
    later: frozenset[str] = frozenset(),
) -> None:
    """Validate one step's params against its pipeline's model; ``later`` names params given at run time."""
    spec = found.group.spec
    step = spec.steps[step_index]
    declared = pipeline.accepted_param_names()
    label = f"step '{step.name}' ({pipeline.name})"
    if not pipeline.accepts_any_param():
        for key in step.params:
            if key not in declared:
                choices = ", ".join(pipeline.param_names()) or "none"
                found.add_param(
                    ("steps", step_index, "params", key),
                    f"{label} has no param {key!r}{hint(key, declared)}; its params: {choices}",
                    key=True,
                )
    if pipeline.accepts_any_param():
        candidate = {k: v for k, v in params.items() if k != "batch_id"}
    else:
        candidate = {k: v for k, v in params.items() if k in declared}
    pending = {k for k, v in candidate.items() if v is UNRESOLVED} | (later - set(params))
    candidate = {k: v for k, v in candidate.items() if k not in pending}
    aliases = pipeline.param_aliases()
    try:
        # Pending params are given (a template or the partition supplies them) but not known yet: rules
        # across params see them, under their param names, through the validation context
        # (pipelines.base.pending_params).
        pending_names = frozenset(aliases.get(k, k) for k in pending)
        pipeline.Params.model_validate(candidate, context={PENDING_CONTEXT: pending_names})
    except ValidationError as exc:
        for problem in explain_all(exc.errors(), pipeline.Params, lambda p: p, candidate):
            name = str(problem.path[0]) if problem.path else ""
            if name in pending and problem.message.startswith("missing required key"):
                continue  # will be given by a run param; `spine plan` checks it then
            if problem.message.startswith("missing required key"):
                found.add_param(
                    ("steps", step_index, "name"),
                    f"{label} needs param {name!r}: set it in the step's params or the group defaults, or pass "
                    f'it as a run param (declare it with {name}: "{{{{ params.{name} }}}}" in the defaults)',
                )
                continue
            if not name:  # a rule across params (e.g. week_ending must be a Friday)
                found.add_param(
                    ("steps", step_index, "name"), f"{label}: {problem.message.split(': ', 1)[-1]}"
                )
                continue
            if name in sources:
                origin = sources[name].describe()
                path = _value_path(spec, sources[name], name, step_index)
                message = f"{label}: param {problem.message} (from {origin})"
            else:
                path = ("steps", step_index, "name")
                message = f"{label}: param {problem.message}; set it in the step's params or the defaults"
            found.add_param(path, message)


def _check_overrides(found: _Collector, step_index: int, pipeline: Pipeline) -> None:
    step = found.group.spec.steps[step_index]
    names = [c.name for c in pipeline.checks]
    for check in step.checks:
        if check not in names:
            choices = ", ".join(names) or "none"
            found.add(
                InvalidGroupSpecError(
                    f"step '{step.name}': pipeline {pipeline.name} has no check {check!r}"
                    f"{hint(check, names)}; its checks: {choices}"
                ),
                ("steps", step_index, "checks", check),
                key=True,
            )


def plan_group(
    group: LoadedGroup | PipelineGroupSpec,
    registry: PipelineRegistry | None,
    run_params: Mapping[str, Any] | None = None,
    *,
    check_pipelines: bool = True,
    require_run_params: bool = True,
) -> GroupPlan:
    """Plan ``group`` with ``run_params``; raise a :class:`~spine_dagster.errors.GroupError` on any problem.

    ``run_params=None`` plans without run params (what ``spine validate`` and the Dagster definitions
    do): required params stay :data:`~spine_dagster.plan.params.UNRESOLVED` and are not reported missing.
    ``check_pipelines=False`` (or ``registry=None``) leaves the registry out entirely: any pipeline name is
    accepted and no step's params are validated against a pipeline's model. ``require_run_params=False`` plans with the run
    params given and leaves missing required ones :data:`UNRESOLVED` (``spine explain`` uses it).
    """
    loaded = _as_loaded(group)
    spec = loaded.spec
    found = _Collector(loaded)
    pipelines = _find_pipelines(found, registry if check_pipelines else None)
    _check_graph(found)
    if run_params is not None and require_run_params:
        _check_required_run_params(found, run_params, filled_later=partition_params(spec))
    resolved = _resolve_params(found, run_params)
    by_partition = partition_params(spec)
    for i, pipeline in pipelines.items():
        if i in resolved:
            _check_step_params(found, i, pipeline, *resolved[i], later=by_partition)
        _check_overrides(found, i, pipeline)
    if pipelines and len(pipelines) == len(spec.steps):
        _check_unused_params(found, list(pipelines.values()), run_params or {})
    found.raise_if_any()
    steps = _place_steps(spec, resolved, pipelines)
    return GroupPlan(loaded, steps, dict(run_params or {}), tuple(required_params(spec)))


def _find_pipelines(found: _Collector, registry: PipelineRegistry | None) -> dict[int, Pipeline]:
    """Each step's registered pipeline (by step index); unknown ones are reported with a suggestion."""
    pipelines: dict[int, Pipeline] = {}
    if registry is None:
        return pipelines
    for i, step in enumerate(found.group.spec.steps):
        if step.pipeline in registry:
            pipelines[i] = registry.get(step.pipeline)
            continue
        best = registry.suggest(step.pipeline)
        found.add(
            StepNotFoundError(
                step.name,
                step.pipeline,
                suggestions=[best] if best else [],
                unavailable=registry.unavailable(step.pipeline),
            ),
            ("steps", i, "pipeline"),
        )
    return pipelines


def _check_graph(found: _Collector) -> None:
    """Unknown ``depends_on`` targets, then a cycle (spine-core's order)."""
    steps = found.group.spec.steps
    names = [s.name for s in steps]
    deps = [s.depends_on for s in steps]
    for i, missing in graph.unknown_dependencies(names, deps):
        message = DependencyError(names[i], missing).message + hint(missing[0], names)
        position = steps[i].depends_on.index(missing[0])
        found.add(DependencyError(names[i], missing), ("steps", i, "depends_on", position), message)
    cycle = graph.find_cycle(names, deps)
    if cycle is not None:
        found.add(CycleDetectedError(cycle), ("steps", names.index(cycle[0]), "depends_on"))


def check_run_params(
    group: GroupPlan | LoadedGroup | PipelineGroupSpec, run_params: Mapping[str, Any]
) -> None:
    """Raise :class:`ParamError` if a required run param of ``group`` is not in ``run_params``.

    The error has one diagnostic per missing param, at the ``{{ params.NAME }}`` that declares it
    (``file:line:col: missing required run param ...``). ``spine plan``/``spine run`` (through
    :func:`plan_group`) and a group job's run config (its config mapping) report a missing param with it.
    Params a partition supplies are not asked for.
    """
    loaded = group.group if isinstance(group, GroupPlan) else _as_loaded(group)
    found = _Collector(loaded)
    _check_required_run_params(found, run_params, filled_later=partition_params(loaded.spec))
    found.raise_if_any()


def _check_required_run_params(
    found: _Collector, run_params: Mapping[str, Any], *, filled_later: frozenset[str]
) -> None:
    """One problem per required run param missing from ``run_params`` (``filled_later`` excepted)."""
    required = required_params(found.group.spec)
    missing = [name for name in required if name not in run_params and name not in filled_later]
    listed = ", ".join(missing)
    flags = " ".join(f"--param {name}=..." for name in missing)
    for name in missing:
        found.add_param(
            required[name],
            f"missing required run param {name!r} (declared by {{{{ params.{name} }}}}); "
            f"all missing: {listed}; pass {flags}",
        )


def _resolve_params(
    found: _Collector, run_params: Mapping[str, Any] | None
) -> dict[int, tuple[dict[str, Any], dict[str, ParamSource]]]:
    """Every step's merged params and their provenance (by step index); templates resolved where known."""
    spec = found.group.spec
    expected = frozenset(required_params(spec)) | partition_params(spec)
    partial = run_params is None or any(name not in run_params for name in expected)
    resolved: dict[int, tuple[dict[str, Any], dict[str, ParamSource]]] = {}
    for i, step in enumerate(spec.steps):
        try:
            resolved[i] = resolve_step_params(spec, i, run_params or {}, partial=partial, expected=expected)
        except ParamResolutionError as exc:
            where = "" if exc.path and exc.path[0] == "defaults" else f"step '{step.name}': "
            found.add_param(exc.path or ("steps", i, "name"), f"{where}{exc}")
    return resolved


def _check_unused_params(found: _Collector, pipelines: list[Pipeline], run_params: Mapping[str, Any]) -> None:
    """Defaults and run params that no step's pipeline takes are typos (unless a pipeline takes anything)."""
    if any(p.accepts_any_param() for p in pipelines):
        return
    spec = found.group.spec
    used = {name for p in pipelines for name in p.accepted_param_names()}
    for key in spec.defaults:
        if key not in used and key != "batch_id":
            found.add_param(
                ("defaults", key),
                f"default param {key!r} is not a param of any step's pipeline{hint(key, used)}",
                key=True,
            )
    by_partition = partition_params(spec)
    for key in run_params:
        if key not in used and key not in spec.defaults and key != "batch_id" and key not in by_partition:
            found.add_param(
                ("name",), f"run param {key!r} is not a param of any step's pipeline{hint(key, used)}"
            )


def check_policies(pipeline: Pipeline, overrides: Mapping[str, CheckOverrideSpec]) -> dict[str, CheckPolicy]:
    """The effective (severity, blocking) of each of ``pipeline``'s checks after a step's ``checks:``."""
    policies = {}
    for check in pipeline.checks:
        override = overrides.get(check.name)
        severity = override.severity if override is not None and override.severity else check.severity
        blocking = check.blocking
        if override is not None and override.blocking is not None:
            blocking = override.blocking
        changed = (severity, blocking) != (check.severity, check.blocking)
        policies[check.name] = CheckPolicy(check.table, severity, blocking, overridden=changed)
    return policies


def _place_steps(
    spec: PipelineGroupSpec,
    resolved: Mapping[int, tuple[dict[str, Any], dict[str, ParamSource]]],
    pipelines: Mapping[int, Pipeline],
) -> tuple[StepPlan, ...]:
    """The steps in spine-core's FIFO Kahn order, each with its level and effective policies."""
    names = [s.name for s in spec.steps]
    deps = [s.depends_on for s in spec.steps]
    order = graph.kahn_order(names, deps)
    level = graph.levels(order, dict(zip(names, deps, strict=True)))
    index = {name: i for i, name in enumerate(names)}
    steps = []
    for position, name in enumerate(order):
        i = index[name]
        step = spec.steps[i]
        params, sources = resolved[i]
        pipeline = pipelines.get(i)
        steps.append(
            StepPlan(
                name=name,
                pipeline=step.pipeline,
                depends_on=step.depends_on,
                params=params,
                sources=sources,
                order=position,
                level=level[name],
                retry=step.retry or spec.policy.retry,
                timeout_seconds=step.timeout_seconds,
                pool=step.pool,
                tags=step.tags,
                owners=step.owners,
                description=step.description,
                check_policies=check_policies(pipeline, step.checks) if pipeline is not None else {},
            )
        )
    return tuple(steps)


def params_for_run(
    plan: GroupPlan, step_name: str, run_params: Mapping[str, Any], registry: PipelineRegistry
) -> tuple[dict[str, Any], Any]:
    """A step's final params for one run, and its pipeline's validated params model.

    Called at run time (the plan was made without run params); raises :class:`ParamError` with every
    problem, like planning does.
    """
    spec = plan.group.spec
    index = next(i for i, s in enumerate(spec.steps) if s.name == step_name)
    found = _Collector(plan.group)
    # the op's run params include the partition's: every required param must be there by now
    _check_required_run_params(found, run_params, filled_later=frozenset())
    found.raise_if_any()
    try:
        values, sources = resolve_step_params(spec, index, run_params)
    except ParamResolutionError as exc:
        found.add_param(exc.path or ("steps", index, "name"), f"step '{step_name}': {exc}")
        found.raise_if_any()
        raise
    pipeline = registry.get(spec.steps[index].pipeline)
    _check_step_params(found, index, pipeline, values, sources)
    found.raise_if_any()
    if pipeline.accepts_any_param():
        model = pipeline.Params.model_validate({k: v for k, v in values.items() if k != "batch_id"})
    else:
        model = pipeline.Params.model_validate(
            {k: v for k, v in values.items() if k in pipeline.accepted_param_names()}
        )
    return values, model


def plan_all(
    groups: list[LoadedGroup], registry: PipelineRegistry, *, check_pipelines: bool = True
) -> tuple[list[GroupPlan], list[Diagnostic]]:
    """Plan every group without run params; the groups that fail are reported, not raised."""
    plans: list[GroupPlan] = []
    diags: list[Diagnostic] = []
    for group in groups:
        try:
            plans.append(plan_group(group, registry, None, check_pipelines=check_pipelines))
        except SpineError as exc:
            diags.extend(exc.diagnostics)
    return plans, diags
