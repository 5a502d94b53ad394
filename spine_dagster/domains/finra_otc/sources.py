"""Read source files (any of the three layouts) into raw text rows, and route each row to its (week, tier).

Nothing is interpreted beyond what routing needs: every field stays text for the raw table, and a row
that cannot be parsed keeps its original line so normalize can reject it with the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import BadDataError
from .calendar import TIERS, parse_tier, week_from_publication, week_start_of
from .layouts import RAW_COLUMNS, SOURCE_FIELDS, detect_layout

SOURCE_SUFFIXES = (".psv", ".csv", ".txt")
_DATE_IN_NAME = re.compile(r"(?<![0-9])(\d{4})-?(\d{2})-?(\d{2})(?![0-9])")
_NOT_A_TIER = {"na", "notapplicable"}  # market-wide *_VOL_STATS rows carry tier NA


@dataclass
class SourceFile:
    """One parsed file: its layout and a frame of raw text rows (``src_*`` columns, ``raw``, ``row_number``)."""

    path: Path
    layout: str
    rows: pd.DataFrame
    content_hash: str


def _week_from_name(name: str) -> dt.date | None:
    """The first date in a file name that is not a publication date (``..._2025-11-10_pub20251215.psv``)."""
    for match in _DATE_IN_NAME.finditer(name):
        if name[max(0, match.start() - 3) : match.start()].lower() == "pub":
            continue
        try:
            return week_start_of(dt.date(int(match[1]), int(match[2]), int(match[3])))
        except ValueError:
            continue
    return None


def _date_of(text: str) -> dt.date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or ""):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _monday_of(text: str) -> dt.date | None:
    day = _date_of(text)
    return None if day is None else week_start_of(day)


def _parse_rows(body: list[str], header: list[str], delimiter: str) -> tuple[pd.DataFrame, list[bool]]:
    """The fields of each line as text; a line with the wrong number of fields becomes empty fields (it
    keeps its raw line, and normalize rejects it as PARSE_ERROR)."""
    width = len(header)
    if (
        delimiter == "|"
        and not any('"' in line for line in body[:1000])
        and not any('"' in line for line in body)
    ):
        # FINRA's pipe files are never quoted: parse in bulk with Arrow's reader, checking the width first.
        import pyarrow as pa
        from pyarrow import csv as pa_csv

        bad = [line.count("|") != width - 1 for line in body]
        good = [line for line, is_bad in zip(body, bad, strict=True) if not is_bad]
        if good:
            arrow = pa_csv.read_csv(
                io.BytesIO("\n".join(good).encode()),
                read_options=pa_csv.ReadOptions(column_names=[f"c{i}" for i in range(width)]),
                parse_options=pa_csv.ParseOptions(delimiter="|", quote_char=False),
                convert_options=pa_csv.ConvertOptions(
                    column_types={f"c{i}": pa.string() for i in range(width)}
                ),
            )
            parsed = arrow.to_pandas()
            parsed.columns = header
        else:
            parsed = pd.DataFrame(columns=header, dtype="str")
        if any(bad):
            blank = pd.DataFrame([[""] * width] * sum(bad), columns=header, dtype="str")
            positions = [i for i, is_bad in enumerate(bad) if is_bad]
            keep = [i for i, is_bad in enumerate(bad) if not is_bad]
            parsed.index = keep
            blank.index = positions
            parsed = pd.concat([parsed, blank]).sort_index()
        return parsed.reset_index(drop=True), bad
    records = list(csv.reader(body, delimiter=delimiter))
    bad = [len(record) != width for record in records]
    table = pd.DataFrame(
        [r if len(r) == width else [""] * width for r in records], columns=header, dtype="str"
    )
    return table, bad


def read_source_file(path: Path) -> SourceFile:
    """Parse a file by its header; raise :class:`BadDataError` when the header matches no layout."""
    data = path.read_bytes()
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if not lines:
        raise BadDataError(f"{path}: empty file (no header)")
    delimiter = "|" if lines[0].count("|") >= lines[0].count(",") else ","
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    header = [h.strip() for h in header]
    layout = detect_layout(header)
    if layout is None:
        raise BadDataError(
            f"{path}: unknown layout; header {header[:8]!r}... matches none of: FINRA weeklySummary records, "
            "FINRA's 8-column ATS export, spine-core's WeekEnding|Tier|Symbol|MPID|TotalShares|TotalTrades"
        )
    fields = SOURCE_FIELDS[layout]
    numbers = [i + 2 for i, line in enumerate(lines[1:]) if line.strip()]
    body = [line for line in lines[1:] if line.strip()]
    table, bad_width = _parse_rows(body, header, delimiter)
    frame = pd.DataFrame(
        {
            f"src_{column}": (table[fields[column]].str.strip() if column in fields else "")
            for column in RAW_COLUMNS
        },
        index=table.index,
    )
    frame["raw"] = body
    frame["row_number"] = np.asarray(numbers, dtype="int64")
    frame["bad_width"] = bad_width
    frame["source_file"] = str(path)
    frame["source_layout"] = layout
    return SourceFile(path, layout, frame, hashlib.sha256(data).hexdigest())


def route(source: SourceFile) -> pd.DataFrame:
    """Add ``route_week`` (Monday, or NaT) and ``route_tier`` (a tier, ``other`` for market-wide rows, or
    None when unknown) to the file's rows."""
    rows = source.rows
    rows["route_tier"] = row_tiers(rows)
    rows["route_week"] = row_weeks(rows, source.layout, source.path.name, rows["route_tier"])
    return rows


