"""acme.prices.daily_close: one trading day of closing prices, from a CSV file into acme_prices.daily_close.

Everything spine-dagster reads without running a step is a class attribute (name, description, Params,
writes, table_descriptions, checks), and this module imports only light things: spine-dagster imports it
in every process that discovers pipelines (the CLI, the code location, each step). pandas is imported
inside ``run``.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from spine_dagster.errors import BadConfigError, BadDataError
from spine_dagster.pipelines import (
    CheckContext,
    CheckOutcome,
    Pipeline,
    PipelineParams,
    QualityCheck,
    StepContext,
    StepResult,
)
from spine_dagster.warehouse import Column, Table

if TYPE_CHECKING:
    from spine_dagster.warehouse import Warehouse

DAILY_CLOSE = Table(
    "acme_prices.daily_close",
    (
        Column("trade_date", "date"),
        Column("symbol", "text"),
        Column("close", "double"),
        Column("volume", "bigint"),
        Column("source_file", "text"),
        Column("batch_id", "text"),
    ),
    key=("trade_date", "symbol"),
    description="Closing price and volume per symbol and trading day, as the source file gives them.",
    index=("trade_date",),  # Postgres builds a b-tree on it: each step replaces one day
)
SOURCE_COLUMNS = ("trade_date", "symbol", "close", "volume")


def ensure_table(warehouse: Warehouse) -> None:
    """Create the schema and the table when missing (idempotent, and free after the first call)."""
    warehouse.ensure_tables([DAILY_CLOSE])


def sample_path() -> str:
    """The CSV shipped in this package: five symbols, 2026-01-05 to 2026-01-09 (illustrative numbers)."""
    return str(resources.files("acme_prices") / "data" / "daily_close.csv")


class DailyCloseParams(PipelineParams):
    trade_date: dt.date = Field(description="The trading day to load (YYYY-MM-DD).")
    source_path: str | None = Field(
        None,
        description="A CSV file with columns trade_date, symbol, close, volume "
        "(default: the sample shipped with the package).",
    )


def close_positive(ctx: CheckContext) -> CheckOutcome:
    """No NULL, zero or negative close: in the day a step wrote, or in the whole table when run alone."""
    warehouse: Warehouse = ctx.warehouse
    ensure_table(warehouse)  # run alone before the first load: an empty table, not a missing one
    if ctx.scope.whole_table:
        where, args = "1 = 1", []
    else:
        where, args = "trade_date = ?", [dt.date.fromisoformat(str(ctx.scope.params["trade_date"]))]
    bad = "close IS NULL OR close <= 0"
    counts = warehouse.query_df(
        f"SELECT COUNT(*) AS checked, SUM(CASE WHEN {bad} THEN 1 ELSE 0 END) AS bad "
        f"FROM {DAILY_CLOSE.name} WHERE {where}",
        args,
    )
    checked, failing = int(counts["checked"].iloc[0]), int(counts["bad"].fillna(0).iloc[0])
    examples = warehouse.query_df(
        f"SELECT trade_date, symbol, close FROM {DAILY_CLOSE.name} WHERE ({where}) AND ({bad}) "
        "ORDER BY trade_date, symbol LIMIT 10",
        args,
    )
    message = (
        f"{failing} of {checked} closes are not positive" if failing else f"{checked} closes, all positive"
    )
    metadata = {
        "rows_checked": checked,
        "bad_rows": failing,
        "examples": examples.astype(str).to_dict("records"),
    }
    return CheckOutcome(passed=failing == 0, message=message, metadata=metadata)


CLOSE_POSITIVE = QualityCheck(
    name="close_positive",
    table=DAILY_CLOSE.name,
    description="Every close is a positive number (no NULL, zero or negative price) in the day the step loaded; "
    "run alone: in the whole table.",
    evaluate=close_positive,
    severity="error",
    blocking=True,  # a bad price fails the step (not retried): downstream steps never see it
)


class DailyClose(Pipeline):
    name = "acme.prices.daily_close"
    description = "Load one trading day of closing prices from a CSV file into acme_prices.daily_close."
    Params = DailyCloseParams
    writes = (DAILY_CLOSE.name,)
    table_descriptions = {DAILY_CLOSE.name: DAILY_CLOSE.description}
    checks = (CLOSE_POSITIVE,)

    def run(self, ctx: StepContext, params: DailyCloseParams) -> StepResult:
        """Replace the day's rows (delete + insert in one transaction: a re-run never duplicates)."""
        import pandas as pd  # heavy: imported when a step runs, not when the plugin is discovered

        path = Path(params.source_path or sample_path())
        if not path.is_file():
            raise BadConfigError(f"source_path {path} does not exist")  # not retried: fix the params
        frame = pd.read_csv(path, dtype={"trade_date": "string", "symbol": "string"})
        missing = [c for c in SOURCE_COLUMNS if c not in frame.columns]
        if missing:
            raise BadDataError(f"{path} lacks the column(s) {', '.join(missing)}")
        day = frame[frame["trade_date"] == params.trade_date.isoformat()].assign(
            trade_date=params.trade_date, source_file=str(path), batch_id=ctx.batch_id
        )
        if day.empty:
            raise BadDataError(f"no closes for {params.trade_date} in {path}")

        warehouse: Warehouse = ctx.warehouse
        ensure_table(warehouse)
        with warehouse.transaction():
            warehouse.execute(f"DELETE FROM {DAILY_CLOSE.name} WHERE trade_date = ?", [params.trade_date])
            rows = warehouse.insert_df(DAILY_CLOSE, day)
        ctx.log.info("loaded %d closes for %s from %s", rows, params.trade_date, path)
        return StepResult(
            rows_written={DAILY_CLOSE.name: rows},
            metrics={"trade_date": params.trade_date.isoformat(), "source_file": str(path)},
        )
