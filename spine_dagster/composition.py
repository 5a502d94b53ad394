"""The composition root: settings -> registry and translator -> load and plan the groups -> Dagster definitions.

Everything that wires the stages together lives here, and only here: the code location
(``spine_dagster.definitions``), the ``spine`` CLI, ``spine run``/``rerun`` and every step process (which
re-imports the code location) build through :func:`build_code_location`, and get the translator from
:func:`get_translator` and the pipeline registry from
:func:`spine_dagster.pipelines.discovery.discover_pipelines` (dagster-free, so ``spine validate`` uses it
without importing Dagster). ``spine_dagster.defs`` is the pure mapping from plans to Dagster objects.

Choosing a translator: ``SPINE_TRANSLATOR=package.module:ClassName`` names a subclass of
:class:`~spine_dagster.defs.translator.SpineDagsterTranslator` (constructed without arguments). Because it
is an environment variable, the run worker and every multiprocess step process see the same one.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from . import pool_claims
from .defs import (
    AssetLayout,
    OpCatalog,
    SpineDagsterTranslator,
    TranslatorSettings,
    bind_job,
    build_alert_sensors,
    build_group_assets,
    build_group_graph,
    build_group_job,
    build_outcome_sensors,
    build_problem_defs,
    build_reaper_sensor,
    build_schedules,
    build_sensors,
    build_table_assets,
    build_table_checks,
    group_by_table,
    partition_check_params,
)
from .errors import Diagnostic, GroupNotFoundError, InvalidGroupSpecError, SpineError
from .pipelines.discovery import discover_pipelines
from .pipelines.registry import PipelineRegistry
from .plan.model import GroupPlan
from .plan.planner import plan_all
from .runtime.binding import JobBinding, SpineRuntime
from .runtime.outcome import GroupOutcome
from .settings import Settings, get_settings
from .spec.loader import load_groups
from .warehouse.resource import WarehouseResource


def translator_settings(settings: Settings) -> TranslatorSettings:
    """The deployment's switches for the translator: the executor (``SPINE_EXECUTOR``) and where the run
    worker reads the Celery broker and backend URLs (the variable names, never their values)."""
    return TranslatorSettings(
        executor=settings.executor,
        celery_broker_env="SPINE_CELERY_BROKER" if settings.celery_broker_from_env else None,
        celery_backend_env="SPINE_CELERY_BACKEND" if settings.celery_backend_from_env else None,
        celery_queue=settings.celery_queue,
    )


def get_translator(settings: Settings | None = None) -> SpineDagsterTranslator:
    """The translator every path uses: ``SPINE_TRANSLATOR`` (``module:Class``), else the default one.

    Either way its executor switches come from the deployment (:func:`translator_settings`); a subclass
    keeps its own other settings."""
    settings = settings or get_settings()
    if not settings.translator:
        return SpineDagsterTranslator(translator_settings(settings))
    module_name, sep, class_name = settings.translator.partition(":")
    if not sep or not module_name or not class_name:
        raise SpineError(f"SPINE_TRANSLATOR={settings.translator!r}: expected package.module:ClassName")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        where = " (install it, or put its directory on PYTHONPATH)" if isinstance(exc, ImportError) else ""
        raise SpineError(f"SPINE_TRANSLATOR={settings.translator!r}: cannot import it: {exc}{where}") from exc
    if not (isinstance(cls, type) and issubclass(cls, SpineDagsterTranslator)):
        raise SpineError(
            f"SPINE_TRANSLATOR={settings.translator!r} is not a subclass of SpineDagsterTranslator"
        )
    translator = cls()
    deployment = translator_settings(settings)
    translator.settings = dataclasses.replace(
        translator.settings,
        executor=deployment.executor,
        celery_broker_env=deployment.celery_broker_env,
        celery_backend_env=deployment.celery_backend_env,
        celery_queue=deployment.celery_queue,
    )
    return translator


def load_plans(settings: Settings, registry: PipelineRegistry) -> tuple[list[GroupPlan], list[Diagnostic]]:
    """Load and plan every group of the groups dir; problems are returned, never raised."""
    if not settings.groups_dir.is_dir():
        message = f"groups directory not found: {settings.groups_dir} (set SPINE_GROUPS_DIR)"
        return [], [Diagnostic(message, InvalidGroupSpecError.__name__, str(settings.groups_dir))]
    result = load_groups([settings.groups_dir])
    plans, diags = plan_all(result.groups, registry)
    return plans, [*result.diagnostics, *diags]


def _unique_job_names(
    plans: list[GroupPlan], translator: SpineDagsterTranslator
) -> tuple[list[GroupPlan], list[Diagnostic]]:
    """Drop groups whose Dagster job name another group already has (in name order)."""
    diags: list[Diagnostic] = []
    by_job: dict[str, GroupPlan] = {}
    for plan in sorted(plans, key=lambda p: p.name):
        job_name = translator.get_job_name(plan.spec)
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
    return list(by_job.values()), diags


def cross_group_problems(
    plans: list[GroupPlan], translator: SpineDagsterTranslator
) -> tuple[list[GroupPlan], list[Diagnostic]]:
    """Drop groups whose job name collides or whose after_group sensor names an unknown group."""
    kept, diags = _unique_job_names(plans, translator)
    names = {p.name for p in kept}
    final = []
    for plan in kept:
        bad = [
            (i, s.group)
            for i, s in enumerate(plan.spec.sensors)
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
class CodeLocation:
    """The built definitions plus what the ``spine`` CLI needs to talk about their runs."""

    definitions: dg.Definitions
    runtime: SpineRuntime
    diagnostics: tuple[Diagnostic, ...]
    translator: SpineDagsterTranslator

    def job_for_group(self, group_name: str) -> JobBinding:
        """The job of a group; :class:`GroupNotFoundError` when the group is not in the code location."""
        found = next((job for job in self.runtime.jobs.values() if job.plan.name == group_name), None)
        if found is None:
            raise GroupNotFoundError(group_name)
        return found

    def outcome_of(self, instance: dg.DagsterInstance, run_id: str) -> GroupOutcome | None:
        """The spine outcome of a run of one of these jobs (None for any other run)."""
        return self.runtime.outcome_of(instance, run_id)


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
) -> CodeLocation:
    """:func:`build_definitions`, keeping the runtime, the translator and the problems found."""
    pool_claims.install()  # every process that loads the location may claim pool slots (pool_claims.py)
    settings = settings or get_settings()
    registry = registry or discover_pipelines(settings.pipeline_modules)
    translator = translator or get_translator(settings)
    plugin_diags = [failure.diagnostic() for failure in registry.failures]
    plans, diags = load_plans(settings, registry)
    plans, cross = cross_group_problems(plans, translator)
    diags = [*plugin_diags, *diags, *cross]

    bindings: dict[str, JobBinding] = {}
    runtime = SpineRuntime(jobs=bindings, registry=registry)  # sees `bindings` as they are filled below
    resources = _resources(settings, runtime)
    catalog = OpCatalog(registry, translator)
    layout = AssetLayout.of(plans, registry)
    kind = "postgres" if settings.warehouse_url.startswith("postgres") else "duckdb"
    jobs: dict[str, dg.JobDefinition] = {}
    group_assets: list[dg.AssetsDefinition] = []
    for plan in plans:
        try:
            binding = bind_job(plan, registry, translator, layout)
            graph = build_group_graph(binding, catalog, translator)
            job = build_group_job(binding, graph, registry, translator, resources)
            assets = build_group_assets(binding, graph, registry, translator, kind)
        except (ValueError, dg.DagsterInvalidDefinitionError) as exc:
            diags.append(plan.group.source.diagnostic(("name",), f"cannot build Dagster job: {exc}"))
            continue
        jobs[plan.name] = job
        bindings[job.name] = binding
        if assets is not None:
            group_assets.append(assets)

    if diags and settings.strict:
        raise SpineError(
            f"{len(diags)} problem(s) in the group files (SPINE_STRICT is set):\n"
            + "\n".join(d.format() for d in diags),
            diagnostics=diags,
        )
    definitions = _definitions(settings, registry, translator, runtime, diags, jobs, group_assets, resources)
    return CodeLocation(definitions, runtime, tuple(diags), translator)


def _resources(settings: Settings, runtime: SpineRuntime) -> dict[str, object]:
    # The URL stays an EnvVar so it is read in the run worker, never baked into the definitions.
    warehouse = (
        WarehouseResource(url=dg.EnvVar("SPINE_WAREHOUSE_URL"))
        if settings.warehouse_url_from_env
        else WarehouseResource()
    )
    return {
        "spine": dg.ResourceDefinition.hardcoded_resource(
            runtime, "spine runtime: job bindings and registry"
        ),
        "warehouse": warehouse,
    }


def _definitions(
    settings: Settings,
    registry: PipelineRegistry,
    translator: SpineDagsterTranslator,
    runtime: SpineRuntime,
    diags: Sequence[Diagnostic],
    jobs: dict[str, dg.JobDefinition],
    group_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
) -> dg.Definitions:
    """Jobs plus their schedules, sensors and alert sensors, the outcome sensors, the problems asset, the
    groups' graph-backed assets, the other tables as external assets, and the tables' checks."""

    def status_of(instance: dg.DagsterInstance, run_id: str) -> str | None:
        outcome = runtime.outcome_of(instance, run_id)
        return outcome.status if outcome is not None else None

    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    for binding in runtime.jobs.values():
        job = jobs[binding.plan.name]
        schedules.extend(build_schedules(binding, job, translator))
        sensors.extend(build_sensors(binding, job, translator, jobs, status_of))
        sensors.extend(build_alert_sensors(binding, job, translator, runtime.outcome_of))
    sensors.extend(build_outcome_sensors(list(jobs.values()), runtime.outcome_of, translator))
    sensors.append(build_reaper_sensor(translator))

    def reload() -> Sequence[Diagnostic]:
        fresh_plans, fresh = load_plans(settings, registry)
        plugins = [failure.diagnostic() for failure in registry.failures]
        return [*plugins, *fresh, *cross_group_problems(fresh_plans, translator)[1]]

    problems_spec, problems_check, problems_sensor = build_problem_defs(
        diags, str(settings.groups_dir), reload, translator.get_problems_asset_key()
    )
    sensors.append(problems_sensor)
    warehouse_kind = "postgres" if settings.warehouse_url.startswith("postgres") else "duckdb"
    producers = group_by_table(runtime.jobs)
    partitioned = {}
    for table, binding in producers.items():
        params_of = partition_check_params(binding, table, registry)
        if params_of is not None:
            partitioned[table] = params_of
    external = build_table_assets(registry, translator, warehouse_kind, frozenset(producers))
    return dg.Definitions(
        jobs=list(jobs.values()),
        schedules=schedules,
        sensors=sensors,
        assets=[problems_spec, *group_assets, *external],
        asset_checks=[problems_check, *build_table_checks(registry, translator, partitioned)],
        resources=resources,
        executor=translator.get_asset_executor(),
    )