def row_tiers(rows: pd.DataFrame) -> pd.Series:
    """Each row's tier: a canonical tier, ``other`` for market-wide (NA) rows, or None when unknown."""
    tier_text = rows["src_tier_id"].where(rows["src_tier_id"] != "", rows["src_tier_description"])
    names = {}
    for value in tier_text.unique():
        squashed = re.sub(r"[\s_\-]", "", str(value)).lower()
        names[value] = "other" if squashed in _NOT_A_TIER else parse_tier(value)
    return tier_text.map(names)


def row_weeks(rows: pd.DataFrame, layout: str, file_name: str, tiers: pd.Series) -> pd.Series:
    """Each row's week (its Monday), or None: from weekStartDate (full), WeekEnding (spine), or for the
    8-column export the week in the file name, else the publication-date rule applied to lastUpdateDate."""
    if layout in ("full", "spine"):
        column = "src_week_start" if layout == "full" else "src_week_ending"
        days = {v: _monday_of(v) for v in rows[column].unique()}
        return rows[column].map(days)
    named = _week_from_name(file_name)
    if named is not None:
        return pd.Series([named] * len(rows), index=rows.index, dtype=object)
    published = rows["src_last_update_date"].map(
        {v: _date_of(v) for v in rows["src_last_update_date"].unique()}
    )
    return pd.Series(
        [
            week_from_publication(p, t) if isinstance(p, dt.date) and t in TIERS else None
            for p, t in zip(published, tiers, strict=True)
        ],
        index=rows.index,
        dtype=object,
    )


_ROUTING_FIELDS = {"full": ("tierIdentifier", "tierDescription", "weekStartDate"),
                   "ats8": ("tierDescription", "lastUpdateDate"), "spine": ("Tier", "WeekEnding")}  # fmt: skip


def partitions_in(path: Path) -> frozenset[tuple[dt.date | None, str | None]]:
    """The (week, tier) pairs a file holds rows of, from a scan of the routing columns only.

    Cached per process by path, size and modification time, so a directory ingest parses in full only
    the files of its partition (raises :class:`BadDataError` for a file no layout matches).
    """
    stat = path.stat()
    return _partitions_in(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _partitions_in(path_text: str, size: int, mtime_ns: int) -> frozenset[tuple[dt.date | None, str | None]]:
    path = Path(path_text)
    source = _scan_routing(path)
    rows = route(source)
    return frozenset(zip(rows["route_week"], rows["route_tier"], strict=True))


def _scan_routing(path: Path) -> SourceFile:
    """Only the columns routing needs (Arrow, pipe files); anything unusual falls back to a full read."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    header = [h.strip() for h in first.split("|")]
    layout = detect_layout(header) if "|" in first else None
    if layout is None:
        return read_source_file(path)
    wanted = _ROUTING_FIELDS[layout]
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pa_csv.ParseOptions(
                delimiter="|", quote_char=False, invalid_row_handler=lambda row: "skip"
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=list(wanted), column_types={c: pa.string() for c in wanted}
            ),
        )
    except (pa.ArrowInvalid, OSError, ValueError):
        return read_source_file(path)
    data = table.to_pandas()
    fields = SOURCE_FIELDS[layout]
    frame = pd.DataFrame(
        {f"src_{c}": (data[fields[c]].str.strip() if fields.get(c) in wanted else "") for c in RAW_COLUMNS},
        index=data.index,
    )
    return SourceFile(path, layout, frame, "")


def source_files(directory: Path) -> list[Path]:
    """The data files of a source directory (sorted; hidden files and README/manifest ignored)."""
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES and not p.name.startswith(".")
    )


def content_hash(files: list[SourceFile]) -> str:
    """Hash of the selected content, independent of file names and order."""
    digest = hashlib.sha256()
    for item in sorted(f.content_hash for f in files):
        digest.update(item.encode())
    return digest.hexdigest()
