"""The run config of a group job: its run params, as typed Launchpad fields pre-filled with the defaults.

Run config of an unpartitioned group (``dagster job execute -c``, the Launchpad, schedules, sensors)::

    params:
      week_ending: "2026-01-02"    # a required run param (a whole-value {{ params.NAME }}); its field
                                   #   defaults to the placeholder "<week_ending>" so the Launchpad shows it
      tier: NMS_TIER_1             # defaults appear pre-filled; other run params may be added freely

A config mapping hands the same run params to every step op; each step resolves its own final params
(defaults < run < step, templates) when it runs. A required run param left out (or left at its
placeholder) fails the launch in the config mapping with the planner's message, the one ``spine run``
prints (``file:line:col: missing required run param ...``), not with Dagster's generic
"Missing required config entry".

Dagster does not allow a config mapping on a partitioned job, so a partitioned group's run config is the
op-level form, generated per partition (the partition's params plus the defaults, the same for every step)::

    ops:
      ingest: {config: {params: {week_ending: "2026-01-09", tier: OTC}}}
      normalize: {config: {params: {week_ending: "2026-01-09", tier: OTC}}}
"""

from __future__ import annotations

import datetime as dt
import json
import types
import typing
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from ..errors import ParamError
from ..pipelines.base import Pipeline
from ..pipelines.registry import PipelineRegistry
from ..plan import GroupPlan, check_run_params, required_params
from ..runtime.binding import JobBinding

_SCALARS: dict[type, Any] = {bool: dg.Bool, int: dg.Int, float: dg.Float, str: dg.String, dt.date: dg.String}


def _dagster_type(annotations: list[Any]) -> Any:
    """The Dagster config type for a param, from the pipelines' annotations (Any when they disagree)."""
    found = set()
    for annotation in annotations:
        members = (
            typing.get_args(annotation)
            if typing.get_origin(annotation) in (typing.Union, types.UnionType)
            else (annotation,)
        )
        members = tuple(m for m in members if m is not type(None))
        if typing.get_origin(annotation) is typing.Literal or all(isinstance(m, str) for m in members):
            found.add(dg.String)
        elif len(members) == 1 and members[0] in _SCALARS:
            found.add(_SCALARS[members[0]])
        else:
            return dg.Any
    return found.pop() if len(found) == 1 else dg.Any


def _fits(value: Any, config_type: Any) -> bool:
    checks = {dg.Bool: bool, dg.Int: int, dg.Float: (int, float), dg.String: str}
    if config_type is dg.Any:
        return True
    if isinstance(value, bool) and config_type is not dg.Bool:
        return False
    return isinstance(value, checks[config_type])


def placeholder(name: str) -> str:
    """What stands for a required run param not given yet (``<week_ending>``): replace it before use."""
    return f"<{name}>"


def _required_description(plan: GroupPlan, name: str) -> str:
    declared = plan.group.source.diagnostic(required_params(plan.spec)[name], "")
    where = f" at {declared.path}:{declared.line}:{declared.column}" if declared.path else ""
    return (
        f"Required run param (declared by {{{{ params.{name} }}}}{where}). Give its value here "
        f"(replace {placeholder(name)}; spine run: --param {name}=...): a launch without it fails "
        "before any step runs."
    )


def _takes_any_param(plan: GroupPlan, registry: PipelineRegistry) -> bool:
    """Whether a step's pipeline takes any param (or is not registered): the run params stay open."""
    return any(s.pipeline not in registry or registry.get(s.pipeline).accepts_any_param() for s in plan.steps)


