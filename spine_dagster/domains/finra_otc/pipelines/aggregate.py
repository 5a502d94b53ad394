"""finra.otc_transparency.aggregate_week: weekly_volume -> finra_otc.symbol_week + finra_otc.venue_week."""

from __future__ import annotations

from ....errors import BadDataError
from ....pipelines.base import Pipeline, StepResult
from ....pipelines.context import StepContext
from .. import tables as t
from ..checks import HHI_RANGE, MARKET_SHARE_SUM
from ..params import CaptureParams


class AggregateWeek(Pipeline):
    name = "finra.otc_transparency.aggregate_week"
    description = (
        "Per symbol and per venue totals of a week (from *_W_SMBL_FIRM rows only), shares, HHI, ranks; "
        "computed inside the warehouse (DuckDB), or in memory over the capture's rows read once (Postgres)."
    )
    Params = CaptureParams
    reads = (t.WEEKLY_VOLUME.name,)
    writes = (t.SYMBOL_WEEK.name, t.VENUE_WEEK.name)
    table_descriptions = t.descriptions(t.SYMBOL_WEEK, t.VENUE_WEEK)
    checks = (MARKET_SHARE_SUM, HHI_RANGE)

    def run(self, ctx: StepContext, params: CaptureParams) -> StepResult:
        """Replace the capture's symbol_week and venue_week rows (skipped when done, unless ``force``)."""
        wh = ctx.warehouse
        t.ensure_tables(wh)
        week, tier = params.monday, params.tier
        capture = t.latest_capture(wh, t.WEEKLY_VOLUME, week, tier, params.capture_id)
        if capture is None:
            raise BadDataError(f"no normalized data for week {week} tier {tier}: run normalize_week first")
        done = t.latest_capture(wh, t.SYMBOL_WEEK, week, tier, capture["capture_id"])
        if done is not None and not params.force:
            return StepResult(metrics={"skipped": True, "capture_id": capture["capture_id"]})
        from ..aggregates import FIRM_ROWS_SQL, compute, symbol_week_sql, venue_week_sql

        key = [capture["capture_id"], week, tier]
        if wh.dialect == "postgres":  # read once, computed in memory: see aggregates.py
            symbol_rows, venue_rows = compute(wh.query_arrow(FIRM_ROWS_SQL, key))
            with wh.transaction():
                symbols = t.replace_capture_rows(
                    wh, t.SYMBOL_WEEK, symbol_rows, week, tier, capture, ctx.batch_id
                )
                venues = t.replace_capture_rows(
                    wh, t.VENUE_WEEK, venue_rows, week, tier, capture, ctx.batch_id
                )
        else:
            with wh.transaction():  # computed inside the warehouse: the rows never leave it
                symbols = t.replace_capture_rows_by_sql(
                    wh, t.SYMBOL_WEEK, symbol_week_sql(wh.dialect), key, week, tier, capture, ctx.batch_id
                )
                venues = t.replace_capture_rows_by_sql(
                    wh, t.VENUE_WEEK, venue_week_sql(wh.dialect), key, week, tier, capture, ctx.batch_id
                )
        return StepResult(
            rows_written={t.SYMBOL_WEEK.name: symbols, t.VENUE_WEEK.name: venues},
            metrics={"capture_id": capture["capture_id"], "symbols": symbols, "venues": venues},
        )
