"""The warehouse as a Dagster resource (the only warehouse module that imports dagster)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, PrivateAttr

from ..settings import get_settings
from .base import Warehouse
from .session import WarehouseSession, active_session


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse URL (from ``SPINE_WAREHOUSE_URL`` through ``dg.EnvVar``; empty = the default DuckDB
    file under ``SPINE_HOME``).

    Steps use :meth:`connection`: one connection per run and process, opened on first use and closed when
    Dagster tears the run's resources down. Under the in-process executor a run's steps share it; under
    the multiprocess and Celery executors each step process has its own, as before. Inside a
    :func:`~spine_dagster.warehouse.session.warehouse_session` (``spine run``) the command's connection is
    used instead.
    """

    url: str = Field(
        default="",
        description=(
            "The warehouse: duckdb:///path or postgresql://... Empty: SPINE_WAREHOUSE_URL, else the DuckDB "
            "file under SPINE_HOME. Leave it empty in the Launchpad; a password belongs in the environment."
        ),
    )
    _own: WarehouseSession | None = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        return self.url or get_settings().warehouse_url

    def _session(self) -> WarehouseSession:
        url = self.resolved_url()
        shared = active_session(url)
        if shared is not None:
            return shared
        if self._own is None:
            self._own = WarehouseSession(url)
        return self._own

    def connection(self) -> Warehouse:
        """The connection this run's steps share in this process (do not close it)."""
        return self._session().connection()

    def discard(self) -> None:
        """Drop the shared connection after a failure; the next step opens a fresh one."""
        self._session().discard()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._own is not None:
            self._own.discard()
