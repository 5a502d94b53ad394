"""Read source files (any of the three layouts) into raw text rows, and route each row to its (week, tier).

Nothing is interpreted beyond what routing needs: every field stays text for the raw table, and a row
that cannot be parsed keeps its original line so normalize can reject it with the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...errors import BadDataError
from .calendar import ISO_DATE, TIERS, tier_or_other, week_from_publication, week_start_of
from .layouts import RAW_COLUMNS, SOURCE_FIELDS, detect_layout

if TYPE_CHECKING:
    import pyarrow as pa

SOURCE_SUFFIXES = (".psv", ".csv", ".txt")
_DATE_IN_NAME = re.compile(r"(?<![0-9])(\d{4})-?(\d{2})-?(\d{2})(?![0-9])")


@dataclass
class SourceFile:
    """One parsed file: its layout and a frame of raw text rows (``src_*`` columns, ``raw``, ``row_number``).

    ``rows_elsewhere`` counts the rows left out because they belong to another tier (a file read for one
    tier's capture keeps only that tier's rows and rows of no recognisable tier, which normalize rejects).
    """

    path: Path
    layout: str
    rows: pd.DataFrame
    content_hash: str
    rows_elsewhere: int = 0


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
    if not re.fullmatch(ISO_DATE, text or ""):
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
    records = list(csv.reader(body, delimiter=delimiter))
    bad = [len(record) != width for record in records]
    table = pd.DataFrame(
        [r if len(r) == width else [""] * width for r in records], columns=header, dtype="str"
    )
    return table, bad


def _tier_mask(tier_id: pa.Array, tier_description: pa.Array, tier: str) -> pa.Array:
    """Rows a capture of ``tier`` takes: that tier's rows and rows of no recognisable tier."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.if_else(pc.not_equal(pc.utf8_trim_whitespace(tier_id), ""), tier_id, tier_description)
    unique = pc.unique(text)
    tiers = pa.array([tier_or_other(str(v).strip()) for v in unique.to_pylist()], pa.string())
    row_tier = tiers.take(pc.index_in(text, unique))
    return pc.or_kleene(pc.is_null(row_tier), pc.equal(row_tier, tier)).fill_null(True)


