"""Stage 3: plans -> Dagster objects (jobs, schedules, sensors, assets, checks), every rule decided by
:class:`SpineDagsterTranslator`. Pure mapping: reading settings and files and wiring the stages together
is :mod:`spine_dagster.composition`'s job."""

from __future__ import annotations

from .alerts import AlertDelivery, build_alert_sensors
from .assets import (
    build_group_assets,
    build_table_assets,
    build_table_checks,
    group_by_table,
    partition_check_params,
)
from .config import build_job_config, example_run_config, run_config_for
from .jobs import AssetLayout, OpCatalog, bind_job, build_group_graph, build_group_job, step_aliases
from .outcome import build_outcome_sensors
from .partitions import PartitionKeys
from .problems import build_problem_defs
from .recovery import build_reaper_sensor
from .translator import SpineDagsterTranslator, TranslatorSettings
from .triggers import build_schedules, build_sensors

__all__ = [
    "AlertDelivery",
    "AssetLayout",
    "OpCatalog",
    "PartitionKeys",
    "SpineDagsterTranslator",
    "TranslatorSettings",
    "bind_job",
    "build_alert_sensors",
    "build_group_assets",
    "build_group_graph",
    "build_group_job",
    "build_job_config",
    "build_outcome_sensors",
    "build_problem_defs",
    "build_reaper_sensor",
    "build_schedules",
    "build_sensors",
    "build_table_assets",
    "build_table_checks",
    "example_run_config",
    "group_by_table",
    "partition_check_params",
    "run_config_for",
    "step_aliases",
]
