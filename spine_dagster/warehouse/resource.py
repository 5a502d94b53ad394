"""The warehouse as a Dagster resource (the only warehouse module that imports dagster)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from ..settings import get_settings
from .base import Warehouse
from .connect import open_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse URL (from ``SPINE_WAREHOUSE_URL`` through ``dg.EnvVar``; empty = the default DuckDB
    file under ``SPINE_HOME``). ``open()`` connects; the caller closes."""

    url: str = Field(
        default="",
        description=(
            "The warehouse: duckdb:///path or postgresql://... Empty: SPINE_WAREHOUSE_URL, else the DuckDB "
            "file under SPINE_HOME. Leave it empty in the Launchpad; a password belongs in the environment."
        ),
    )

    def open(self) -> Warehouse:
        return open_warehouse(self.url or get_settings().warehouse_url)
