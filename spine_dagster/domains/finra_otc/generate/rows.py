"""Typed rows: the columns of one (week, tier) partition (:class:`Block`), and the exact integer sums the
summary rows are built from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from .reference import STYPE

_TEXT_FIELDS = ("symbol", "issue", "product", "crd", "mpid", "pname")
_INT_FIELDS = ("stype", "side", "slot", "part", "micro", "trades", "cents")
_DATE_FIELDS = ("reported", "updated")


@dataclass(eq=False)
class Block:
    """The rows of one (week, tier) partition (or the week's ``NA`` rows), in file order, typed.

    Quantities are fixed-point integers: ``micro`` = shares x 10^6, ``cents`` = notional x 100.
    ``side`` is 0 (ATS) or 1 (non-ATS); ``slot``/``part`` index the tier's symbols and participants (-1: none).
    """

    tier: str
    week: dt.date
    published: dt.date
    cols: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.cols["stype"])

    def copy(self) -> Block:
        """A deep copy (a restatement changes the copy, not the first vintage)."""
        return Block(self.tier, self.week, self.published, {k: v.copy() for k, v in self.cols.items()})

    @staticmethod
    def concat(tier: str, week: dt.date, published: dt.date, parts: list[dict[str, np.ndarray]]) -> Block:
        """One block of the row dicts ``parts`` (from :func:`make_rows`), in order."""
        keys = (*_TEXT_FIELDS, *_INT_FIELDS, *_DATE_FIELDS)
        return Block(tier, week, published, {k: np.concatenate([p[k] for p in parts]) for k in keys})


def make_rows(
    n: int, stype: str, side: int, *, slot: Any = -1, part: Any = -1, symbol: Any = "", issue: Any = "",
    product: Any = "", crd: Any = "", mpid: Any = "", pname: Any = "", micro: Any, trades: Any, cents: Any,
    reported: Any, updated: Any,
) -> dict[str, np.ndarray]:  # fmt: skip
    """``n`` rows of summary type ``stype`` as typed columns; scalars are repeated, arrays taken as they are."""

    def obj(v: Any) -> np.ndarray:
        return np.asarray(v, dtype=object) if np.ndim(v) else np.full(n, v, dtype=object)

    def i64(v: Any) -> np.ndarray:
        return np.asarray(v, dtype=np.int64) if np.ndim(v) else np.full(n, v, dtype=np.int64)

    def day(v: Any) -> np.ndarray:
        return np.asarray(v, dtype="datetime64[D]") if np.ndim(v) else np.full(n, v, dtype="datetime64[D]")

    return {
        "symbol": obj(symbol), "issue": obj(issue), "product": obj(product), "crd": obj(crd), "mpid": obj(mpid),
        "pname": obj(pname), "stype": i64(STYPE[stype]), "side": i64(side), "slot": i64(slot), "part": i64(part),
        "micro": i64(micro), "trades": i64(trades), "cents": i64(cents), "reported": day(reported),
        "updated": day(updated),
    }  # fmt: skip


def group_starts(keys: np.ndarray) -> np.ndarray:
    """Indexes where a run of equal ``keys`` starts."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.int64)


def aggregate(
    keys: np.ndarray, micro: np.ndarray, trades: np.ndarray, cents: np.ndarray, reported: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Exact integer sums (and the latest lastReportedDate) over runs of equal ``keys`` (already grouped)."""
    starts = group_starts(keys)
    if not len(starts):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, np.zeros(0, dtype="datetime64[D]")
    rep = np.maximum.reduceat(reported.astype(np.int64), starts).astype("datetime64[D]")
    return (
        keys[starts],
        np.add.reduceat(micro, starts),
        np.add.reduceat(trades, starts),
        np.add.reduceat(cents, starts),
        rep,
    )
