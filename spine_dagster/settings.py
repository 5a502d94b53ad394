"""SPINE_* environment settings, read when called (never at import: Dagster re-imports the code location).

| variable | default | meaning |
|---|---|---|
| ``SPINE_HOME`` | ``./.spine`` | where spine keeps its state (warehouse file, Dagster home for ``spine run``) |
| ``SPINE_GROUPS_DIR`` | ``./groups`` | the PipelineGroup files |
| ``SPINE_WAREHOUSE_URL`` | ``duckdb:///$SPINE_HOME/warehouse.duckdb`` | ``duckdb:///path`` or ``postgresql://...`` |
| ``SPINE_STRICT`` | ``0`` | ``1``: any bad group file is fatal (for CI) instead of reported |
| ``SPINE_TRANSLATOR`` | unset | ``package.module:ClassName``: a SpineDagsterTranslator subclass used everywhere |
| ``SPINE_PIPELINE_MODULES`` | unset | comma-separated modules whose pipelines are registered (besides entry points) |
| ``SPINE_EXECUTOR`` | unset | ``celery``: every group's steps run on Celery workers (``spine worker``); unset or ``default``: in-process / multiprocess |
| ``SPINE_CELERY_BROKER`` | ``pyamqp://guest:guest@127.0.0.1:5672//`` | the Celery broker URL (a secret when it holds a password: never logged) |
| ``SPINE_CELERY_BACKEND`` | ``rpc://`` | the Celery result backend URL |
| ``SPINE_CELERY_QUEUE`` | ``dagster`` | the queue steps are submitted to and ``spine worker`` takes them from |
| ``SPINE_SINGLE_WRITER`` | ``0`` | ``1``: allow Celery against a DuckDB warehouse, promising that one step writes at a time |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpineError

_TRUE = {"1", "true", "yes", "on"}
EXECUTORS = ("default", "celery")
DEFAULT_CELERY_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
DEFAULT_CELERY_BACKEND = "rpc://"
DEFAULT_CELERY_QUEUE = "dagster"  # dagster-celery's default queue


@dataclass(frozen=True)
class Settings:
    home: Path
    groups_dir: Path
    warehouse_url: str
    strict: bool
    translator: str = ""  # SPINE_TRANSLATOR, "module:Class" ("" = the default translator)
    warehouse_url_from_env: bool = False  # SPINE_WAREHOUSE_URL is set (else the DuckDB default)
    pipeline_modules: tuple[str, ...] = ()  # SPINE_PIPELINE_MODULES
    executor: str = "default"  # SPINE_EXECUTOR: "default" (in-process/multiprocess) or "celery"
    # SPINE_CELERY_BROKER / SPINE_CELERY_BACKEND: may hold a password, so kept out of repr() (never logged)
    celery_broker: str = field(default=DEFAULT_CELERY_BROKER, repr=False)
    celery_backend: str = field(default=DEFAULT_CELERY_BACKEND, repr=False)
    celery_broker_from_env: bool = False  # SPINE_CELERY_BROKER is set (else the local default)
    celery_backend_from_env: bool = False  # SPINE_CELERY_BACKEND is set (else rpc://)
    celery_queue: str = DEFAULT_CELERY_QUEUE  # SPINE_CELERY_QUEUE
    single_writer: bool = False  # SPINE_SINGLE_WRITER: Celery on DuckDB allowed, one writer at a time

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (default: the process environment), read now."""
    env = os.environ if environ is None else environ
    home = Path(env.get("SPINE_HOME") or ".spine")
    groups_dir = Path(env.get("SPINE_GROUPS_DIR") or "groups")
    warehouse_url = env.get("SPINE_WAREHOUSE_URL") or f"duckdb:///{home / 'warehouse.duckdb'}"
    strict = (env.get("SPINE_STRICT") or "").strip().lower() in _TRUE
    executor = (env.get("SPINE_EXECUTOR") or "default").strip().lower()
    if executor not in EXECUTORS:
        raise SpineError(f"SPINE_EXECUTOR={executor!r}: expected one of {', '.join(EXECUTORS)}")
    return Settings(
        home=home,
        groups_dir=groups_dir,
        warehouse_url=warehouse_url,
        strict=strict,
        translator=(env.get("SPINE_TRANSLATOR") or "").strip(),
        warehouse_url_from_env=bool(env.get("SPINE_WAREHOUSE_URL")),
        pipeline_modules=tuple(
            part.strip() for part in (env.get("SPINE_PIPELINE_MODULES") or "").split(",") if part.strip()
        ),
        executor=executor,
        celery_broker=env.get("SPINE_CELERY_BROKER") or DEFAULT_CELERY_BROKER,
        celery_backend=env.get("SPINE_CELERY_BACKEND") or DEFAULT_CELERY_BACKEND,
        celery_broker_from_env=bool(env.get("SPINE_CELERY_BROKER")),
        celery_backend_from_env=bool(env.get("SPINE_CELERY_BACKEND")),
        celery_queue=(env.get("SPINE_CELERY_QUEUE") or "").strip() or DEFAULT_CELERY_QUEUE,
        single_writer=(env.get("SPINE_SINGLE_WRITER") or "").strip().lower() in _TRUE,
    )
