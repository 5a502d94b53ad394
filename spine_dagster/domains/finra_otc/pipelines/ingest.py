"""finra.otc_transparency.ingest_week: source files or the FINRA API -> finra_otc.raw_weekly (a new capture)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ....errors import BadConfigError, BadDataError
from ....pipelines.base import Pipeline, StepResult
from ....pipelines.context import StepContext
from .. import handoff
from .. import tables as t
from ..calendar import ISO_DATE, TIER_IDS, week_ending_of
from ..checks import RAW_NOT_EMPTY
from ..layouts import RAW_COLUMNS, SOURCE_FIELDS
from ..params import IngestParams, default_source_dir

if TYPE_CHECKING:  # pandas and the readers load when a step runs, not when the pipeline is registered
    import pandas as pd
    import pyarrow as pa

    from ....warehouse import Warehouse
    from ..sources import SourceFile


def _capture_id(tier: str, week_start: dt.date, captured_at: dt.datetime) -> str:
    """``finra_otc:<weekStartDate>|<tier>:<UTC time>``: the middle is the week's partition key in the shipped
    group (FINRA's own partition order, weekStartDate then tier), e.g. ``finra_otc:2025-11-17|NMS_TIER_1:...``."""
    return f"finra_otc:{week_start}|{tier}:{captured_at:%Y%m%dT%H%M%S%fZ}"


def _from_api(params: IngestParams) -> tuple[list[SourceFile], str]:
    import pandas as pd

    from ..client import DEFAULT_BASE_URL, FinraOtcClient
    from ..sources import SourceFile

    # FINRA_API_BASE_URL points at another server (a proxy, or a local one in tests); the token, when the
    # data set needs one, comes from the environment and is never logged.
    client = FinraOtcClient(
        base_url=os.environ.get("FINRA_API_BASE_URL") or DEFAULT_BASE_URL,
        token=os.environ.get("FINRA_API_TOKEN") or None,
    )
    records = client.fetch_week(params.monday, params.tier)
    fields = SOURCE_FIELDS["full"]
    frame = pd.DataFrame(
        {f"src_{c}": [r.get(fields[c], "") if c in fields else "" for r in records] for c in RAW_COLUMNS},
        dtype=object,
    )
    frame["raw"] = [json.dumps(r, sort_keys=True) for r in records]
    frame["row_number"] = range(1, len(records) + 1)
    frame["source_file"] = (
        f"api:otcMarket/weeklySummary?weekStartDate={params.monday}&tierIdentifier={TIER_IDS[params.tier]}"
    )
    frame["source_layout"] = "full"
    digest = hashlib.sha256("\n".join(frame["raw"]).encode()).hexdigest()
    return [
        SourceFile(Path(frame["source_file"].iloc[0] if len(frame) else "api"), "full", frame, digest)
    ], "api"


def _from_files(params: IngestParams, ctx: StepContext) -> tuple[list[SourceFile], str, list[str]]:
    from ..sources import partitions_in, read_source_file, source_files

    if params.source_path:
        path = Path(params.source_path)
        if not path.is_file():
            raise BadConfigError(f"source_path {path} does not exist")
        return [read_source_file(path, params.tier)], "path", []
    directory = Path(params.source_dir or default_source_dir())
    if not directory.is_dir():
        raise BadConfigError(f"source_dir {directory} does not exist (set source_dir or source_path)")
    files, skipped = [], []
    wanted = (params.monday, params.tier)
    for path in source_files(directory):
        try:
            if wanted not in partitions_in(path):
                continue  # no row of this (week, tier): parsed in full only by the captures it feeds
            files.append(read_source_file(path, params.tier))
        except BadDataError as exc:  # one unreadable file does not stop the others; it is reported
            skipped.append(str(exc))
            ctx.log.warning(f"skipped {exc}")
    return files, "dir", skipped


_LAYOUT_PREFERENCE = {"full": 0, "ats8": 1, "spine": 2}


def _vintage(rows: pd.DataFrame) -> str:
    """A file's vintage for the partition: its newest ``lastUpdateDate`` (ISO text compares in date order)."""
    dates = rows["src_last_update_date"]
    dates = dates[dates.str.match(ISO_DATE, na=False)]
    return str(dates.max()) if len(dates) else ""


def _newest_vintage(candidates: list[Any]) -> tuple[list[Any], list[str]]:
    """The files of a directory that make up a partition's capture: those of the newest vintage, in one
    layout (FINRA's full record first, then the 8-column export, then spine-core's). Older vintages (a
    week FINRA republished) and the same rows in another layout are superseded, not mixed in: mixing would
    count every row twice."""
    if not candidates:
        return [], []
    best = max(c[2] for c in candidates)
    layout = min((c[0].layout for c in candidates if c[2] == best), key=_LAYOUT_PREFERENCE.__getitem__)
    chosen = [c for c in candidates if c[2] == best and c[0].layout == layout]
    superseded = [str(c[0].path) for c in candidates if all(c is not kept for kept in chosen)]
    return chosen, superseded


@dataclass
class _Selection:
    """What a capture takes from the files read: the rows of each file used, and what it left out."""

    rows: list[pd.DataFrame] = field(default_factory=list)
    used: list[SourceFile] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    other_tier_rows: int = 0


def _select(files: list[SourceFile], kind: str, week: dt.date, tier: str) -> _Selection:
    """The rows of the (week, tier) capture: from a directory (``dir``) only the files that hold rows of
    the partition, of its newest vintage; every file otherwise. Rows of other tiers are left out (and
    counted); rows of no recognisable tier stay, for normalize to reject."""
    from ..sources import route

    candidates = []
    for source in files:
        rows = route(source)
        ours = (rows["route_week"] == week) & (rows["route_tier"] == tier)
        if kind == "dir" and not ours.any():
            continue  # a file of other weeks or tiers: it belongs to other captures
        candidates.append((source, rows, _vintage(rows[ours])))
    selection = _Selection()
    if kind == "dir":
        candidates, selection.superseded = _newest_vintage(candidates)
    for source, rows, _ in candidates:
        keep = rows["route_tier"].isna() | (rows["route_tier"] == tier)
        selection.other_tier_rows += source.rows_elsewhere + int((~keep).sum())
        selection.rows.append(rows if keep.all() else rows[keep])
        selection.used.append(source)
    return selection


def _source_metrics(kind: str, files_read: int, skipped: list[str], selection: _Selection) -> dict[str, Any]:
    """The step's metrics about its sources (long lists cut to 2,000 characters)."""
    metrics: dict[str, Any] = {
        "source": kind,
        "files_read": files_read,
        "files_used": len(selection.used),
        "files_skipped": len(skipped),
        "rows_other_tiers": selection.other_tier_rows,
    }
    if selection.superseded:
        metrics["files_superseded"] = ", ".join(selection.superseded)[:2000]
    if skipped:
        metrics["skipped"] = "; ".join(skipped)[:2000]
    return metrics


def _capture_table(selected: list[pd.DataFrame], constants: dict[str, Any]) -> pa.Table:
    """The capture's raw rows as one Arrow table: the selected rows, the capture's columns, and each row's
    ``content_hash`` (the first 16 hex digits of the MD5 of its source line, as ``left(md5(raw), 16)``
    computes it in DuckDB and Postgres)."""
    import duckdb
    import pyarrow as pa

    tables = [pa.Table.from_pandas(rows, preserve_index=False) for rows in selected]
    raw = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    for name, value in constants.items():
        raw = raw.append_column(name, pa.repeat(value, raw.num_rows))
    with duckdb.connect() as con:
        con.register("lines", pa.table({"raw": raw["raw"]}))
        hashes = con.sql("SELECT left(md5(raw), 16) AS h FROM lines").to_arrow_table()["h"]
    return raw.append_column("content_hash", hashes)


def _capture_of_content(wh: Warehouse, week: dt.date, tier: str, digest: str) -> str | None:
    """The newest capture of (week, tier) when its content hash is ``digest`` (nothing changed), else None."""
    previous = wh.query_df(
        f"SELECT capture_id, content_hash FROM {t.CAPTURES.name} WHERE week_start = ? AND tier = ? "
        "ORDER BY captured_at DESC LIMIT 1",
        [week, tier],
    )
    if len(previous) and previous["content_hash"].iloc[0] == digest:
        return previous["capture_id"].iloc[0]
    return None


def _write_capture(
    ctx: StepContext, selection: _Selection, kind: str, digest: str, week: dt.date, tier: str
) -> tuple[str, pa.Table, int]:
    """Record a new capture and write its raw rows, in one transaction; returns its id, the raw table and
    the rows written."""
    import pandas as pd

    wh = ctx.warehouse
    captured_at = dt.datetime.now(dt.UTC)
    capture_id = _capture_id(tier, week, captured_at)
    raw = _capture_table(
        selection.rows,
        {"capture_id": capture_id, "captured_at": captured_at, "week_start": week,
         "week_ending": week_ending_of(week), "tier": tier},
    )  # fmt: skip
    capture = {"capture_id": capture_id, "captured_at": captured_at}
    sources = ", ".join(str(s.path) for s in selection.used)
    registry_row = pd.DataFrame(
        [
            {
                **capture,
                "week_start": week,
                "week_ending": week_ending_of(week),
                "tier": tier,
                "content_hash": digest,
                "source_kind": kind,
                "source": sources[:4000],
                "raw_rows": raw.num_rows,
                "batch_id": ctx.batch_id,
            }
        ]
    )
    with wh.transaction():
        wh.insert_df(t.CAPTURES, registry_row)
        written = t.replace_capture_rows(wh, t.RAW_WEEKLY, raw, week, tier, capture, ctx.batch_id)
    return capture_id, raw, written


class IngestWeek(Pipeline):
    name = "finra.otc_transparency.ingest_week"
    description = "Capture one (week, tier) from FINRA files or the FINRA API into finra_otc.raw_weekly."
    Params = IngestParams
    writes = (t.RAW_WEEKLY.name,)
    table_descriptions = t.descriptions(t.RAW_WEEKLY)
    checks = (RAW_NOT_EMPTY,)

    def run(self, ctx: StepContext, params: IngestParams) -> StepResult:
        """Read the sources, select the partition's rows and write them as a new capture, unless the newest
        capture has the same content (``force`` writes one anyway)."""
        import pyarrow.compute as pc

        from ..sources import content_hash

        t.ensure_tables(ctx.warehouse)
        week, tier = params.monday, params.tier
        skipped: list[str] = []
        if params.source == "api":
            files, kind = _from_api(params)
        else:
            files, kind, skipped = _from_files(params, ctx)
        selection = _select(files, kind, week, tier)
        metrics = _source_metrics(kind, len(files), skipped, selection)
        if not selection.used:
            ctx.log.warning(f"no source rows for week {week} tier {tier}")
            return StepResult(rows_written={t.RAW_WEEKLY.name: 0}, metrics={**metrics, "rows_captured": 0})

        digest = content_hash(selection.used)
        unchanged = _capture_of_content(ctx.warehouse, week, tier, digest)
        if not params.force and unchanged is not None:
            ctx.log.info(
                f"identical content already captured as {unchanged}: nothing to do (force: true re-ingests)"
            )
            return StepResult(
                rows_written={},
                metrics={**metrics, "skipped": True, "capture_id": unchanged, "content_hash": digest},
            )

        capture_id, raw, written = _write_capture(ctx, selection, kind, digest, week, tier)
        handoff.keep(ctx.warehouse, capture_id, raw)  # committed: a normalize in this process takes it
        layouts = sorted(pc.unique(raw["source_layout"]).to_pylist())
        return StepResult(
            rows_written={t.RAW_WEEKLY.name: written},
            metrics={**metrics, "capture_id": capture_id, "content_hash": digest, "rows_captured": written,
                     "layouts": ",".join(layouts)},
        )  # fmt: skip