def run_params_fields(plan: GroupPlan, registry: PipelineRegistry) -> dict[str, dg.Field]:
    """Launchpad fields of an unpartitioned group: every default, every required param, and every param
    (or alias) a step's pipeline takes, typed, with the pipeline's description.

    Every field is optional in Dagster's schema, so that a missing required param is reported by the
    config mapping with the planner's message. A required param's field says so in its description and
    defaults to its placeholder when its type allows a string, so the Launchpad opens with it listed.
    """
    declared = plan.spec.defaults
    literal = plan.literal_defaults
    pipelines = list(
        {s.pipeline: registry.get(s.pipeline) for s in plan.steps if s.pipeline in registry}.values()
    )
    described: dict[str, dg.Field] = {}
    for pipeline in pipelines:
        for name, field in step_params_fields(pipeline).items():
            described.setdefault(name, field)
    names = list(dict.fromkeys([*declared, *plan.required_params, *described]))
    fields: dict[str, dg.Field] = {}
    for name in names:
        annotations = [
            registry.get(s.pipeline).Params.model_fields[name].annotation
            for s in plan.steps
            if s.pipeline in registry and name in registry.get(s.pipeline).Params.model_fields
        ]
        if not annotations and name in described:  # an alias: typed as its param
            fields[name] = described[name]
            continue
        config_type = _dagster_type(annotations)
        about = described[name].description if name in described else None
        default = literal.get(name)
        nullable = config_type is not dg.Any and any(_none_allowed(a) for a in annotations)
        open_type = (
            dg.Noneable(config_type) if nullable else config_type
        )  # null: "none" (the model's default)
        if name in plan.required_params:
            description = _required_description(plan, name)
            if config_type in (dg.String, dg.Any):
                fields[name] = dg.Field(
                    config_type, default_value=placeholder(name), is_required=False, description=description
                )
            else:
                fields[name] = dg.Field(config_type, is_required=False, description=description)
        elif default is not None and _fits(default, config_type):
            fields[name] = dg.Field(open_type, default_value=default, is_required=False, description=about)
        else:
            fields[name] = dg.Field(open_type, is_required=False, description=about)
    return fields


def _none_allowed(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _none_allowed(typing.get_args(annotation)[0])
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)


def _bare(annotation: Any) -> Any:
    """``Annotated[X, ...]`` -> ``X`` (pydantic keeps the metadata apart, but be safe)."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _shown(value: Any) -> str:
    return json.dumps(_as_config(value), default=str)


def step_params_fields(pipeline: type[Pipeline] | Pipeline) -> dict[str, dg.Field]:
    """An op's ``params`` fields: every param of the pipeline's params model (and every alias), typed, with
    its description and default in words.

    Every field is optional and has no default value in Dagster's schema: the op's ``params`` are the
    step's *run* params, which beat the group's defaults, so a value Dagster filled in would override
    them (the group's defaults, step params and the partition still apply; the model's default last).
    """
    fields: dict[str, dg.Field] = {}
    aliases = pipeline.param_aliases()
    by_param: dict[str, list[str]] = {}
    for alias, name in aliases.items():
        by_param.setdefault(name, []).append(alias)
    for name, info in pipeline.Params.model_fields.items():
        annotation = _bare(info.annotation)
        config_type = _dagster_type([annotation])
        if config_type is not dg.Any and _none_allowed(annotation):
            config_type = dg.Noneable(config_type)
        text = (info.description or "").strip()
        if info.is_required():
            default = "Required by the pipeline (the group's defaults, a step or the partition may give it)."
        elif info.default is None:
            default = ""
        else:
            default = f"Default: {_shown(info.default)}."
        others = by_param.get(name, [])
        also = f" Also accepted as {', '.join(others)}." if others else ""
        fields[name] = dg.Field(config_type, is_required=False, description=f"{text} {default}{also}".strip())
        for alias in others:
            fields[alias] = dg.Field(
                config_type,
                is_required=False,
                description=f"Another name for {name} (give one of them). {text}".strip(),
            )
    return fields


# Which run params each op of a job takes: alias -> accepted names (None: the pipeline takes any param).
# Recorded when the job is built (build_job_config), read by run_config_for (spine run, schedules,
# sensors), which only get the job's binding. Keyed by the plan object, held weakly.
_ROUTES: dict[int, tuple[weakref.ref[GroupPlan], dict[str, frozenset[str] | None]]] = {}


def step_routes(
    plan: GroupPlan, aliases: Iterable[str], registry: PipelineRegistry
) -> dict[str, frozenset[str] | None]:
    """alias -> the param names its op's config accepts (``None``: any). Unregistered pipelines take any."""
    routes: dict[str, frozenset[str] | None] = {}
    for alias, step in zip(aliases, plan.steps, strict=True):
        if step.pipeline not in registry:
            routes[alias] = None
            continue
        pipeline = registry.get(step.pipeline)
        routes[alias] = None if pipeline.accepts_any_param() else frozenset(pipeline.accepted_param_names())
    return routes


def _remember_routes(plan: GroupPlan, routes: dict[str, frozenset[str] | None]) -> None:
    key = id(plan)
    _ROUTES[key] = (weakref.ref(plan, lambda _: _ROUTES.pop(key, None)), routes)