def _read_simple_pipe(
    body: bytes, header: list[str], fields: dict[str, str], tier: str | None
) -> tuple[pa.Table, int] | None:
    """The rows of an unquoted pipe file whose every line has the header's width, parsed in bulk by
    Arrow in one pass (FINRA's own files are like that), cut to ``tier``'s rows first when it is given;
    with the number of rows read.
    None when the file is anything else (quotes, blank lines, a line of the wrong width, bytes that are
    not UTF-8, odd line ends): the general reader then handles it line by line."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pa_csv

    if b'"' in body or not body.strip() or b"\n\n" in body or b"\n\r\n" in body or body[:1] in b"\r\n":
        return None  # a blank line would shift Arrow's row numbers off the file's line numbers
    if body.count(b"\r") not in (0, body.count(b"\r\n")):
        return None
    expected = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    names = [f"c{i}" for i in range(len(header))]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(body),
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(delimiter="|", quote_char=False, double_quote=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a line of another width, bytes that are not UTF-8
        return None
    if table.num_rows != expected:
        return None
    table = table.append_column("row_number", pa.array(np.arange(2, expected + 2, dtype="int64")))
    position = {name: i for i, name in enumerate(header)}
    if tier is not None:
        tier_description = table.column(position[fields["tier_description"]])
        tier_id = table.column(position[fields["tier_id"]]) if "tier_id" in fields else tier_description
        table = table.filter(_tier_mask(tier_id, tier_description, tier))
    empty = pa.repeat("", table.num_rows)
    columns = {
        f"src_{c}": (pc.utf8_trim_whitespace(table.column(position[fields[c]])) if c in fields else empty)
        for c in RAW_COLUMNS
    }
    # Every line has exactly the header's fields and no quotes: the line is its fields joined by "|".
    columns["raw"] = pc.binary_join_element_wise(*(table.column(n) for n in names), "|")
    columns["row_number"] = table.column("row_number")
    columns["bad_width"] = pa.repeat(False, table.num_rows)
    return pa.table(columns), expected


def _read_general(lines: list[str], header: list[str], delimiter: str, fields: dict[str, str]) -> pa.Table:
    import pyarrow as pa

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
    return pa.Table.from_pandas(frame, preserve_index=False)


def _parse(path: Path, content: bytes, tier: str | None) -> tuple[pa.Table, str, int]:
    """Parse a file's bytes by its header: its raw text rows (cut to ``tier``'s when given), its layout and
    the number of rows read; raise :class:`BadDataError` when the header matches no layout."""
    data = content[3:] if content.startswith(b"\xef\xbb\xbf") else content
    first, _, body = data.partition(b"\n")
    first_line = first.decode("utf-8", errors="replace").rstrip("\r")
    if not first_line.strip() and not body.strip():
        raise BadDataError(f"{path}: empty file (no header)")
    delimiter = "|" if first_line.count("|") >= first_line.count(",") else ","
    header = [h.strip() for h in next(csv.reader([first_line], delimiter=delimiter))]
    layout = detect_layout(header)
    if layout is None:
        raise BadDataError(
            f"{path}: unknown layout; header {header[:8]!r}... matches none of: FINRA weeklySummary records, "
            "FINRA's 8-column ATS export, spine-core's WeekEnding|Tier|Symbol|MPID|TotalShares|TotalTrades"
        )
    fields = SOURCE_FIELDS[layout]
    simple = _read_simple_pipe(body, header, fields, tier) if delimiter == "|" else None
    if simple is not None:
        rows, read = simple
    else:
        rows = _read_general(data.decode("utf-8", errors="replace").splitlines(), header, delimiter, fields)
        read = len(rows)
        if tier is not None:
            rows = _cut_tier(rows, tier)
    return rows, layout, read


def _cut_tier(rows: pa.Table, tier: str) -> pa.Table:
    """The rows of a parse a capture of ``tier`` takes (from the trimmed ``src_`` tier columns)."""
    return rows.filter(_tier_mask(rows["src_tier_id"], rows["src_tier_description"], tier))


def read_source_file(path: Path, tier: str | None = None, *, use_cache: bool = True) -> SourceFile:
    """Parse a file by its header; raise :class:`BadDataError` when the header matches no layout.

    With ``tier``, keep only the rows a capture of that tier takes (see :class:`SourceFile`). The parse of
    the whole file is shared through :mod:`.parse_cache` (keyed by the SHA-256 of its bytes), so the
    captures of a week's all-tier file parse it once; ``use_cache=False`` (or the cache disabled) parses
    here, cut to the tier first. Both give the same rows.
    """
    import pyarrow as pa

    from . import parse_cache

    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if use_cache and parse_cache.enabled():
        parsed = parse_cache.load(digest)
        if parsed is None:
            parsed = parse_cache.Parsed(*_parse(path, content, None))
            parse_cache.store(digest, parsed)
        layout, read = parsed.layout, parsed.rows_read
        rows = parsed.rows if tier is None else _cut_tier(parsed.rows, tier)
    else:
        rows, layout, read = _parse(path, content, tier)
    elsewhere = read - len(rows)
    rows = rows.append_column("source_file", pa.repeat(str(path), len(rows)))
    rows = rows.append_column("source_layout", pa.repeat(layout, len(rows)))
    return SourceFile(path, layout, rows.to_pandas(), digest, elsewhere)


def route(source: SourceFile) -> pd.DataFrame:
    """Add ``route_week`` (Monday, or NaT) and ``route_tier`` (a tier, ``other`` for market-wide rows, or
    None when unknown) to the file's rows."""
    rows = source.rows
    rows["route_tier"] = row_tiers(rows)
    rows["route_week"] = row_weeks(rows, source.layout, source.path.name, rows["route_tier"])
    return rows


def row_tier_texts(rows: pd.DataFrame) -> pd.Series:
    """Each row's tier as written: its tierIdentifier, or its tierDescription where that is empty."""
    return rows["src_tier_id"].where(rows["src_tier_id"] != "", rows["src_tier_description"])


def row_tiers(rows: pd.DataFrame) -> pd.Series:
    """Each row's tier: a canonical tier, ``other`` for market-wide (NA) rows, or None when unknown."""
    tier_text = row_tier_texts(rows)
    return tier_text.map({value: tier_or_other(value) for value in tier_text.unique()})


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

    Cached by path, size and modification time: per process, and on disk next to the parse cache
    (:func:`.parse_cache.load_partitions`), so a directory ingest parses in full only the files of its
    partition, and a step in a fresh process (multiprocess executor, Celery worker) does not scan every
    file of a year's directory again (raises :class:`BadDataError` for a file no layout matches).
    """
    stat = path.stat()
    return _partitions_in(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _partitions_in(path_text: str, size: int, mtime_ns: int) -> frozenset[tuple[dt.date | None, str | None]]:
    from . import parse_cache

    key = f"{path_text}|{size}|{mtime_ns}"
    stored = parse_cache.load_partitions(key) if parse_cache.enabled() else None
    if stored is not None:
        return frozenset((None if w is None else dt.date.fromisoformat(w), t) for w, t in stored)
    source = _scan_routing(Path(path_text))
    rows = route(source)
    found = frozenset(zip(rows["route_week"], rows["route_tier"], strict=True))
    if parse_cache.enabled():
        parse_cache.store_partitions(
            key, [(None if w is None or pd.isna(w) else w.isoformat()[:10], t) for w, t in found]
        )
    return found


def _scan_routing(path: Path) -> SourceFile:
    """The distinct combinations of the columns routing needs (Arrow, pipe files); anything unusual falls
    back to a full read."""
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
    # A row's (week, tier) depends on these fields only: route each distinct combination once.
    data = table.group_by(list(wanted)).aggregate([]).to_pandas()
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
