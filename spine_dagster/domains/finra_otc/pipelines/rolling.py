"""finra.otc_transparency.compute_rolling: symbol_week history -> finra_otc.symbol_rolling."""

from __future__ import annotations

import datetime as dt

from ....errors import BadDataError
from ....pipelines.base import Pipeline, StepResult
from ....pipelines.context import StepContext
from .. import tables as t
from ..calendar import week_ending_of
from ..checks import VOLUME_ANOMALY
from ..params import RollingParams


class ComputeRolling(Pipeline):
    name = "finra.otc_transparency.compute_rolling"
    description = (
        "Rolling averages, min/max and trend per symbol over the last window_weeks weeks (latest captures)."
    )
    Params = RollingParams
    reads = (t.SYMBOL_WEEK.name,)
    writes = (t.SYMBOL_ROLLING.name,)
    table_descriptions = t.descriptions(t.SYMBOL_ROLLING)
    checks = (VOLUME_ANOMALY,)

    def run(self, ctx: StepContext, params: RollingParams) -> StepResult:
        """Replace the capture's symbol_rolling rows: its own week plus the newest capture of each earlier
        week of the window."""
        wh = ctx.warehouse
        t.ensure_tables(wh)
        week, tier = params.monday, params.tier
        capture = t.latest_capture(wh, t.SYMBOL_WEEK, week, tier, params.capture_id)
        if capture is None:
            raise BadDataError(f"no aggregates for week {week} tier {tier}: run aggregate_week first")
        first = week - dt.timedelta(weeks=params.window_weeks - 1)
        # Policy A (spine-core): the newest capture of every earlier week, the target week's own capture.
        history = wh.query_df(
            f"SELECT week_start, symbol, total_shares, total_trades FROM {t.SYMBOL_WEEK.name}_latest "
            "WHERE tier = ? AND week_start >= ? AND week_start < ?",
            [tier, first, week],
        )
        current = wh.query_df(
            f"SELECT week_start, symbol, total_shares, total_trades FROM {t.SYMBOL_WEEK.name} "
            "WHERE capture_id = ? AND week_start = ? AND tier = ?",
            [capture["capture_id"], week, tier],
        )
        import pandas as pd

        from ..metrics import rolling  # imported when a step runs, not when the pipeline is registered

        frame = rolling(pd.concat([history, current], ignore_index=True), week, params.window_weeks)
        frame = frame.assign(
            week_start=week, week_ending=week_ending_of(week), tier=tier,
            capture_id=capture["capture_id"], captured_at=capture["captured_at"],
        )  # fmt: skip
        with wh.transaction():
            written = t.replace_capture_rows(wh, t.SYMBOL_ROLLING, frame, week, tier, capture, ctx.batch_id)
        weeks_found = int(history["week_start"].nunique()) + 1
        return StepResult(
            rows_written={t.SYMBOL_ROLLING.name: written},
            metrics={
                "capture_id": capture["capture_id"],
                "symbols": written,
                "window_weeks": params.window_weeks,
                "weeks_with_data": weeks_found,
                "complete_windows": int(frame["is_complete"].sum()) if len(frame) else 0,
            },
        )
