"""The reaper sensor: runs whose ``spine run`` process died are marked failed and their slots freed
(:mod:`spine_dagster.recovery`), every 30 seconds while the daemon runs."""

from __future__ import annotations

import dagster as dg

from ..recovery import describe, reap_dead_runs
from .translator import SpineDagsterTranslator


def build_reaper_sensor(translator: SpineDagsterTranslator) -> dg.SensorDefinition:
    """A sensor, on by default, that reaps dead in-process runs; its tick says what it did."""

    @dg.sensor(
        name=translator.get_reaper_sensor_name(),
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Marks failed the runs whose spine run process is gone (killed or crashed), and frees pool "
            "slots still held by finished runs, so later runs of the pool do not wait forever."
        ),
    )
    def _reap(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        reaped = reap_dead_runs(context.instance)
        for item in reaped:
            context.log.warning(describe(item))
        return dg.SkipReason("; ".join(describe(r) for r in reaped) or "no dead runs, no stranded slots")

    return _reap
