"""The Dagster code location: ``dagster dev`` / ``dagster job execute -m spine_dagster.definitions``.

Nothing is read at import time: ``defs`` is built when Dagster loads the code location (the groups dir
and settings are read then), because Dagster re-imports this module in every run and step process.
"""

from __future__ import annotations

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """Load groups/*.yaml, plan them, and build the jobs, schedules and sensors."""
    import gc

    from spine_dagster.defs import build_definitions

    definitions = build_definitions()
    # Built once per process and kept for its life: exempt from every later garbage collection.
    gc.freeze()
    return definitions


def job_by_name(job_name: str) -> dg.JobDefinition:
    """Used to reconstruct one job in a fresh process (``spine run`` and ``execute_job``)."""
    from spine_dagster.defs import build_definitions

    return build_definitions().resolve_job_def(job_name)
