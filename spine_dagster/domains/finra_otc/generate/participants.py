"""The participants of each side as arrays: ATS venues (NMS or OTCE) and non-ATS firms, with synthetic CRDs.

Built from the tables of :mod:`.reference` on first use and cached (``functools.cache``), so importing this
module does no work.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .reference import (
    DE_MINIMIS,
    FIRMS,
    KNOWN_CRDS,
    N_SMALL_FIRMS,
    NMS_ATS,
    OTCE_ATS,
    SMALL_FIRM_FORMS,
    SMALL_FIRM_WORDS,
)


@dataclass(frozen=True, eq=False)
class Parts:
    """The participants of one side (ATS venues or non-ATS firms): printed fields and model parameters."""

    side: str  # "ATS" or "OTC"
    code: tuple[str, ...]  # MPID (ATS) or firm name (OTC): the stable key used internally
    mpid: np.ndarray  # object: MPID, "" on non-ATS rows
    name: np.ndarray  # object: marketParticipantName as printed
    crd: np.ndarray  # object: firmCRDNumber as printed
    trade_size: np.ndarray  # float: average trade size (shares)
    retail: np.ndarray  # bool: fractional-share rows possible
    name_rank: np.ndarray  # int: rank of the printed name (rows sort by it)
    weight: np.ndarray  # float: prior share (sums to 1 over the selectable participants)
    selectable: np.ndarray  # bool: can be drawn by the venue/firm split (False for De Minimis)

    def index(self, code: str) -> int:
        """Position of the participant ``code`` (MPID or firm name)."""
        return self.code.index(code)


def _crd_candidate(name: str) -> int:
    # Derived from the name rather than a counter, so adding a firm rarely changes the other firms' CRDs.
    return 1000 + zlib.crc32(name.encode()) % 320_000


@functools.cache
def _crds() -> dict[str, str]:
    """One synthetic CRD per member firm (ATS operators and non-ATS firms share them), deterministic."""
    names = sorted(
        {op for _, _, op, _, _ in NMS_ATS + OTCE_ATS} | {f[0] for f in FIRMS} | set(_small_firm_names())
    )
    used = {int(v) for v in KNOWN_CRDS.values()}
    out = dict(KNOWN_CRDS)
    for name in names:
        if name in out:
            continue
        crd = _crd_candidate(name)
        while crd in used:
            crd += 1
        used.add(crd)
        out[name] = str(crd)
    return out


@functools.cache
def _small_firm_names() -> tuple[str, ...]:
    """The ~50 small non-ATS firms' names: FINRA-style combinations of a word and a legal form."""
    names = []
    for i in range(N_SMALL_FIRMS):
        word = SMALL_FIRM_WORDS[i % len(SMALL_FIRM_WORDS)]
        form = SMALL_FIRM_FORMS[(i * 7 + i // len(SMALL_FIRM_WORDS)) % len(SMALL_FIRM_FORMS)]
        names.append(f"{word} {form}")
    return tuple(names)


def _name_rank(names: Sequence[str]) -> np.ndarray:
    """Rank of each name in sorted order (file rows sort by the printed participant name)."""
    order = sorted(range(len(names)), key=lambda i: names[i])
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank


@functools.cache
def ats_parts(otce: bool) -> Parts:
    """The ATS venues of the OTCE tier (``otce``) or of the NMS tiers, with FINRA's printed names."""
    table = OTCE_ATS if otce else NMS_ATS
    crds = _crds()
    names = [f"{mpid} {ats}" for mpid, ats, _, _, _ in table]
    weight = np.array([t[3] for t in table], dtype=float)
    return Parts(
        side="ATS",
        code=tuple(t[0] for t in table),
        mpid=np.array([t[0] for t in table], dtype=object),
        name=np.array(names, dtype=object),
        crd=np.array([crds[t[2]] for t in table], dtype=object),
        trade_size=np.array([t[4] for t in table], dtype=float),
        retail=np.zeros(len(table), dtype=bool),
        name_rank=_name_rank(names),
        weight=weight / weight.sum(),
        selectable=np.ones(len(table), dtype=bool),
    )


@functools.cache
def firm_parts(otce: bool) -> Parts:
    """The non-ATS firms (weights and trade sizes of the OTCE tier with ``otce``), De Minimis bucket last."""
    crds = _crds()
    rows = list(FIRMS)
    small = _small_firm_names()
    # The ~50 small firms share the remaining weight on a Zipf curve.
    for i, name in enumerate(small):
        w = 0.9 / (i + 8) ** 1.3
        rows.append((name, w, w * 1.5, 400 + 37 * (i % 11), False))
    names = [r[0] for r in rows] + [DE_MINIMIS]
    weight = np.array([r[2] if otce else r[1] for r in rows] + [0.0], dtype=float)
    size = np.array([r[3] for r in rows] + [80], dtype=float)
    if otce:
        size = size * 4.0
    return Parts(
        side="OTC",
        code=tuple(names),
        mpid=np.array([""] * len(names), dtype=object),
        name=np.array(names, dtype=object),
        crd=np.array([crds[r[0]] for r in rows] + ["0"], dtype=object),
        trade_size=size,
        retail=np.array([r[4] for r in rows] + [True], dtype=bool),
        name_rank=_name_rank(names),
        weight=weight / weight.sum(),
        selectable=np.array([True] * len(rows) + [False], dtype=bool),
    )


def parts_of(tier: str, side: int) -> Parts:
    """The participants of ``side`` (0: ATS venues, 1: non-ATS firms) in ``tier``."""
    return ats_parts(tier == "OTCE") if side == 0 else firm_parts(tier == "OTCE")
