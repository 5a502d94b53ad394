"""SPINE_* environment settings, read when called (never at import: Dagster re-imports the code location).

| variable | default | meaning |
|---|---|---|
| ``SPINE_HOME`` | ``./.spine`` | where spine keeps its state (warehouse file, Dagster home for ``spine run``) |
| ``SPINE_GROUPS_DIR`` | ``./groups`` | the PipelineGroup files |
| ``SPINE_WAREHOUSE_URL`` | ``duckdb:///$SPINE_HOME/warehouse.duckdb`` | ``duckdb:///path`` or ``postgresql://...`` |
| ``SPINE_STRICT`` | ``0`` | ``1``: any bad group file is fatal (for CI) instead of reported |
| ``SPINE_TRANSLATOR`` | unset | ``package.module:ClassName``: a SpineDagsterTranslator subclass used everywhere |
| ``SPINE_PIPELINE_MODULES`` | unset | comma-separated modules whose pipelines are registered (besides entry points) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    home: Path
    groups_dir: Path
    warehouse_url: str
    strict: bool
    translator: str = ""  # SPINE_TRANSLATOR, "module:Class" ("" = the default translator)
    warehouse_url_from_env: bool = False  # SPINE_WAREHOUSE_URL is set (else the DuckDB default)
    pipeline_modules: tuple[str, ...] = ()  # SPINE_PIPELINE_MODULES

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
    )
