"""finra.otc_transparency.normalize_week: a raw capture -> finra_otc.weekly_volume + finra_otc.rejects."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ....errors import BadDataError
from ....pipelines.base import Pipeline, StepResult
from ....pipelines.context import StepContext
from .. import handoff
from .. import tables as t
from ..checks import REJECT_RATE, SMBL_RECONCILIATION, UNIQUE_KEYS
from ..params import NormalizeParams

if TYPE_CHECKING:
    import pandas as pd

    from ....warehouse import Warehouse

_LOOKUP_BATCH = 500  # row numbers per IN list
_READ_ALL_ABOVE = 5000  # more lines than this: read the capture's lines in one query instead


class _RawLines:
    """The source lines of some rows of one capture, looked up by (source_file, row_number)."""

    def __init__(self, wh: Warehouse, capture_id: str, week: dt.date, tier: str) -> None:
        self.wh, self.where = wh, "capture_id = ? AND week_start = ? AND tier = ?"
        self.params: list[Any] = [capture_id, week, tier]

    def __call__(self, rows: pd.DataFrame) -> pd.Series:
        import pandas as pd

        numbers = sorted({int(n) for n in rows["row_number"]})
        sql = f"SELECT source_file, row_number, raw FROM {t.RAW_WEEKLY.name} WHERE {self.where}"
        if len(numbers) > _READ_ALL_ABOVE:
            batches = [self.wh.query_df(sql, self.params)]
        else:
            batches = [
                self.wh.query_df(
                    f"{sql} AND row_number IN ({', '.join('?' * len(chunk))})", [*self.params, *chunk]
                )
                for chunk in (numbers[i : i + _LOOKUP_BATCH] for i in range(0, len(numbers), _LOOKUP_BATCH))
            ]
        found = pd.concat(batches, ignore_index=True)
        keys = zip(found["source_file"], found["row_number"].astype(int), strict=True)
        lines = dict(zip(keys, found["raw"], strict=True))
        return pd.Series(
            [lines.get((f, int(n))) for f, n in zip(rows["source_file"], rows["row_number"], strict=True)],
            index=rows.index, dtype=object,
        )  # fmt: skip


class NormalizeWeek(Pipeline):
    name = "finra.otc_transparency.normalize_week"
    description = "Type, validate and classify a capture's raw rows: weekly_volume, rejects (with reasons)."
    Params = NormalizeParams
    reads = (t.RAW_WEEKLY.name,)
    writes = (t.WEEKLY_VOLUME.name, t.REJECTS.name)
    table_descriptions = t.descriptions(t.WEEKLY_VOLUME, t.REJECTS)
    checks = (UNIQUE_KEYS, SMBL_RECONCILIATION, REJECT_RATE)

    def run(self, ctx: StepContext, params: NormalizeParams) -> StepResult:
        """Normalize the capture's raw rows into weekly_volume and rejects (skipped when done, unless
        ``force``)."""
        wh = ctx.warehouse
        t.ensure_tables(wh)
        week, tier = params.monday, params.tier
        capture = t.latest_capture(wh, t.RAW_WEEKLY, week, tier, params.capture_id)
        if capture is None:
            raise BadDataError(
                f"no raw data for week {week} tier {tier}{' capture ' + params.capture_id if params.capture_id else ''}: run ingest_week first"
            )
        done = t.latest_capture(wh, t.WEEKLY_VOLUME, week, tier, capture["capture_id"])
        if done is not None and not params.force:
            ctx.log.info(f"capture {capture['capture_id']} is already normalized (force: true redoes it)")
            return StepResult(metrics={"skipped": True, "capture_id": capture["capture_id"]})
        rows = handoff.take(wh, capture["capture_id"])  # what this process's ingest just wrote (handoff.py)
        if rows is None:
            rows = wh.query_arrow(
                f"SELECT {', '.join(handoff.READ_COLUMNS)} FROM {t.RAW_WEEKLY.name} "
                "WHERE capture_id = ? AND week_start = ? AND tier = ?",
                [capture["capture_id"], week, tier],
            )
        raw = rows.to_pandas()
        kind = wh.scalar(
            f"SELECT source_kind FROM {t.CAPTURES.name} WHERE capture_id = ?", [capture["capture_id"]]
        )
        from ..rules import normalize  # pandas work: imported when a step runs, not when it is registered

        lines = _RawLines(wh, capture["capture_id"], week, tier)
        result = normalize(raw, week, tier, kind or "dir", raw_lines=lines)
        with wh.transaction():
            accepted = t.replace_capture_rows(
                wh, t.WEEKLY_VOLUME, result.accepted, week, tier, capture, ctx.batch_id
            )
            rejected = t.replace_capture_rows(
                wh, t.REJECTS, result.rejects, week, tier, capture, ctx.batch_id
            )
        reasons = result.rejects["reason_code"].value_counts().to_dict()
        return StepResult(
            rows_written={t.WEEKLY_VOLUME.name: accepted, t.REJECTS.name: rejected},
            metrics={
                "capture_id": capture["capture_id"],
                **result.counts,
                **{f"rejects_{k}": int(v) for k, v in reasons.items()},
            },
        )
