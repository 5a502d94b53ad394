"""SPINE_EXECUTOR=celery chooses dagster-celery's executor for every job, from the deployment's settings,
and the multi-writer guard refuses a DuckDB warehouse (no broker needed: nothing is run here; the real runs
are in tests/integration/test_celery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spine_dagster.composition import build_code_location
from spine_dagster.errors import SpineError
from spine_dagster.settings import get_settings
from spine_dagster.warehouse.guard import MultiWriterRequiredError, require_multi_writer

GROUPS = {
    "seq.yaml": "name: c.seq\npolicy: {on_failure: stop}\nsteps:\n  - {name: a, pipeline: spine.noop}\n",
    "par.yaml": "name: c.par\npolicy: {execution: parallel, max_concurrency: 3, on_failure: continue}\n"
    "steps:\n  - {name: a, pipeline: spine.noop}\n  - {name: b, pipeline: spine.noop}\n",
}


def _location(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    groups = tmp_path / "groups"
    groups.mkdir(exist_ok=True)
    for name, text in GROUPS.items():
        (groups / name).write_text(text)
    return build_code_location(get_settings({"SPINE_GROUPS_DIR": str(groups), **env}))


def _executor_config(location, job: str) -> dict:  # type: ignore[no-untyped-def]
    executor = location.definitions.resolve_job_def(job).executor_def
    assert executor.name == "celery"
    return executor.config_schema._config_fn({})  # the values it is configured with (Dagster 1.13.27)


def test_celery_is_chosen_by_the_deployment_with_each_groups_limits(tmp_path: Path) -> None:
    location = _location(tmp_path, SPINE_EXECUTOR="celery", SPINE_CELERY_QUEUE="team_a")
    seq = _executor_config(location, "c__seq")
    par = _executor_config(location, "c__par")
    assert (seq["max_concurrent"], seq["fail_fast"]) == (1, True)  # sequential: one step at a time
    assert (par["max_concurrent"], par["fail_fast"]) == (3, False)
    assert par["broker"] == "pyamqp://guest:guest@127.0.0.1:5672//"  # the local default
    assert par["config_source"] == {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_default_queue": "team_a",
    }
    op_tags = location.definitions.resolve_job_def("c__par").graph.node_named("a").tags
    assert op_tags["dagster-celery/priority"] == "5"
    assert location.definitions.resolve_implicit_global_asset_job_def().executor_def.name == "celery"


def test_a_broker_url_from_the_environment_stays_an_env_reference(tmp_path: Path) -> None:
    location = _location(
        tmp_path,
        SPINE_EXECUTOR="celery",
        SPINE_CELERY_BROKER="amqp://spine:s3cret@broker:5672//",
        SPINE_CELERY_BACKEND="redis://:s3cret@cache:6379/0",
    )
    config = _executor_config(location, "c__par")
    assert config["broker"] == {"env": "SPINE_CELERY_BROKER"}  # read in the run worker, never stored
    assert config["backend"] == {"env": "SPINE_CELERY_BACKEND"}
    assert "s3cret" not in repr(get_settings({"SPINE_CELERY_BROKER": "amqp://spine:s3cret@broker:5672//"}))


def test_without_the_setting_jobs_keep_the_default_executors(tmp_path: Path) -> None:
    location = _location(tmp_path)
    assert location.definitions.resolve_job_def("c__seq").executor_def.name == "in_process"
    assert location.definitions.resolve_job_def("c__par").executor_def.name == "multiprocess"


def test_an_unknown_executor_is_an_error() -> None:
    with pytest.raises(SpineError, match="SPINE_EXECUTOR='k8s'"):
        get_settings({"SPINE_EXECUTOR": "k8s"})


def test_the_multi_writer_guard() -> None:
    why = "SPINE_EXECUTOR=celery runs a run's steps in several worker processes"
    require_multi_writer(get_settings({"SPINE_WAREHOUSE_URL": "postgresql://u:p@h/db"}), why)
    require_multi_writer(get_settings({"SPINE_SINGLE_WRITER": "1"}), why)
    with pytest.raises(MultiWriterRequiredError) as raised:
        require_multi_writer(get_settings({"SPINE_HOME": "/srv/spine"}), why)
    message = str(raised.value)
    assert message.startswith(
        why + ", but the warehouse is a DuckDB file (duckdb:////srv/spine/warehouse.duckdb)"
    )
    assert "SPINE_SINGLE_WRITER=1" in message and "SPINE_WAREHOUSE_URL" in message
