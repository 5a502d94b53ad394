"""Stage 3: plans -> Dagster definitions (jobs, schedules, sensors, the problems asset, the runtime resource)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg

from ..errors import Diagnostic, InvalidGroupSpecError, SpineError
from ..pipelines.catalog import build_default_registry
from ..pipelines.registry import PipelineRegistry
from ..plan.model import GroupPlan
from ..plan.planner import plan_all
from ..runtime.execute import SpineRuntime
from ..runtime.outcome import GroupOutcome, derive_outcome
from ..settings import Settings, get_settings
from ..spec.loader import LoadResult, load_groups
from ..warehouse.resource import WarehouseResource
from .assets import build_table_assets, build_table_checks
from .jobs import OpCatalog, build_group_job, step_aliases
from .outcome import build_outcome_sensors
from .problems import build_problem_defs
from .translator import SpineDagsterTranslator, TranslatorSettings
from .triggers import build_schedules, build_sensors

__all__ = [
    "SpineCodeLocation",
    "SpineDagsterTranslator",
    "TranslatorSettings",
    "build_code_location",
    "build_definitions",
    "load_plans",
]


def _env(name: str) -> str:
    import os

    return os.environ.get(name, "")


def load_plans(settings: Settings, registry: PipelineRegistry) -> tuple[list[GroupPlan], list[Diagnostic]]:
    """Load and plan every group of the groups dir; problems are returned, never raised."""
    if not settings.groups_dir.is_dir():
        message = f"groups directory not found: {settings.groups_dir} (set SPINE_GROUPS_DIR)"
        return [], [Diagnostic(message, InvalidGroupSpecError.__name__, str(settings.groups_dir))]
    result: LoadResult = load_groups([settings.groups_dir])
    plans, diags = plan_all(result.groups, registry)
    return plans, [*result.diagnostics, *diags]


def _cross_group_problems(
    plans: list[GroupPlan], translator: SpineDagsterTranslator
) -> tuple[list[GroupPlan], list[Diagnostic]]:
    """Drop groups whose job name collides or whose after_group sensor names an unknown group."""
    diags: list[Diagnostic] = []
    by_job: dict[str, GroupPlan] = {}
    kept: list[GroupPlan] = []
    for plan in sorted(plans, key=lambda p: p.name):
        job_name = translator.get_job_name(plan.group.spec)
        if job_name in by_job:
            other = by_job[job_name]
            diags.append(
                plan.group.source.diagnostic(
                    ("name",),
                    f"group {plan.name!r} and group {other.name!r} ({other.group.source.path}) both become "
                    f"Dagster job {job_name!r}: rename one",
                )
            )
            continue
        by_job[job_name] = plan
        kept.append(plan)
    names = {p.name for p in kept}
    final = []
    for plan in kept:
        bad = [
            (i, s.group)
            for i, s in enumerate(plan.group.spec.sensors)
            if s.type == "after_group" and s.group not in names
        ]
        for index, group in bad:
            diags.append(
                plan.group.source.diagnostic(
                    ("sensors", index, "group"),
                    f"after_group sensor names group {group!r}, which is not a valid group of this code location",
                )
            )
        if not bad:
            final.append(plan)
    return final, diags


@dataclass(frozen=True)
class SpineCodeLocation:
    """The built definitions plus what the ``spine`` CLI needs to talk about their runs."""

    definitions: dg.Definitions
    runtime: SpineRuntime
    diagnostics: tuple[Diagnostic, ...]
    outcome_of: Callable[[dg.DagsterInstance, str], GroupOutcome | None]

    def job_name(self, group_name: str) -> str | None:
        return next((job for job, plan in self.runtime.plans.items() if plan.name == group_name), None)


def build_definitions(
    settings: Settings | None = None,
    *,
    registry: PipelineRegistry | None = None,
    translator: SpineDagsterTranslator | None = None,
) -> dg.Definitions:
    """The code location: a job per valid group, its schedules and sensors, and the bad files made visible.

    With ``settings.strict`` (``SPINE_STRICT=1``) any bad group file fails the load instead.
    """
    return build_code_location(settings, registry=registry, translator=translator).definitions


def build_code_location(
    settings: Settings | None = None,
    *,
    registry: PipelineRegistry | None = None,
    translator: SpineDagsterTranslator | None = None,
) -> SpineCodeLocation:
    """:func:`build_definitions`, keeping the runtime and the problems found."""
    # Building allocates many long-lived objects; the cyclic GC rescanning them while they are being made
    # cost as much as the build itself (bench/load.py). It is switched back on afterwards.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_code_location(settings, registry=registry, translator=translator)
    finally:
        if enabled:
            gc.enable()


def _build_code_location(
    settings: Settings | None,
    *,
    registry: PipelineRegistry | None,
    translator: SpineDagsterTranslator | None,
) -> SpineCodeLocation:
    settings = settings or get_settings()
    registry = registry or build_default_registry()
    translator = translator or SpineDagsterTranslator()
    plans, diags = load_plans(settings, registry)
    plans, cross = _cross_group_problems(plans, translator)
    diags.extend(cross)

    catalog = OpCatalog(registry, translator)
    jobs: dict[str, dg.JobDefinition] = {}
    kept: dict[str, GroupPlan] = {}
    aliases: dict[str, dict[str, str]] = {}
    # The runtime sees `kept` and `aliases` as they are filled below.
    runtime = SpineRuntime(plans=kept, aliases=aliases, registry=registry, translator=translator)
    # The URL stays an EnvVar so it is read in the run worker, never baked into the definitions.
    warehouse = (
        WarehouseResource(url=dg.EnvVar("SPINE_WAREHOUSE_URL"))
        if _env("SPINE_WAREHOUSE_URL")
        else WarehouseResource()
    )
    resources: dict[str, object] = {
        "spine": dg.ResourceDefinition.hardcoded_resource(runtime, "spine runtime: plans and registry"),
        "warehouse": warehouse,
    }
    for plan in plans:
        try:
            job = build_group_job(plan, catalog, translator, resources)
            aliases[job.name] = {alias: step for step, alias in step_aliases(plan, translator).items()}
        except (ValueError, dg.DagsterInvalidDefinitionError) as exc:
            diags.append(plan.group.source.diagnostic(("name",), f"cannot build Dagster job: {exc}"))
            continue
        jobs[plan.name] = job
        kept[job.name] = plan

    if diags and settings.strict:
        raise SpineError(
            f"{len(diags)} problem(s) in the group files (SPINE_STRICT is set):\n"
            + "\n".join(d.format() for d in diags),
            diagnostics=diags,
        )

    def outcome_of(instance: dg.DagsterInstance, run_id: str) -> GroupOutcome | None:
        run = instance.get_run_by_id(run_id)
        if run is None or run.job_name not in kept:
            return None
        plan = kept[run.job_name]
        alias_of = {step: alias for alias, step in aliases[run.job_name].items()}
        return derive_outcome(instance, run_id, plan, alias_of)

    def status_of(instance: dg.DagsterInstance, run_id: str) -> str | None:
        outcome = outcome_of(instance, run_id)
        return outcome.status if outcome is not None else None

    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    for plan in kept.values():
        job = jobs[plan.name]
        schedules.extend(build_schedules(plan, job, translator))
        job_aliases = list(aliases[job.name])
        sensors.extend(build_sensors(plan, job, translator, jobs, status_of, job_aliases))
    sensors.extend(build_outcome_sensors(list(jobs.values()), outcome_of))

    def reload() -> Sequence[Diagnostic]:
        fresh_plans, fresh = load_plans(settings, registry)
        return [*fresh, *_cross_group_problems(fresh_plans, translator)[1]]

    problems_spec, problems_check = build_problem_defs(diags, str(settings.groups_dir), reload)
    warehouse_kind = "postgres" if settings.warehouse_url.startswith("postgres") else "duckdb"
    table_specs = build_table_assets(registry, translator, warehouse_kind)
    table_checks = build_table_checks(registry, translator)
    definitions = dg.Definitions(
        jobs=list(jobs.values()),
        schedules=schedules,
        sensors=sensors,
        assets=[problems_spec, *table_specs],
        asset_checks=[problems_check, *table_checks],
        resources=resources,
    )
    return SpineCodeLocation(definitions, runtime, tuple(diags), outcome_of)
