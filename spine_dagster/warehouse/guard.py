"""The multi-writer guard: refuse a distributed setup on a warehouse that takes one writing process at a time.

A DuckDB file is opened read-write by one process at a time. Steps that run on several Celery workers (or
several runs taken from a queue at once) write the warehouse from several processes on possibly several
machines, so a DuckDB warehouse there fails at random, mid-run, with lock errors (or, on separate machines,
writes to separate files). The Postgres warehouse takes many writers. This check says so before anything
runs. Pure Python: no Dagster, no driver, no connection.
"""

from __future__ import annotations

from ..errors import SpineError
from ..settings import Settings
from .connect import redact_url

SINGLE_WRITER_ENV = "SPINE_SINGLE_WRITER"


class MultiWriterRequiredError(SpineError):
    """The setup runs steps in several processes but the warehouse takes one writer (DuckDB)."""


def takes_many_writers(warehouse_url: str) -> bool:
    """Whether the warehouse at ``warehouse_url`` takes writes from several processes at once (Postgres)."""
    return not warehouse_url.startswith("duckdb:")


def require_multi_writer(settings: Settings, why: str) -> None:
    """Raise :class:`MultiWriterRequiredError` unless the warehouse can be written by several processes at once.

    Contract (for every caller: ``spine run`` with ``SPINE_EXECUTOR=celery``, the Celery executor when a run
    starts, and queued runs):

    * Call it **before anything runs**: before the run is created, or when the executor starts a run,
      before any step is submitted. It never connects to anything and reads only ``settings``
      (:func:`spine_dagster.settings.get_settings`), so it is cheap and safe to call in every process.
    * ``why`` names what makes the writers concurrent, as a clause that starts the message, e.g.
      ``"SPINE_EXECUTOR=celery runs a run's steps in several worker processes"``.
    * It passes when ``settings.warehouse_url`` is not a DuckDB URL (Postgres takes many writers), or when
      ``settings.single_writer`` is set (``SPINE_SINGLE_WRITER=1``: the operator promises that at most one
      process writes at a time, e.g. one worker with ``--concurrency 1`` and no concurrent runs).
    * Otherwise it raises :class:`MultiWriterRequiredError` (a :class:`~spine_dagster.errors.SpineError`,
      which the ``spine`` CLI prints as one line and exits 1), naming the warehouse URL without its
      password and both ways out.
    """
    if settings.single_writer or takes_many_writers(settings.warehouse_url):
        return
    raise MultiWriterRequiredError(
        f"{why}, but the warehouse is a DuckDB file ({redact_url(settings.warehouse_url)}), which one "
        "process at a time can write: set SPINE_WAREHOUSE_URL to a Postgres warehouse "
        f"(postgresql://user:pass@host:port/db), or set {SINGLE_WRITER_ENV}=1 if you make sure only one "
        "step writes at a time (one worker with --concurrency 1, one run at a time)"
    )


__all__ = ["SINGLE_WRITER_ENV", "MultiWriterRequiredError", "require_multi_writer", "takes_many_writers"]
