"""The Dagster code location: ``dagster dev`` / ``dagster job execute -m spine_dagster.definitions``.

Nothing is read at import time: ``defs`` is built when Dagster loads the code location (the groups dir
and settings are read then), because Dagster re-imports this module in every run and step process.

This module is an entry point, so it is where process-wide switches belong: the cyclic garbage collector
is paused while the definitions are built, and the code location's own definitions are frozen out of
later collections (see :func:`_build`); library code (:mod:`spine_dagster.composition`) leaves the
collector alone.
"""

from __future__ import annotations

import dagster as dg


def _build(*, freeze: bool) -> dg.Definitions:
    import gc

    from spine_dagster.composition import build_definitions

    # Building allocates many long-lived objects; the cyclic GC rescanning them while they are being made
    # cost as much as the build itself (bench/load.py). It is switched back on afterwards. The code
    # location's definitions are kept for the life of the process: ``freeze`` exempts them from every
    # later collection (not done for ``job_by_name``, which `spine run` calls once per run it starts).
    enabled = gc.isenabled()
    gc.disable()
    try:
        definitions = build_definitions()
    finally:
        if enabled:
            gc.enable()
    if freeze:
        gc.freeze()
        _unfreeze_at_exit()
    return definitions


_UNFREEZE_REGISTERED: list[bool] = []


def _unfreeze_at_exit() -> None:
    """Give frozen objects back to the collector when the process exits (registered once per process).

    A module imported before a freeze (duckdb, when Dagster loads the definitions again after a step
    imported it) stays in the permanent generation, which the interpreter's final collection skips; DuckDB's
    bindings then print "nanobind: leaked N instances!" (about 40 lines) at the end of every run.
    """
    import atexit
    import gc

    if not _UNFREEZE_REGISTERED:
        _UNFREEZE_REGISTERED.append(True)
        atexit.register(gc.unfreeze)


@dg.definitions
def defs() -> dg.Definitions:
    """Load groups/*.yaml, plan them, and build the jobs, schedules and sensors."""
    return _build(freeze=True)


def job_by_name(job_name: str) -> dg.JobDefinition:
    """Used to reconstruct one job in a fresh process (``spine run`` and ``execute_job``)."""
    return _build(freeze=False).resolve_job_def(job_name)