def _routes_of(plan: GroupPlan) -> dict[str, frozenset[str] | None] | None:
    entry = _ROUTES.get(id(plan))
    return entry[1] if entry is not None and entry[0]() is plan else None


def _as_config(value: Any) -> Any:
    """A run param as Dagster config: dates as ISO strings (the ops' date params are ``String`` fields)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _as_config(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_config(v) for v in value]
    return value


def op_run_config(
    aliases: Iterable[str],
    params: Mapping[str, Any],
    routes: Mapping[str, frozenset[str] | None] | None = None,
) -> dict[str, Any]:
    """The op-level run config that gives each step the run params its op takes.

    With ``routes`` (alias -> accepted names, ``None`` for any), each op gets only the params its pipeline
    takes (its config schema rejects the others); the op finds the rest (for its templates) in the run
    config at run time (``ops.run_params_of``). Without, every op gets every param.
    """
    config: dict[str, Any] = {}
    for alias in aliases:
        accepted = None if routes is None else routes.get(alias)
        given = {k: _as_config(v) for k, v in params.items() if accepted is None or k in accepted}
        config[alias] = {"config": {"params": given}}
    return {"ops": config}


def run_config_for(job: JobBinding, params: Mapping[str, Any]) -> dict[str, Any]:
    """The run config that launches ``job`` with these run params (either shape, see the module doc).

    A partitioned job's config carries the literal defaults too, as its partitioned config would.
    """
    plan = job.plan
    if plan.partitions is not None:
        return op_run_config(job.aliases, {**plan.literal_defaults, **params}, _routes_of(plan))
    return {"params": dict(params)}


def example_run_config(
    plan: GroupPlan,
    aliases: Iterable[str],
    params: Mapping[str, Any],
    registry: PipelineRegistry | None = None,
) -> dict[str, Any]:
    """A complete run config to edit (``spine plan --format dagster-run-config``): the literal defaults,
    ``params``, and a ``<name>`` placeholder for each required param not given (partition-filled params are
    left to the partition)."""
    filled = plan.partition_params
    shown = {k: v for k, v in plan.literal_defaults.items() if k not in filled}
    shown.update(params)
    for name in plan.required_params:
        if name not in shown and name not in filled:
            shown[name] = placeholder(name)
    if plan.partitions is not None:
        aliases = list(aliases)
        routes = _routes_of(plan)
        if routes is None:  # a plan made outside a code location (spine plan): the installed pipelines
            if registry is None:
                from ..pipelines.discovery import discover_pipelines
                from ..settings import get_settings

                registry = discover_pipelines(get_settings().pipeline_modules)
            routes = step_routes(plan, aliases, registry)
        return op_run_config(aliases, shown, routes)
    return {"params": shown}


def build_job_config(
    job: JobBinding, registry: PipelineRegistry, partitions_def: dg.PartitionsDefinition | None
) -> dg.ConfigMapping | dg.PartitionedConfig:
    """A config mapping (typed run params), or for a partitioned job a config generated per partition."""
    plan, aliases = job.plan, list(job.aliases)
    routes = step_routes(plan, aliases, registry)
    _remember_routes(plan, routes)
    if partitions_def is not None and job.partition_params is not None:
        partition_params = job.partition_params
        defaults = plan.literal_defaults

        def for_partition(key: str) -> dict[str, Any]:
            return op_run_config(aliases, {**defaults, **partition_params(key)}, routes)

        return dg.PartitionedConfig(
            partitions_def=partitions_def, run_config_for_partition_key_fn=for_partition
        )

    fields = run_params_fields(plan, registry)
    required = set(plan.required_params)

    def to_ops(config: dict[str, Any]) -> dict[str, Any]:
        given = {
            name: value
            for name, value in (config.get("params") or {}).items()
            if not (name in required and value == placeholder(name))
        }
        try:
            check_run_params(plan, given)
        except ParamError as exc:
            message = "\n".join(d.format() if d.path else d.message for d in exc.diagnostics)
            raise dg.DagsterInvalidConfigError(message, [], config) from None
        return op_run_config(aliases, given, routes)

    # A run param no step's pipeline takes is an unknown field (spine plan: "run param 'x' is not a param
    # of any step's pipeline"), unless a step's pipeline takes any param.
    shape = dg.Permissive(fields) if _takes_any_param(plan, registry) else dg.Shape(fields)
    return dg.ConfigMapping(config_fn=to_ops, config_schema={"params": dg.Field(shape, is_required=False)})
