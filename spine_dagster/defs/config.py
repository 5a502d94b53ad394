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
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from ..errors import ParamError
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


def run_params_fields(plan: GroupPlan, registry: PipelineRegistry) -> dict[str, dg.Field]:
    """Launchpad fields of an unpartitioned group: every default and every required param.

    Every field is optional in Dagster's schema, so that a missing required param is reported by the
    config mapping with the planner's message. A required param's field says so in its description and
    defaults to its placeholder when its type allows a string, so the Launchpad opens with it listed.
    """
    declared = plan.spec.defaults
    literal = plan.literal_defaults
    names = [*declared, *(n for n in plan.required_params if n not in declared)]
    fields: dict[str, dg.Field] = {}
    for name in names:
        annotations = [
            registry.get(s.pipeline).Params.model_fields[name].annotation
            for s in plan.steps
            if s.pipeline in registry and name in registry.get(s.pipeline).Params.model_fields
        ]
        config_type = _dagster_type(annotations)
        default = literal.get(name)
        if name in plan.required_params:
            description = _required_description(plan, name)
            if config_type in (dg.String, dg.Any):
                fields[name] = dg.Field(
                    config_type, default_value=placeholder(name), is_required=False, description=description
                )
            else:
                fields[name] = dg.Field(config_type, is_required=False, description=description)
        elif default is not None and _fits(default, config_type):
            fields[name] = dg.Field(config_type, default_value=default, is_required=False)
        else:
            fields[name] = dg.Field(config_type, is_required=False)
    return fields


def op_run_config(aliases: Iterable[str], params: Mapping[str, Any]) -> dict[str, Any]:
    """The op-level run config that gives every step the same run params."""
    return {"ops": {alias: {"config": {"params": dict(params)}} for alias in aliases}}


def run_config_for(job: JobBinding, params: Mapping[str, Any]) -> dict[str, Any]:
    """The run config that launches ``job`` with these run params (either shape, see the module doc).

    A partitioned job's config carries the literal defaults too, as its partitioned config would.
    """
    plan = job.plan
    if plan.partitions is not None:
        return op_run_config(job.aliases, {**plan.literal_defaults, **params})
    return {"params": dict(params)}


def example_run_config(plan: GroupPlan, aliases: Iterable[str], params: Mapping[str, Any]) -> dict[str, Any]:
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
        return op_run_config(aliases, shown)
    return {"params": shown}


def build_job_config(
    job: JobBinding, registry: PipelineRegistry, partitions_def: dg.PartitionsDefinition | None
) -> dg.ConfigMapping | dg.PartitionedConfig:
    """A config mapping (typed run params), or for a partitioned job a config generated per partition."""
    plan, aliases = job.plan, list(job.aliases)
    if partitions_def is not None and job.partition_params is not None:
        partition_params = job.partition_params
        defaults = plan.literal_defaults

        def for_partition(key: str) -> dict[str, Any]:
            return op_run_config(aliases, {**defaults, **partition_params(key)})

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
        return op_run_config(aliases, given)

    return dg.ConfigMapping(
        config_fn=to_ops, config_schema={"params": dg.Field(dg.Permissive(fields), is_required=False)}
    )
