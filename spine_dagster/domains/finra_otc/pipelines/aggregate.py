"""finra.otc_transparency.aggregate_week: weekly_volume -> finra_otc.symbol_week + finra_otc.venue_week."""

from __future__ import annotations

from ....errors import BadDataError
from ....pipelines.base import Pipeline, StepResult
from ....pipelines.context import StepContext
from .. import tables as t
from ..checks import HHI_RANGE, MARKET_SHARE_SUM
from ..params import CaptureParams

# What aggregate reads (the partition columns and the rows' amounts), not the whole typed row.
_COLUMNS = "week_start, week_ending, tier, capture_id, summary_type, venue_kind, symbol, venue, shares, trades, is_unattributed"


class AggregateWeek(Pipeline):
    name = "finra.otc_transparency.aggregate_week"
    description = (
        "Per symbol and per venue totals of a week (from *_W_SMBL_FIRM rows only), shares, HHI, ranks."
    )
    Params = CaptureParams
    reads = (t.WEEKLY_VOLUME.name,)
    writes = (t.SYMBOL_WEEK.name, t.VENUE_WEEK.name)
    checks = (MARKET_SHARE_SUM, HHI_RANGE)

    def run(self, ctx: StepContext, params: CaptureParams) -> StepResult:
        wh = ctx.warehouse
        t.ensure_tables(wh)
        week, tier = params.monday, params.tier
        capture = t.latest_capture(wh, t.WEEKLY_VOLUME, week, tier, params.capture_id)
        if capture is None:
            raise BadDataError(f"no normalized data for week {week} tier {tier}: run normalize_week first")
        done = t.latest_capture(wh, t.SYMBOL_WEEK, week, tier, capture["capture_id"])
        if done is not None and not params.force:
            return StepResult(metrics={"skipped": True, "capture_id": capture["capture_id"]})
        volume = wh.query_arrow(
            f"SELECT {_COLUMNS} FROM {t.WEEKLY_VOLUME.name} WHERE capture_id = ? AND week_start = ? AND tier = ?",
            [capture["capture_id"], week, tier],
        ).to_pandas()
        volume["captured_at"] = capture["captured_at"]
        from ..metrics import aggregate  # pandas work: imported when a step runs, not when it is registered

        symbol_week, venue_week = aggregate(volume)
        with wh.transaction():
            symbols = t.replace_capture_rows(
                wh, t.SYMBOL_WEEK, symbol_week, week, tier, capture, ctx.batch_id
            )
            venues = t.replace_capture_rows(wh, t.VENUE_WEEK, venue_week, week, tier, capture, ctx.batch_id)
        return StepResult(
            rows_written={t.SYMBOL_WEEK.name: symbols, t.VENUE_WEEK.name: venues},
            metrics={"capture_id": capture["capture_id"], "symbols": symbols, "venues": venues},
        )
