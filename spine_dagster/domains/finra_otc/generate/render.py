"""File rendering: typed rows as FINRA's text (``full`` and ``ats8`` layouts), and :class:`File`, one output
file being assembled: its clean rows, the rows defects insert, and the final line number of each.

Text rules: LF, a trailing newline, no quoting (the data never contains ``|``); shares with 6 decimals only
when fractional, notional with 2.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..calendar import TIER_DESCRIPTIONS
from ..layouts import ATS8_COLUMNS, FULL_COLUMNS, SUMMARY_TYPES
from .reference import CANONICAL, MICRO, STYPE, TIER_CODES
from .rows import Block

_DESCRIPTION = {code: TIER_DESCRIPTIONS[CANONICAL[code]] for code in TIER_CODES}


def fmt_micro(micro: np.ndarray) -> list[str]:
    """Micro-shares as printed: whole shares, or 6 decimals when there is a fraction."""
    whole, frac = np.divmod(micro, MICRO)
    out = whole.astype(str).astype(object)
    m = frac != 0
    if m.any():
        out[m] = np.char.add(np.char.add(whole[m].astype(str), "."), np.char.zfill(frac[m].astype(str), 6))
    return out.tolist()


def _fmt_cents(cents: np.ndarray) -> list[str]:
    """Cents as dollars with 2 decimals."""
    whole, frac = np.divmod(cents, 100)
    return np.char.add(np.char.add(whole.astype(str), "."), np.char.zfill(frac.astype(str), 2)).tolist()


def _fmt_dates(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days, unit="D").tolist()


def _description(tier: str) -> str:
    return "Not Applicable" if tier == "NA" else _DESCRIPTION[tier]


def full_text(block: Block, rows: np.ndarray | None = None) -> list[list[str]]:
    """The block's rows (all, or ``rows``) as the ``full`` layout's text columns, in FULL_COLUMNS order."""
    c = block.cols if rows is None else {k: v[rows] for k, v in block.cols.items()}
    n = len(c["stype"])
    week, pub = block.week.isoformat(), block.published.isoformat()
    text = {
        "issueSymbolIdentifier": c["symbol"].tolist(), "issueName": c["issue"].tolist(),
        "firmCRDNumber": c["crd"].tolist(), "MPID": c["mpid"].tolist(), "marketParticipantName": c["pname"].tolist(),
        "tierIdentifier": [block.tier] * n, "tierDescription": [_description(block.tier)] * n,
        "summaryStartDate": [week] * n, "totalWeeklyTradeCount": c["trades"].astype(str).tolist(),
        "totalWeeklyShareQuantity": fmt_micro(c["micro"]), "productTypeCode": c["product"].tolist(),
        "summaryTypeCode": np.array(SUMMARY_TYPES, dtype=object)[c["stype"]].tolist(), "weekStartDate": [week] * n,
        "lastUpdateDate": _fmt_dates(c["updated"]), "initialPublishedDate": [pub] * n,
        "lastReportedDate": _fmt_dates(c["reported"]), "totalNotionalSum": _fmt_cents(c["cents"]),
    }  # fmt: skip
    return [text[name] for name in FULL_COLUMNS]


def _ats8_rows(block: Block) -> np.ndarray:
    """The block rows an ats8 file keeps: its ``ATS_W_SMBL_FIRM`` rows."""
    return np.flatnonzero(block.cols["stype"] == STYPE["ATS_W_SMBL_FIRM"])


def _ats8_text(block: Block) -> list[list[str]]:
    """The block's ats8 rows as the ``ats8`` layout's text columns, in ATS8_COLUMNS order."""
    full = dict(zip(FULL_COLUMNS, full_text(block, _ats8_rows(block)), strict=True))
    return [full[name] for name in ATS8_COLUMNS]


def pub_stamp(day: dt.date) -> str:
    """A publication date as file names carry it (``YYYYMMDD``)."""
    return day.strftime("%Y%m%d")


@dataclass(eq=False)
class File:
    """One output file being assembled: blocks of clean rows plus rows inserted by defects."""

    name: str
    layout: str
    vintage: str  # "initial" or "restatement"
    published: dt.date
    blocks: list[Block]
    cols: list[list[str]] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # file row index of each block's first row
    row_maps: list[np.ndarray] = field(default_factory=list)  # block row index of each file row, per block
    inserts: list[tuple[int, int, str, str]] = field(default_factory=list)  # (after row, seq, line, stype)
    entries: list[dict[str, Any]] = field(default_factory=list)  # manifest entries waiting for line numbers

    def __post_init__(self) -> None:
        columns = FULL_COLUMNS if self.layout == "full" else ATS8_COLUMNS
        self.cols = [[] for _ in columns]
        pos = 0
        for block in self.blocks:
            rows = np.arange(len(block)) if self.layout == "full" else _ats8_rows(block)
            text = full_text(block) if self.layout == "full" else _ats8_text(block)
            for acc, col in zip(self.cols, text, strict=True):
                acc.extend(col)
            self.offsets.append(pos)
            self.row_maps.append(rows)
            pos += len(rows)

    @property
    def columns(self) -> tuple[str, ...]:
        """The file's header."""
        return FULL_COLUMNS if self.layout == "full" else ATS8_COLUMNS

    def position(self, block_index: int, block_row: int) -> int:
        """File row (0-based, header excluded, before insertions) of a block row kept in this file."""
        rows = self.row_maps[block_index]
        return self.offsets[block_index] + int(np.searchsorted(rows, block_row))

    def row(self, pos: int) -> dict[str, str]:
        """The text of an original row by column name (a copy: changing it does not change the file)."""
        return {name: col[pos] for name, col in zip(self.columns, self.cols, strict=True)}

    def line_of(self, pos: int) -> int:
        """Final 1-based line number of an original row (the header is line 1)."""
        return pos + 2 + sum(1 for after, _, _, _ in self.inserts if after < pos)

    def insert(self, after: int, values: dict[str, str], stype: str, entry: dict[str, Any]) -> None:
        """Insert a row after original row ``after``; ``entry`` (its manifest entry) gets its line on render."""
        line = "|".join(values[name] for name in self.columns)
        seq = len(self.inserts)
        self.inserts.append((after, seq, line, stype))
        entry["_insert"] = seq
        entry["row"] = line
        self.entries.append(entry)

    def render(self) -> tuple[bytes, int, dict[str, int]]:
        """(file bytes, data rows, rows per summary type); fills in the line numbers of the entries."""
        lines = ["|".join(self.columns), *map("|".join, zip(*self.cols, strict=True))]
        ordered = sorted(self.inserts, key=lambda x: (x[0], x[1]))
        final_line: dict[int, int] = {}
        for shift, (after, seq, _, _) in enumerate(ordered):
            final_line[seq] = after + 3 + shift
        for after, _, text, _ in reversed(ordered):
            lines.insert(after + 2, text)
        for entry in self.entries:
            if "_insert" not in entry:
                continue
            entry["line"] = final_line[entry.pop("_insert")]
            base = self.line_of(entry.pop("_base"))
            entry["change"] = entry["change"].replace("{base}", str(base))
            if entry.pop("_duplicate_of", None) is not None:
                entry["duplicate_of_line"] = base
        counts: dict[str, int] = {}
        for block, rows in zip(self.blocks, self.row_maps, strict=True):
            names, n = np.unique(block.cols["stype"][rows], return_counts=True)
            for st, c in zip(names.tolist(), n.tolist(), strict=True):
                counts[SUMMARY_TYPES[st]] = counts.get(SUMMARY_TYPES[st], 0) + c
        for _, _, _, stype in self.inserts:
            counts[stype] = counts.get(stype, 0) + 1
        data = ("\n".join(lines) + "\n").encode("utf-8")
        return data, len(lines) - 1, {st: counts[st] for st in SUMMARY_TYPES if st in counts}
