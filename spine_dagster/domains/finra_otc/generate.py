"""Deterministic synthetic FINRA OTC Transparency weekly data, in FINRA's real layouts.

Run ``python -m spine_dagster.domains.finra_otc.generate --help`` for the command line. The public API:

* :func:`generate` writes pipe-delimited files plus ``manifest.json`` and returns the data file paths;
* :func:`generate_frame` returns the ``full`` records as a text DataFrame without writing (benchmarks);
* :func:`ats8_frame` turns such a frame into FINRA's 8-column ATS export.

What is generated (``reference/finra-otc.md`` §1 and §4):

* every summary type of the ``weeklySummary`` record, per tier ``T1``/``T2``/``OTCE``: ``ATS_W_SMBL_FIRM``,
  ``ATS_W_SMBL``, ``ATS_W_FIRM``, ``OTC_W_SMBL_FIRM``, ``OTC_W_SMBL``, ``OTC_W_FIRM``; plus the market-wide
  ``ATS_W_VOL_STATS`` and ``OTC_W_VOL_STATS`` rows (tier ``NA``, ``Not Applicable``: one of each per week,
  the totals over the tiers generated, published with the latest of those tiers);
* ``*_SMBL`` rows are the exact sums of their ``*_SMBL_FIRM`` rows and ``*_FIRM`` rows the exact sums over
  symbols, as printed: quantities are fixed-point integers (micro-shares, cents) summed before printing;
* ATS rows carry the real MPIDs with FINRA's ``"<MPID> <ATS NAME>"`` names and the operator's CRD;
  non-ATS rows a blank MPID, the firm's legal name and a CRD (synthetic, except Citadel's 116797), and
  optionally the ``De Minimis Firms`` bucket (CRD ``0``);
* volumes: split-lognormal symbol levels with AR(1) weekly dynamics, a market factor and holiday-week
  dips; persistent Dirichlet venue/firm splits over the real MPID sets and weights; trades from each
  venue's average trade size (floor 1); non-ATS volume about 2.5 times ATS; fractional shares (6 decimals)
  on retail-wholesaler non-ATS rows (about 13% of all rows); ``totalNotionalSum`` = shares x price
  (2 decimals); late ``lastReportedDate`` (before publication) on about 20% of symbols; symbol presence
  churn (OTCE about 25% a week); tail-venue entries and exits; the annual June T1/T2 reclassification.

Files (LF, trailing newline, no quoting; the data never contains ``|``):

* ``full``: header :data:`layouts.FULL_COLUMNS`; one file per week with every tier,
  ``finra_otc_weekly_{weekStartDate}_pub{YYYYMMDD}.psv`` (the latest publication date among its tiers), or
  with ``split_tiers`` one per (week, tier) ``finra_otc_weekly_{T1|T2|OTCE|NA}_{weekStartDate}_pub{YYYYMMDD}.psv``;
* ``ats8``: header :data:`layouts.ATS8_COLUMNS`, the ``ATS_W_SMBL_FIRM`` rows of one (tier, week) sorted by
  symbol then participant name, ``finra_otc_ats_{T1|T2|OTCE}_{weekStartDate}_pub{YYYYMMDD}.psv``;
* ``manifest.json``: files, weeks, tiers, row counts per file and summary type, sha256, and every
  injected defect with its file and line (line 1 is the header).

The same arguments give byte-identical files. Simulation starts at the first requested week, so a week's
numbers depend on the seed, the universe sizes and the first week (not on the output layout).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import functools
import hashlib
import json
import math
import os
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .calendar import TIER_DESCRIPTIONS, TIER_IDS, is_business_day, market_holidays, publication_date
from .layouts import ATS8_COLUMNS, FULL_COLUMNS, SUMMARY_TYPES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_SYMBOLS_PER_TIER",
    "DEFECTS",
    "LAYOUTS",
    "TIER_CODES",
    "GeneratorUsageError",
    "ats8_frame",
    "generate",
    "generate_frame",
    "main",
]

TIER_CODES = ("T1", "T2", "OTCE")
LAYOUTS = ("full", "ats8")
DEFECTS = (
    "invalid_symbol", "invalid_mpid", "negative_volume", "zero_volume", "parse_error", "invalid_tier",
    "wrong_week", "restatement", "duplicate", "two_tiers", "de_minimis", "monday_holiday",
)  # fmt: skip
#: Reject defects: rows added to one file per layout; the rest of the file stays clean and consistent.
REJECT_DEFECTS = (
    "invalid_symbol", "invalid_mpid", "negative_volume", "zero_volume", "parse_error", "invalid_tier",
    "wrong_week", "duplicate",
)  # fmt: skip
#: Distinct symbols in each tier's universe at scale 1. In a typical week about 2,500/6,500/3,000 of them
#: have ATS rows and 2,600/7,400/6,000 non-ATS rows: about 72k/168k/24k rows of every summary type.
DEFAULT_SYMBOLS_PER_TIER = {"T1": 2700, "T2": 7800, "OTCE": 7000}
DEFAULT_DE_MINIMIS_SHARE = 0.2
MAX_WEEKS = 1100
MAX_SYMBOLS = 200_000

_CANONICAL = {code: canon for canon, code in TIER_IDS.items()}
_DESCRIPTION = {code: TIER_DESCRIPTIONS[_CANONICAL[code]] for code in TIER_CODES}
_TIER_INDEX = {code: i for i, code in enumerate(TIER_CODES)}
_ST = {name: i for i, name in enumerate(SUMMARY_TYPES)}
_MICRO = 1_000_000
_DE_MINIMIS = "De Minimis Firms"


class GeneratorUsageError(ValueError):
    """Bad arguments to the generator (the command line exits 2 with this message, no traceback)."""


# --- reference data: venues and firms ------------------------------------------------------------------

# (MPID, ATS name as FINRA prints it after the MPID, operator, weight % (§4.2), average trade size (§4.3)).
# Names marked "real" in the reference are FINRA's; the others are FINRA-style and plausible.
_NMS_ATS = (
    ("UBSA", "UBS ATS", "UBS SECURITIES LLC", 13.0, 53),
    ("INCR", "INTELLIGENT CROSS LLC", "INTELLIGENT CROSS LLC", 12.0, 48),
    ("SGMT", "SIGMA X2", "GOLDMAN SACHS & CO. LLC", 12.0, 47),
    ("JPMX", "JPM-X", "J.P. MORGAN SECURITIES LLC", 7.5, 78),
    ("MSPL", "MS POOL (ATS-4)", "MORGAN STANLEY & CO. LLC", 7.3, 266),
    ("MLIX", "INSTINCT X", "BOFA SECURITIES, INC.", 6.0, 68),
    ("EBXL", "LEVEL ATS", "LEVEL ATS", 5.0, 33),
    ("LATS", "THE BARCLAYS ATS", "BARCLAYS CAPITAL INC.", 4.0, 83),
    ("BIDS", "BIDS ATS", "BIDS TRADING L.P.", 2.9, 734),
    ("KCGM", "VIRTU MATCHIT ATS", "VIRTU AMERICAS LLC", 2.9, 70),
    ("MSTX", "MS TRAJECTORY CROSS (ATS-1)", "MORGAN STANLEY & CO. LLC", 2.7, 32),
    ("XSTM", "CROSSSTREAM", "CROSSSTREAM ATS LLC", 2.1, 172),
    ("ITGP", "POSIT", "VIRTU ITG LLC", 1.4, 269),
    ("PURE", "PURESTREAM", "PURESTREAM LLC", 1.3, 30),
    ("JPBX", "JPB-X", "J.P. MORGAN SECURITIES LLC", 1.3, 71),
    ("IATS", "IBKR ATS", "INTERACTIVE BROKERS LLC", 1.3, 61),
    ("MSRP", "MS RETAIL POOL (ATS-6)", "MORGAN STANLEY & CO. LLC", 1.2, 76),
    ("LQNA", "LIQUIDNET NEGOTIATED", "LIQUIDNET, INC.", 0.9, 390),
    ("ICBX", "INSTINET CBX (US)", "INSTINET, LLC", 0.8, 61),
    ("BLKX", "BLOCKCROSS ATS", "BLOOMBERG TRADEBOOK LLC", 0.7, 310),
    ("ONEC", "ONECHRONOS", "OCX GROUP INC.", 0.7, 92),
    ("CGXS", "CITI CROSS", "CITIGROUP GLOBAL MARKETS INC.", 0.6, 69),
    ("BNPX", "BNP PARIBAS CORTEX ATS", "BNP PARIBAS SECURITIES CORP.", 0.5, 56),
    ("CODA", "CODA MARKETS ATS", "CODA MARKETS, INC.", 0.15, 60),
    ("LQNT", "LIQUIDNET H2O", "LIQUIDNET, INC.", 0.15, 100_000),
    ("BLUE", "BLUE OCEAN ATS, LLC", "BLUE OCEAN ATS, LLC", 0.12, 40),
    ("LMNX", "LUMINEX TRADING & ANALYTICS LLC", "LUMINEX TRADING & ANALYTICS LLC", 0.1, 5_000),
    ("STFX", "STIFEL ATS", "STIFEL, NICOLAUS & COMPANY, INCORPORATED", 0.08, 150),
    ("IEOS", "IEOS ATS", "IEOS ATS LLC", 0.06, 90),
    ("ALPX", "ALPHA X ATS", "ALPHA X ATS LLC", 0.05, 80),
    ("BOSS", "BOSS ATS", "BOSS ATS LLC", 0.04, 20),
    ("MOON", "MOON ATS", "MOON ATS LLC", 0.03, 25),
)  # fmt: skip
# Tail venues that enter and exit (about one change a quarter); LMNX starts outside the 31 seen in 2025.
_TAIL_VENUES = ("CODA", "LQNT", "BLUE", "LMNX", "STFX", "IEOS", "ALPX", "BOSS", "MOON")
_INITIALLY_INACTIVE = ("LMNX",)
_OTCE_ATS = (
    ("OTCN", "OTC LINK NQB IDQS", "OTC LINK LLC", 78.0, 8_000),
    ("OTCX", "OTC LINK ECN ATS", "OTC LINK LLC", 16.0, 1_200),
    ("ARCA", "GLOBAL OTC", "ARCHIPELAGO TRADING SERVICES, INC.", 5.0, 240),
    ("SWCL", "INX SECURITIES, LLC", "INX SECURITIES, LLC", 0.3, 7_000),
    ("PPEX", "NORTH CAPITAL PRIVATE SECURITIES CORPORATION", "NORTH CAPITAL PRIVATE SECURITIES CORPORATION", 0.2, 15),
    ("PROS", "TZERO SECURITIES LLC", "TZERO ATS, LLC", 0.15, 60),
    ("ALTS", "LODAS SECURITIES ALTERNATIVE TRADING SYSTEM", "LODAS SECURITIES, LLC", 0.1, 20),
    ("SMKT", "SECURITIZE MARKETS ATS", "SECURITIZE MARKETS, LLC", 0.1, 30),
    ("STEN", "STARTENGINE SECONDARY", "STARTENGINE PRIMARY, LLC", 0.1, 25),
    ("VIAT", "VARIABLE INVESTMENT ADVISORS, INC.", "VARIABLE INVESTMENT ADVISORS, INC.", 0.05, 10),
)  # fmt: skip
_OTCE_REGULAR_VENUES = ("OTCN", "OTCX", "ARCA")
# Venues that trade only their own issues (PPEX: ARRIVED HOMES-style interests; SWCL: INX tokens...).
_OTCE_EXCLUSIVE_VENUES = ("PPEX", "SWCL", "PROS", "ALTS", "SMKT", "STEN", "VIAT")

# Non-ATS firms: (legal name, NMS weight %, OTCE weight %, average trade size, retail wholesaler?).
_FIRMS = (
    ("CITADEL SECURITIES LLC", 28.0, 30.0, 110, True),
    ("VIRTU AMERICAS LLC", 14.0, 22.0, 120, True),
    ("JANE STREET CAPITAL, LLC", 9.0, 4.0, 150, True),
    ("G1 EXECUTION SERVICES, LLC", 6.0, 6.0, 90, True),
    ("UBS SECURITIES LLC", 4.5, 0.5, 250, False),
    ("TWO SIGMA SECURITIES, LLC", 4.0, 1.0, 130, True),
    ("GOLDMAN SACHS & CO. LLC", 4.0, 0.5, 400, False),
    ("MORGAN STANLEY & CO. LLC", 3.5, 0.5, 350, False),
    ("J.P. MORGAN SECURITIES LLC", 2.0, 0.3, 380, False),
    ("HRT FINANCIAL LP", 1.8, 1.0, 100, True),
    ("BOFA SECURITIES, INC.", 1.6, 0.3, 420, False),
    ("INTERACTIVE BROKERS LLC", 1.3, 2.0, 140, True),
    ("SUSQUEHANNA SECURITIES, LLC", 1.2, 0.5, 160, False),
    ("STONEX FINANCIAL INC.", 0.6, 7.0, 600, False),
    ("CITIGROUP GLOBAL MARKETS INC.", 1.0, 0.3, 450, False),
    ("NATIONAL FINANCIAL SERVICES LLC", 0.9, 1.5, 120, True),
    ("WELLS FARGO SECURITIES, LLC", 0.8, 0.2, 500, False),
    ("BARCLAYS CAPITAL INC.", 0.7, 0.1, 480, False),
    ("RBC CAPITAL MARKETS, LLC", 0.7, 0.1, 520, False),
    ("JEFFERIES LLC", 0.7, 0.4, 600, False),
    ("INSTINET, LLC", 0.6, 0.1, 300, False),
    ("CHARLES SCHWAB & CO., INC.", 0.5, 1.0, 110, True),
    ("GLOBAL EXECUTION BROKERS, LP", 0.5, 3.0, 900, False),
    ("CANTOR FITZGERALD & CO.", 0.45, 0.6, 700, False),
    ("STIFEL, NICOLAUS & COMPANY, INCORPORATED", 0.4, 0.2, 650, False),
    ("RAYMOND JAMES & ASSOCIATES, INC.", 0.4, 0.2, 600, False),
    ("PIPER SANDLER & CO.", 0.35, 0.1, 700, False),
    ("DEUTSCHE BANK SECURITIES INC.", 0.35, 0.2, 550, False),
    ("BNP PARIBAS SECURITIES CORP.", 0.3, 0.1, 500, False),
    ("NOMURA SECURITIES INTERNATIONAL, INC.", 0.3, 0.2, 500, False),
    ("MIZUHO SECURITIES USA LLC", 0.25, 0.1, 520, False),
    ("TD SECURITIES (USA) LLC", 0.25, 0.2, 480, False),
    ("B. RILEY SECURITIES, INC.", 0.25, 0.8, 800, False),
    ("GTS SECURITIES LLC", 0.3, 0.1, 200, False),
    ("XTX MARKETS LLC", 0.3, 0.05, 180, False),
    ("FLOW TRADERS U.S. LLC", 0.25, 0.05, 400, False),
    ("WEDBUSH SECURITIES INC.", 0.2, 0.6, 300, False),
    ("OPPENHEIMER & CO. INC.", 0.2, 0.3, 450, False),
    ("BTIG, LLC", 0.2, 0.1, 600, False),
    ("KEYBANC CAPITAL MARKETS INC.", 0.15, 0.05, 650, False),
    ("NEEDHAM & COMPANY, LLC", 0.15, 0.1, 700, False),
    ("D.A. DAVIDSON & CO.", 0.12, 0.2, 500, False),
    ("JANNEY MONTGOMERY SCOTT LLC", 0.12, 0.1, 450, False),
    ("ROBERT W. BAIRD & CO. INCORPORATED", 0.12, 0.1, 520, False),
    ("CANACCORD GENUITY LLC", 0.12, 1.2, 900, False),
    ("WILLIAM BLAIR & COMPANY, L.L.C.", 0.1, 0.05, 700, False),
    ("CRAIG-HALLUM CAPITAL GROUP LLC", 0.08, 0.2, 800, False),
    ("ROTH CAPITAL PARTNERS, LLC", 0.08, 0.3, 800, False),
    ("H.C. WAINWRIGHT & CO., LLC", 0.07, 0.4, 900, False),
    ("A.G.P./ALLIANCE GLOBAL PARTNERS", 0.07, 0.4, 850, False),
    ("ALPINE SECURITIES CORPORATION", 0.03, 1.5, 2_000, False),
    ("GLENDALE SECURITIES, INC.", 0.03, 1.2, 2_500, False),
    ("NORTHERN TRUST SECURITIES, INC.", 0.06, 0.05, 600, False),
    ("MERRILL LYNCH, PIERCE, FENNER & SMITH INCORPORATED", 0.3, 0.4, 200, True),
    ("LADENBURG THALMANN & CO. INC.", 0.05, 0.3, 900, False),
    ("MAXIM GROUP LLC", 0.05, 0.4, 1_000, False),
)  # fmt: skip
_SMALL_FIRM_WORDS = (
    "ARBOR", "BEACON", "CEDAR", "DRAKE", "EMBER", "FALCON", "GRANITE", "HARBOR", "IRONWOOD", "JUNIPER",
    "KESTREL", "LANTERN", "MERIDIAN", "NORTHGATE", "OAKMONT", "PINNACLE", "QUARRY", "RIDGELINE", "SUMMIT",
    "TIDEWATER", "UNION SQUARE", "VANTAGE", "WESTBROOK", "YARROW", "ZENITH",
)  # fmt: skip
_SMALL_FIRM_FORMS = (
    "CAPITAL MARKETS, LLC", "SECURITIES, INC.", "TRADING LLC", "FINANCIAL SERVICES, INC.",
    "EXECUTION SERVICES, L.P.", "BROKERAGE CORP.",
)  # fmt: skip
_N_SMALL_FIRMS = 50
_KNOWN_CRDS = {"CITADEL SECURITIES LLC": "116797"}  # from the reference (plausible, unverified)


@dataclass(frozen=True, eq=False)
class _Parts:
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
        return self.code.index(code)


def _crd_candidate(name: str) -> int:
    return 1000 + zlib.crc32(name.encode()) % 320_000


@functools.cache
def _crds() -> dict[str, str]:
    """One synthetic CRD per member firm (ATS operators and non-ATS firms share them), deterministic."""
    names = sorted(
        {op for _, _, op, _, _ in _NMS_ATS + _OTCE_ATS} | {f[0] for f in _FIRMS} | set(_small_firm_names())
    )
    used = {int(v) for v in _KNOWN_CRDS.values()}
    out = dict(_KNOWN_CRDS)
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
    names = []
    for i in range(_N_SMALL_FIRMS):
        word = _SMALL_FIRM_WORDS[i % len(_SMALL_FIRM_WORDS)]
        form = _SMALL_FIRM_FORMS[(i * 7 + i // len(_SMALL_FIRM_WORDS)) % len(_SMALL_FIRM_FORMS)]
        names.append(f"{word} {form}")
    return tuple(names)


def _name_rank(names: Sequence[str]) -> np.ndarray:
    order = sorted(range(len(names)), key=lambda i: names[i])
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank


@functools.cache
def _ats_parts(otce: bool) -> _Parts:
    table = _OTCE_ATS if otce else _NMS_ATS
    crds = _crds()
    names = [f"{mpid} {ats}" for mpid, ats, _, _, _ in table]
    weight = np.array([t[3] for t in table], dtype=float)
    return _Parts(
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
def _firm_parts(otce: bool) -> _Parts:
    crds = _crds()
    rows = list(_FIRMS)
    small = _small_firm_names()
    # The ~50 small firms share the remaining weight on a Zipf curve.
    for i, name in enumerate(small):
        w = 0.9 / (i + 8) ** 1.3
        rows.append((name, w, w * 1.5, 400 + 37 * (i % 11), False))
    names = [r[0] for r in rows] + [_DE_MINIMIS]
    weight = np.array([r[2] if otce else r[1] for r in rows] + [0.0], dtype=float)
    size = np.array([r[3] for r in rows] + [80], dtype=float)
    if otce:
        size = size * 4.0
    return _Parts(
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


# --- tier parameters (§4.1, §4.3, §4.4) ------------------------------------------------------------------


@dataclass(frozen=True)
class _TierParams:
    median: float  # median weekly ATS shares of a symbol
    sd_left: float  # split-lognormal log-sd below / above the median (levels + dynamics together)
    sd_right: float
    phi: float  # AR(1) persistence of log volume
    sigma: float  # AR(1) weekly shock sd
    price_median: float
    price_sd: float
    price_walk: float  # weekly log-price sd
    ats_coverage: float  # share of the universe with ATS rows in a week
    otc_coverage: float  # ... with non-ATS rows
    ats_turnover: float  # weekly exits as a share of the present symbols
    otc_turnover: float
    alpha_ats: float  # Dirichlet concentration of the venue split (x prior weights)
    alpha_otc: float
    k_ats: tuple[int, float, float]  # (max venues, mean venues, slope on liquidity)
    k_otc: tuple[int, float, float]
    otc_ratio: tuple[float, float]  # non-ATS / ATS volume: median, log-sd
    trade_size_sd: float  # per-symbol log-sd of trade sizes
    late_share: float  # share of symbols with a lastReportedDate after the week's last trading day


_PARAMS = {
    "T1": _TierParams(
        median=300_000, sd_left=3.4, sd_right=1.5, phi=0.75, sigma=0.30, price_median=50, price_sd=0.9,
        price_walk=0.04, ats_coverage=0.925, otc_coverage=0.963, ats_turnover=0.003, otc_turnover=0.003,
        alpha_ats=15.0, alpha_otc=6.0, k_ats=(31, 17.0, 1.6), k_otc=(35, 9.0, 1.6), otc_ratio=(2.5, 0.35),
        trade_size_sd=0.4, late_share=0.2,
    ),
    "T2": _TierParams(
        median=45_000, sd_left=2.6, sd_right=1.8, phi=0.75, sigma=0.5, price_median=25, price_sd=1.0,
        price_walk=0.05, ats_coverage=0.833, otc_coverage=0.949, ats_turnover=0.008, otc_turnover=0.008,
        alpha_ats=6.0, alpha_otc=5.0, k_ats=(28, 9.9, 1.4), k_otc=(35, 11.3, 1.4), otc_ratio=(2.5, 0.4),
        trade_size_sd=0.45, late_share=0.2,
    ),
    "OTCE": _TierParams(
        median=5_000, sd_left=3.0, sd_right=2.8, phi=0.7, sigma=1.5, price_median=0.5, price_sd=2.0,
        price_walk=0.12, ats_coverage=0.396, otc_coverage=0.92, ats_turnover=0.25, otc_turnover=0.10,
        alpha_ats=3.0, alpha_otc=3.0, k_ats=(3, 1.72, 1.0), k_otc=(10, 1.45, 1.2), otc_ratio=(3.0, 0.8),
        trade_size_sd=0.3, late_share=0.2,
    ),
}  # fmt: skip
_VENUE_PERSISTENCE = 0.9  # rho of the week-to-week Dirichlet venue/firm shares
_MARKET_SD = 0.12
_OTCE_PPEX_SHARE = 0.06  # of the OTCE universe: PPEX-only issues (about 400 ATS rows a week)
_OTCE_OTHER_EXCLUSIVE_SHARE = 0.01
_FRACTIONAL_PROBABILITY = 0.68  # of a retail-wholesaler non-ATS row
_DE_MINIMIS_PRESENCE = 0.85  # of a symbol's non-ATS rows when the bucket is on
_RECLASS_SHARE = 0.07  # of T1 (and as many T2) names moving tier in the June reclassification week


def _sigmoid(x: np.ndarray | float) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@functools.cache
def _solve_offset(target: float, slope: float) -> float:
    """``c`` with E[sigmoid(c + slope * Z)] = target for a standard normal Z (bisection on Gauss-Hermite)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    lo, hi = -40.0, 40.0
    norm = math.sqrt(2 * math.pi)
    for _ in range(100):
        mid = (lo + hi) / 2
        mean = float(np.sum(weights * _sigmoid(mid + slope * nodes)) / norm)
        lo, hi = (mid, hi) if mean < target else (lo, mid)
    return (lo + hi) / 2


def _rng(seed: int, stream: str, *extra: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(stream.encode()), *extra]))


# --- symbols and issue names -----------------------------------------------------------------------------

_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype=object)
_LETTER_WEIGHTS = np.array(
    [8, 5, 7, 4, 4, 4, 4, 3, 4, 1.5, 2, 4, 6, 4, 3, 5, 1, 4, 7, 5, 2, 3, 2, 1.5, 1, 1], dtype=float
)
_SYLLABLES = (
    "ab", "ac", "ad", "al", "am", "an", "ar", "as", "at", "av", "ba", "be", "bi", "bo", "bra", "bri", "ca",
    "ce", "ci", "co", "cor", "cra", "da", "de", "di", "do", "dra", "el", "en", "er", "ex", "fa", "fe", "fi",
    "fo", "fra", "ga", "ge", "gi", "go", "gra", "ha", "he", "hi", "ho", "hy", "id", "il", "in", "ir", "is",
    "ja", "je", "jo", "ka", "ke", "ki", "ko", "la", "le", "li", "lo", "lu", "ma", "me", "mi", "mo", "mu",
    "na", "ne", "ni", "no", "nu", "ob", "om", "on", "or", "os", "pa", "pe", "pi", "po", "pra", "pro", "qua",
    "qui", "ra", "re", "ri", "ro", "ru", "sa", "se", "si", "so", "su", "sy", "ta", "te", "ti", "to", "tra",
    "tri", "ul", "um", "un", "ur", "va", "ve", "vi", "vo", "wa", "we", "wi", "xa", "xe", "ya", "yo", "za",
    "ze", "zo",
)  # fmt: skip
_ENDINGS = (
    "n",
    "x",
    "r",
    "s",
    "l",
    "on",
    "ex",
    "ia",
    "us",
    "ar",
    "ent",
    "ix",
    "or",
    "ine",
    "al",
    "um",
    "is",
    "ad",
)
_WORDS = (
    "Technologies", "Therapeutics", "Holdings", "Systems", "Bancorp", "Energy", "Pharmaceuticals", "Group",
    "Networks", "Brands", "Industries", "Financial", "Biosciences", "Semiconductor", "Resources", "Realty",
    "Medical", "Software", "Logistics", "Foods", "Motors", "Minerals", "Communications", "Capital",
)  # fmt: skip
_SPONSORS = (
    "iShares", "Vanguard", "SPDR", "Invesco", "Global X", "ProShares", "Direxion Daily", "VanEck",
    "First Trust", "Schwab",
)  # fmt: skip
_THEMES = (
    "S&P 500", "MSCI Emerging Markets", "Core U.S. Aggregate Bond", "Russell 2000", "Semiconductor",
    "Gold Trust", "20+ Year Treasury Bond", "iBoxx $ High Yield Corporate Bond", "Clean Energy",
    "Dividend Appreciation", "Nasdaq-100", "Regional Banks", "Biotech", "Uranium", "Bitcoin Strategy",
)  # fmt: skip
_MODIFIERS = (
    "",
    " Equal Weight",
    " 2X Leveraged",
    " Ultra-Short",
    " Covered Call",
    " Momentum",
    " Value",
    " Growth",
)
_COUNTRIES = (
    "Hong Kong", "Japan", "Germany", "United Kingdom", "France", "Switzerland", "Netherlands",
    "Cayman Islands", "China", "Australia", "Canada", "South Africa", "Brazil", "Mexico", "Korea", "Taiwan",
    "Sweden", "Italy", "Spain", "India",
)  # fmt: skip
_SYL_BY_LETTER = {c: tuple(s for s in _SYLLABLES if s[0] == c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _stem(rng: np.random.Generator, first: str) -> str:
    head = _SYL_BY_LETTER.get(first) or _SYLLABLES
    parts = [_pick(rng, head)] + [_pick(rng, _SYLLABLES) for _ in range(int(rng.integers(0, 2)))]
    return ("".join(parts) + _pick(rng, _ENDINGS)).capitalize()


def _rate(rng: np.random.Generator) -> str:
    return f"{rng.integers(3, 9)}.{rng.choice([0, 125, 25, 375, 5, 625, 75, 875])}".rstrip("0").rstrip(".")


def _date_text(rng: np.random.Generator) -> str:
    return f"{rng.integers(1, 13):02d}/{rng.integers(1, 29):02d}/{rng.integers(2026, 2061)}"


def _nms_issue(rng: np.random.Generator, symbol: str) -> tuple[str, str, bool]:
    """(issueName, productTypeCode, is_etf) for an NMS symbol: FINRA-style free text with punctuation."""
    stem = _stem(rng, symbol[0])
    word = _pick(rng, _WORDS)
    if "." in symbol:
        return f"{stem.upper()} {word.upper()} Class {symbol[-1]}", "CTS", False
    kind = rng.choice(
        14, p=[0.30, 0.14, 0.05, 0.03, 0.03, 0.05, 0.18, 0.035, 0.025, 0.03, 0.04, 0.02, 0.02, 0.05]
    )
    etf = False
    if kind == 0:
        name = f"{stem} {word}, Inc. Common Stock"
    elif kind == 1:
        name = f"{stem} {word} Corporation Common Stock"
    elif kind == 2:
        name = f"{stem} Corp. Class A Common Stock"
    elif kind == 3:
        name = f"{stem} & {_stem(rng, _pick(rng, _LETTERS))} Co. Common Stock"
    elif kind == 4:
        name = f"{stem}'s {word}, Inc. Common Stock"
    elif kind == 5:
        name = f"{stem} {word} Ltd. American Depositary Shares (each representing {rng.integers(2, 11)} Ordinary Shares)"
    elif kind == 6:
        name = f"{_pick(rng, _SPONSORS)} {_pick(rng, _THEMES)}{_pick(rng, _MODIFIERS)} ETF"
        etf = True
    elif kind == 7:
        name = (
            f"{stem} {word} Depositary Shares, each representing a 1/{rng.choice([40, 100, 1000])}th interest in a "
            f"share of {_rate(rng)}% Series {_pick(rng, 'ABCDEFG')} Cumulative Redeemable Perpetual Preferred "
            f"Stock, $0.01 par value"
        )
    elif kind == 8:
        name = (
            f"{stem} Acquisition Corp. Units, each consisting of one Class A ordinary share and one-half of one "
            f"redeemable warrant"
        )
    elif kind == 9:
        name = f"{stem} {word}, Inc. {_rate(rng)}% Senior Notes due {rng.integers(2027, 2065)}"
    elif kind == 10:
        name = f"{stem} {word} Trust Shares of Beneficial Interest"
    elif kind == 11:
        name = f"{stem} {word} Inc. Warrants (exp. {_date_text(rng)})"
    elif kind == 12:
        name = f"{stem} Municipal Income Fund #{rng.integers(2, 9)} Common Shares"
    else:
        name = f"{stem} {word} Inc. Class B Common Stock"
    product = "CTS" if (etf and rng.random() < 0.8) or (not etf and rng.random() < 0.45) else "UTP"
    return name[:201], product, etf


def _otce_issue(rng: np.random.Generator, symbol: str, klass: int) -> str:
    """issueName for an OTCE symbol; ``klass`` is 0 (regular) or 1 + the index of its exclusive venue."""
    stem = _stem(rng, symbol[0])
    word = _pick(rng, _WORDS)
    if klass == 1:  # PPEX
        return f"ARRIVED HOMES {rng.integers(2, 9)} LLC MEMBERSHIP INT SER {_stem(rng, _pick(rng, _LETTERS)).upper()}"
    if klass == 2:  # SWCL
        return f"{stem.upper()} LTD {stem.upper()} TOKENS Other"
    if klass > 2:
        return f"{stem} {word} LLC Series {_pick(rng, 'ABCDEF')} #{rng.integers(1, 40)} Membership Units"
    if len(symbol) == 5 and symbol[-1] == "Y":
        if rng.random() < 0.5:
            return f"{stem} {word} Ltd Unsponsored ADR ({_pick(rng, _COUNTRIES)})"
        return f"{stem} {word}, Ltd. Sponsored American Depository Receipt ({_pick(rng, _COUNTRIES)})"
    if len(symbol) == 5 and symbol[-1] == "F":
        if rng.random() < 0.5:
            return f"{stem.upper()} {word.upper()} LTD ORD"
        return f"{stem} {word} Ltd Ordinary Shares ({_pick(rng, _COUNTRIES)})"
    kind = rng.choice(6, p=[0.5, 0.18, 0.06, 0.12, 0.08, 0.06])
    if kind == 0:
        return f"{stem} {word} Inc Common Stock"
    if kind == 1:
        return f"{stem} {word}, Inc. Common Stock"
    if kind == 2:
        return (
            f"{stem.upper()} CAP TR {_pick(rng, ('I', 'II', 'III', 'IV'))} CONV TR {_rate(rng)}% PFD SECS "
            f"{_date_text(rng)}"
        )
    if kind == 3:
        return f"{stem} {word} Corp Common Stock $0.001 Par Value"
    if kind == 4:
        return f"{stem} & {_stem(rng, _pick(rng, _LETTERS))} Holdings, Inc. Common Stock"
    return f"{stem} {word} Inc Warrants (exp. {_date_text(rng)})"


def _draw_tickers(rng: np.random.Generator, n: int, otce: bool, exclude: set[str]) -> list[str]:
    """``n`` distinct tickers: NMS 1-5 letters (some ``.A``/``.B`` classes), OTCE 4 letters or 5 with F/Y..."""
    out: dict[str, None] = {}
    probs = _LETTER_WEIGHTS / _LETTER_WEIGHTS.sum()
    while len(out) < n:
        m = max(64, 2 * (n - len(out)))
        letters = rng.choice(_LETTERS, p=probs, size=(m, 5))
        if otce:
            five = rng.random(m) < 0.45
            fifth = rng.choice(
                np.array(list("FYQEBLZ"), dtype=object), p=[0.45, 0.33, 0.05, 0.03, 0.05, 0.05, 0.04], size=m
            )
            cands = [
                "".join(row[:4]) + (f if v else "") for row, v, f in zip(letters, five, fifth, strict=True)
            ]
        else:
            lengths = rng.choice([1, 2, 3, 4, 5], p=[0.01, 0.07, 0.37, 0.52, 0.03], size=m)
            klass = rng.random(m) < 0.025
            cls_letter = rng.choice(np.array(["A", "B"], dtype=object), p=[0.45, 0.55], size=m)
            cands = []
            for row, length, k, c in zip(letters, lengths, klass, cls_letter, strict=True):
                base = "".join(row[: min(int(length), 4) if k else int(length)])
                cands.append(f"{base}.{c}" if k else base)
        for c in cands:
            if c not in exclude and c not in out:
                out[c] = None
                if len(out) == n:
                    break
    return list(out)


# --- rows of one (week, tier): typed columns ---------------------------------------------------------------

_TEXT_FIELDS = ("symbol", "issue", "product", "crd", "mpid", "pname")
_INT_FIELDS = ("stype", "side", "slot", "part", "micro", "trades", "cents")
_DATE_FIELDS = ("reported", "updated")


@dataclass(eq=False)
class _Block:
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

    def copy(self) -> _Block:
        return _Block(self.tier, self.week, self.published, {k: v.copy() for k, v in self.cols.items()})

    @staticmethod
    def concat(tier: str, week: dt.date, published: dt.date, parts: list[dict[str, np.ndarray]]) -> _Block:
        keys = (*_TEXT_FIELDS, *_INT_FIELDS, *_DATE_FIELDS)
        return _Block(tier, week, published, {k: np.concatenate([p[k] for p in parts]) for k in keys})


def _rows(
    n: int, stype: str, side: int, *, slot: Any = -1, part: Any = -1, symbol: Any = "", issue: Any = "",
    product: Any = "", crd: Any = "", mpid: Any = "", pname: Any = "", micro: Any, trades: Any, cents: Any,
    reported: Any, updated: Any,
) -> dict[str, np.ndarray]:  # fmt: skip
    def obj(v: Any) -> np.ndarray:
        return np.asarray(v, dtype=object) if np.ndim(v) else np.full(n, v, dtype=object)

    def i64(v: Any) -> np.ndarray:
        return np.asarray(v, dtype=np.int64) if np.ndim(v) else np.full(n, v, dtype=np.int64)

    def day(v: Any) -> np.ndarray:
        return np.asarray(v, dtype="datetime64[D]") if np.ndim(v) else np.full(n, v, dtype="datetime64[D]")

    return {
        "symbol": obj(symbol), "issue": obj(issue), "product": obj(product), "crd": obj(crd), "mpid": obj(mpid),
        "pname": obj(pname), "stype": i64(_ST[stype]), "side": i64(side), "slot": i64(slot), "part": i64(part),
        "micro": i64(micro), "trades": i64(trades), "cents": i64(cents), "reported": day(reported),
        "updated": day(updated),
    }  # fmt: skip


def _group_starts(keys: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.int64)


def _aggregate(
    keys: np.ndarray, micro: np.ndarray, trades: np.ndarray, cents: np.ndarray, reported: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Exact integer sums (and the latest lastReportedDate) over runs of equal ``keys`` (already grouped)."""
    starts = _group_starts(keys)
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


# --- the weekly simulation -------------------------------------------------------------------------------


@dataclass
class _Week:
    monday: dt.date
    week_end: dt.date  # the week's last trading day
    holidays: tuple[dt.date, ...]
    factor: float  # log of (market factor x holiday dip)
    published: dict[str, dt.date]
    late_days: dict[str, np.ndarray]  # business days after week_end and before publication, per tier


def _week_info(monday: dt.date, tiers: Sequence[str], market: float, dip: float) -> _Week:
    days = [monday + dt.timedelta(days=i) for i in range(5)]
    holidays = tuple(d for d in days if d in market_holidays(d.year))
    trading = [d for d in days if is_business_day(d)]
    week_end = trading[-1] if trading else days[-1]
    published = {t: publication_date(monday, _CANONICAL[t]) for t in tiers}
    late = {}
    for t in tiers:
        cands, day = [], week_end + dt.timedelta(days=1)
        while day < published[t]:
            if is_business_day(day):
                cands.append(day)
            day += dt.timedelta(days=1)
        late[t] = np.array(cands, dtype="datetime64[D]")
    return _Week(monday, week_end, holidays, market + math.log(dip), published, late)


def _holiday_dip(monday: dt.date, jitter: float) -> float:
    """Volume multiplier of a week with a market holiday (§4.4: x0.6-0.8), 1 otherwise."""
    days = [monday + dt.timedelta(days=i) for i in range(5)]
    holidays = [d for d in days if d in market_holidays(d.year)]
    if not holidays:
        return 1.0
    if any(d.month == 11 and d.weekday() == 3 for d in holidays):  # Thanksgiving (and its half day)
        base = 0.6
    elif any((d.month == 12 and d.day >= 24) or (d.month == 1 and d.day <= 2) for d in holidays):
        base = 0.65
    else:
        base = 0.75
    return base + jitter


class _TierSim:
    """Per-symbol state of one tier: identity, volume level (AR(1)), presence chains, venue/firm shares."""

    def __init__(self, tier: str, seed: int, symbols: list[str]) -> None:
        self.tier = tier
        self.n = n = len(symbols)
        self.prm = prm = _PARAMS[tier]
        otce = tier == "OTCE"
        self.parts = (_ats_parts(otce), _firm_parts(otce))
        ur = _rng(seed, "universe", _TIER_INDEX[tier])
        self.dyn = _rng(seed, "dynamics", _TIER_INDEX[tier])
        klass = np.zeros(n, dtype=np.int64)
        if otce:
            u = ur.random(n)
            klass[u < _OTCE_PPEX_SHARE] = 1
            other = (u >= _OTCE_PPEX_SHARE) & (u < _OTCE_PPEX_SHARE + _OTCE_OTHER_EXCLUSIVE_SHARE)
            klass[other] = 2 + ur.integers(0, len(_OTCE_EXCLUSIVE_VENUES) - 1, int(other.sum()))
        issues, products, etf = [], [], []
        for sym, k in zip(symbols, klass, strict=True):
            if otce:
                issues.append(_otce_issue(ur, sym, int(k)))
                products.append("OTC")
                etf.append(False)
            else:
                name, product, is_etf = _nms_issue(ur, sym)
                issues.append(name)
                products.append(product)
                etf.append(is_etf)
        z = ur.standard_normal(n)
        stat = prm.sigma / math.sqrt(1 - prm.phi**2)
        sd_l = math.sqrt(max(prm.sd_left**2 - stat**2, 0.01))
        sd_r = math.sqrt(max(prm.sd_right**2 - stat**2, 0.01))
        mu = math.log(prm.median) + np.where(z < 0, z * sd_l, z * sd_r)
        sigma = np.full(n, prm.sigma)
        logprice = math.log(prm.price_median) + prm.price_sd * ur.standard_normal(n)
        ratio = math.log(prm.otc_ratio[0]) + prm.otc_ratio[1] * ur.standard_normal(n)
        size = np.exp(prm.trade_size_sd * ur.standard_normal(n)) * np.where(
            np.array(etf, dtype=bool), 3.0, 1.0
        )
        b = 1.5
        pi_ats = _sigmoid(_solve_offset(prm.ats_coverage, b) + b * z)
        pi_otc = _sigmoid(_solve_offset(prm.otc_coverage, b) + b * z)
        tau_ats = np.full(n, prm.ats_turnover)
        tau_otc = np.full(n, prm.otc_turnover)
        cover_ats = np.full(n, prm.ats_coverage)
        cover_otc = np.full(n, prm.otc_coverage)
        if otce:
            ppex, excl = klass == 1, klass >= 2
            mu = np.where(ppex, math.log(400) + 0.8 * z, np.where(excl, math.log(3000) + 1.5 * z, mu))
            sigma = np.where(ppex, 0.35, np.where(excl, 0.6, sigma))
            logprice = np.where(klass >= 1, math.log(10) + 0.4 * z, logprice)
            size = size * np.clip((0.5 / np.exp(logprice)) ** 0.4, 0.05, 500.0)
            pi_ats = np.where(ppex, 0.9, np.where(excl, 0.6, pi_ats))
            cover_ats = np.where(klass >= 1, pi_ats, cover_ats)
            tau_ats = np.where(klass >= 1, 0.05, tau_ats)
            pi_otc = np.where(klass >= 1, 0.0, pi_otc)
        # Markov presence chains with stationary probability pi and mean weekly exit rate tau.
        q_off_ats = np.clip(tau_ats * (1 - pi_ats) / (1 - cover_ats), 0, 1)
        q_on_ats = np.clip(tau_ats * pi_ats / (1 - cover_ats), 0, 1)
        q_off_otc = np.clip(tau_otc * (1 - pi_otc) / (1 - cover_otc), 0, 1)
        q_on_otc = np.clip(tau_otc * pi_otc / (1 - cover_otc), 0, 1)
        dev = sigma / math.sqrt(1 - prm.phi**2) * ur.standard_normal(n)
        self.s: dict[str, Any] = {
            "symbol": np.array(symbols, dtype=object), "issue": np.array(issues, dtype=object),
            "product": np.array(products, dtype=object), "klass": klass, "mu": mu, "sigma": sigma,
            "logprice": logprice, "ratio": ratio, "size": size, "q_off_ats": q_off_ats, "q_on_ats": q_on_ats,
            "q_off_otc": q_off_otc, "q_on_otc": q_on_otc, "dev": dev, "nu": ur.standard_normal(n),
            "ats_on": ur.random(n) < pi_ats, "otc_on": ur.random(n) < pi_otc,
        }  # fmt: skip
        self.p: list[np.ndarray | None] = [None, None]
        self.p_age = [0, 0]
        self.allowed_ats: np.ndarray | None = None
        if otce:
            ats = self.parts[0]
            allowed = np.zeros((n, len(ats.code)), dtype=bool)
            regular = [ats.index(c) for c in _OTCE_REGULAR_VENUES]
            allowed[np.ix_(klass == 0, regular)] = True
            for i, venue in enumerate(_OTCE_EXCLUSIVE_VENUES):
                allowed[klass == 1 + i, ats.index(venue)] = True
            self.allowed_ats = allowed

    def advance(self) -> None:
        """One week of dynamics (cheap per-symbol arrays; the venue shares are refreshed when emitted)."""
        s, prm, rng, n = self.s, self.prm, self.dyn, self.n
        s["dev"] = prm.phi * s["dev"] + s["sigma"] * rng.standard_normal(n)
        s["nu"] = rng.standard_normal(n)
        s["logprice"] = s["logprice"] + prm.price_walk * rng.standard_normal(n)
        u = rng.random(n)
        s["ats_on"] = np.where(s["ats_on"], u >= s["q_off_ats"], u < s["q_on_ats"])
        u = rng.random(n)
        s["otc_on"] = np.where(s["otc_on"], u >= s["q_off_otc"], u < s["q_on_otc"])
        self.p_age = [a + 1 for a in self.p_age]

    def _refresh_shares(self, side: int) -> np.ndarray:
        """Persistent Dirichlet shares: p_t ~ Dir(kappa (rho^j p_{t-j} + (1 - rho^j) w)); first Dir(alpha w)."""
        parts = self.parts[side]
        alpha = self.prm.alpha_ats if side == 0 else self.prm.alpha_otc
        w = parts.weight[None, :]
        p = self.p[side]
        if p is None:
            shape = np.maximum(alpha * w, 0.05) * np.ones((self.n, 1))
        elif self.p_age[side]:
            kappa = alpha / (1 - _VENUE_PERSISTENCE**2) - 1
            r = _VENUE_PERSISTENCE ** self.p_age[side]
            shape = np.maximum(kappa * (r * p + (1 - r) * w), 0.05)
        else:
            return p
        g = self.dyn.standard_gamma(shape) + 1e-300
        p = g / g.sum(axis=1, keepdims=True)
        self.p[side], self.p_age[side] = p, 0
        self.s[f"p{side}"] = p
        return p

    def _venue_counts(self, side: int, zt: np.ndarray, noise: np.ndarray, on: np.ndarray) -> np.ndarray:
        if side == 0 and self.tier == "OTCE":
            # Among the regular issues present: 44% one venue, 28% two, 28% three (with the exclusive
            # one-venue issues, 52/24/24 as in the real files), the busier the more venues.
            zz = 0.8 * zt + 0.6 * noise
            ref = zz[on & (self.s["klass"] == 0)]
            q1, q2 = np.quantile(ref, [0.44, 0.72]) if len(ref) else (0.0, 0.0)
            k = 1 + (zz > q1).astype(np.int64) + (zz > q2).astype(np.int64)
            return np.where(self.s["klass"] == 0, k, 1)
        top, mean, slope = self.prm.k_ats if side == 0 else self.prm.k_otc
        c0 = _solve_offset((mean - 1) / (top - 1), slope)
        k = np.rint(1 + (top - 1) * _sigmoid(c0 + slope * zt) + noise).astype(np.int64)
        return np.clip(k, 1, top)

    def emit(
        self, wk: _Week, venue_active: np.ndarray, ident: dict[str, np.ndarray], *, fractional: bool,
        de_minimis: bool, de_minimis_share: float,
    ) -> _Block:  # fmt: skip
        """The rows of this tier for week ``wk``: six summary types, sorted as FINRA files are."""
        s, prm = self.s, self.prm
        level = s["mu"] + s["dev"]
        zt = np.where(level >= math.log(prm.median), (level - math.log(prm.median)) / prm.sd_right,
                      (level - math.log(prm.median)) / prm.sd_left)  # fmt: skip
        ats_volume = np.exp(level + wk.factor)
        otc_volume = np.exp(level + s["ratio"] + 0.2 * s["nu"] + wk.factor)
        order = np.argsort(ident["symbol"], kind="stable")
        sym_rank = np.empty(self.n, dtype=np.int64)
        sym_rank[order] = np.arange(self.n)
        price = np.exp(ident["logprice"])
        published = wk.published[self.tier]
        blocks = []
        for side, volume, on in ((0, ats_volume, s["ats_on"]), (1, otc_volume, s["otc_on"])):
            if side == 0:
                allowed = self.allowed_ats if self.allowed_ats is not None else venue_active[None, :]
            else:
                allowed = self.parts[1].selectable[None, :]
            blocks += self._emit_side(
                side, wk, volume, on, zt, allowed, sym_rank, ident, price, published,
                fractional=fractional, de_minimis=de_minimis, de_minimis_share=de_minimis_share,
            )  # fmt: skip
        return _Block.concat(self.tier, wk.monday, published, blocks)

    def _emit_side(
        self, side: int, wk: _Week, volume: np.ndarray, on: np.ndarray, zt: np.ndarray, allowed: np.ndarray,
        sym_rank: np.ndarray, ident: dict[str, np.ndarray], price: np.ndarray, published: dt.date, *,
        fractional: bool, de_minimis: bool, de_minimis_share: float,
    ) -> list[dict[str, np.ndarray]]:  # fmt: skip
        rng, n, prm = self.dyn, self.n, self.prm
        parts = self.parts[side]
        prefix = "ATS" if side == 0 else "OTC"
        # Every draw below happens whatever the flags, so toggling one changes only what it governs.
        k_noise = rng.standard_normal(n)
        p = self._refresh_shares(side)
        late_u, late_geo = rng.random(n), rng.geometric(0.4, n)
        dm_u = rng.random(n) if side else None
        dm_b = rng.beta(6 * de_minimis_share, 6 * (1 - de_minimis_share), n) if side else None
        k = self._venue_counts(side, zt, k_noise, on)
        on_slots = np.flatnonzero(on)
        allowed_on = np.broadcast_to(allowed, (n, len(parts.code)))[on_slots]
        keys = np.where(allowed_on, p[on_slots], -1.0)
        order = np.argsort(-keys, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(len(parts.code)), order.shape), axis=1)
        kk = np.minimum(k[on_slots], allowed_on.sum(axis=1))
        ri, rp = np.nonzero((rank < kk[:, None]) & allowed_on)
        rs = on_slots[ri]
        bucket = np.zeros(n)
        if side and de_minimis:
            bucket = np.where(on & (dm_u < _DE_MINIMIS_PRESENCE), dm_b, 0.0)
        w = p[rs, rp]
        denom = np.bincount(ri, weights=w, minlength=len(on_slots))
        vol = volume[rs] * w / denom[ri] * (1 - bucket[rs])
        r = len(rs)
        row_ts, frac_u, frac_m = rng.standard_normal(r), rng.random(r), rng.integers(1, _MICRO, r)
        row_px, row_late, row_lot = rng.standard_normal(r), rng.random(r), rng.standard_normal(r)
        if side:
            b_ts, b_fm, b_px = rng.standard_normal(n), rng.integers(1, _MICRO, n), rng.standard_normal(n)
            b_late, b_lot = rng.random(n), rng.standard_normal(n)
            bs = np.flatnonzero(bucket > 0)
            bucket_idx = parts.index(_DE_MINIMIS)
            rs = np.concatenate([rs, bs])
            rp = np.concatenate([rp, np.full(len(bs), bucket_idx)])
            vol = np.concatenate([vol, volume[bs] * bucket[bs]])
            row_ts = np.concatenate([row_ts, b_ts[bs]])
            frac_u = np.concatenate([frac_u, np.zeros(len(bs))])
            frac_m = np.concatenate([frac_m, b_fm[bs]])
            row_px = np.concatenate([row_px, b_px[bs]])
            row_late = np.concatenate([row_late, b_late[bs]])
            row_lot = np.concatenate([row_lot, b_lot[bs]])
        # Quantities: whole shares (>= 1), fractional on some retail rows; trades from the venue's trade size.
        # A venue or firm with a row had at least one trade: at least an odd or round lot.
        whole = np.maximum(np.rint(vol), np.rint(np.exp(3.5 + 1.2 * row_lot))).astype(np.int64)
        whole = np.maximum(whole, 1)
        is_frac = fractional & parts.retail[rp] & (frac_u < _FRACTIONAL_PROBABILITY)
        micro = whole * _MICRO + np.where(is_frac, frac_m, 0)
        trades = np.rint(vol / (parts.trade_size[rp] * self.s["size"][rs]) * np.exp(0.3 * row_ts))
        trades = np.clip(trades, 1, np.maximum(1, whole)).astype(np.int64)
        cents = np.maximum(1, np.rint(micro * price[rs] * np.exp(0.002 * row_px) / 1e4)).astype(np.int64)
        # lastReportedDate: the week's last trading day, later (before publication) on some symbols' rows.
        late_days = wk.late_days[self.tier]
        reported = np.full(len(rs), np.datetime64(wk.week_end, "D"))
        if len(late_days) and len(rs):
            late_slot = late_u < prm.late_share
            late_date = late_days[np.minimum(late_geo - 1, len(late_days) - 1)]
            by_slot = np.argsort(rs, kind="stable")
            starts = _group_starts(rs[by_slot])
            group = np.cumsum(np.r_[True, rs[by_slot][1:] != rs[by_slot][:-1]]) - 1
            gmax = np.empty(len(rs))
            gmax[by_slot] = np.maximum.reduceat(row_late[by_slot], starts)[group]
            flag = late_slot[rs] & ((row_late >= gmax) | (row_late > 0.75))
            reported = np.where(flag, late_date[rs], reported)
        # File order: symbol, then participant name.
        o = np.lexsort((parts.name_rank[rp], sym_rank[rs]))
        rs, rp, micro, trades, cents, reported = rs[o], rp[o], micro[o], trades[o], cents[o], reported[o]
        pub = np.datetime64(published, "D")
        firm_rows = _rows(
            len(rs), f"{prefix}_W_SMBL_FIRM", side, slot=rs, part=rp, symbol=ident["symbol"][rs],
            issue=ident["issue"][rs], product=ident["product"][rs], crd=parts.crd[rp], mpid=parts.mpid[rp],
            pname=parts.name[rp], micro=micro, trades=trades, cents=cents, reported=reported, updated=pub,
        )  # fmt: skip
        ks, sm, st, sc, sr = _aggregate(rs, micro, trades, cents, reported)
        smbl_rows = _rows(
            len(ks), f"{prefix}_W_SMBL", side, slot=ks, symbol=ident["symbol"][ks], issue=ident["issue"][ks],
            product=ident["product"][ks], micro=sm, trades=st, cents=sc, reported=sr, updated=pub,
        )  # fmt: skip
        by_part = np.argsort(parts.name_rank[rp], kind="stable")
        kp, fm, ft, fc, fr = _aggregate(
            rp[by_part], micro[by_part], trades[by_part], cents[by_part], reported[by_part]
        )
        total_rows = _rows(
            len(kp), f"{prefix}_W_FIRM", side, part=kp, crd=parts.crd[kp], mpid=parts.mpid[kp],
            pname=parts.name[kp], micro=fm, trades=ft, cents=fc, reported=fr, updated=pub,
        )  # fmt: skip
        return [firm_rows, smbl_rows, total_rows]


def _vol_stats(week: dt.date, blocks: Sequence[_Block]) -> _Block:
    """The market-wide ``ATS_W_VOL_STATS`` / ``OTC_W_VOL_STATS`` rows (tier ``NA``) over ``blocks``."""
    published = max(b.published for b in blocks)
    pub = np.datetime64(published, "D")
    parts = []
    for side, prefix in ((0, "ATS"), (1, "OTC")):
        micro = trades = cents = 0
        reported = np.datetime64(week, "D")
        for b in blocks:
            m = b.cols["stype"] == _ST[f"{prefix}_W_SMBL"]
            micro += int(b.cols["micro"][m].sum())
            trades += int(b.cols["trades"][m].sum())
            cents += int(b.cols["cents"][m].sum())
            if m.any():
                reported = max(reported, b.cols["reported"][m].max())
        parts.append(
            _rows(
                1,
                f"{prefix}_W_VOL_STATS",
                side,
                micro=micro,
                trades=trades,
                cents=cents,
                reported=reported,
                updated=pub,
            )
        )
    return _Block.concat("NA", week, published, parts)


def _reclass_monday(year: int) -> dt.date:
    """The week after the last Friday of June (Russell reconstitution): T1/T2 membership changes there."""
    day = dt.date(year, 6, 30)
    while day.weekday() != 4:
        day -= dt.timedelta(days=1)
    return day + dt.timedelta(days=3)


_SWAP_KEYS = (
    "symbol", "issue", "product", "klass", "mu", "sigma", "logprice", "ratio", "size", "q_off_ats", "q_on_ats",
    "q_off_otc", "q_on_otc", "dev", "nu", "ats_on", "otc_on", "p0", "p1",
)  # fmt: skip


@dataclass(frozen=True)
class _Config:
    weeks: tuple[dt.date, ...]
    tiers: tuple[str, ...]
    sizes: dict[str, int]
    layouts: tuple[str, ...]
    ats8_weeks: tuple[dt.date, ...]
    split_tiers: bool
    seed: int
    inject: tuple[str, ...]
    fractional: bool
    de_minimis_share: float

    def arguments(self) -> dict[str, Any]:
        return {
            "weeks": [w.isoformat() for w in self.weeks], "tiers": list(self.tiers),
            "symbols_per_tier": {t: self.sizes[t] for t in self.tiers}, "layouts": list(self.layouts),
            "ats8_weeks": [w.isoformat() for w in self.ats8_weeks], "split_tiers": self.split_tiers,
            "seed": self.seed, "inject": list(self.inject), "fractional": self.fractional,
            "de_minimis_share": self.de_minimis_share,
        }  # fmt: skip


@dataclass
class _SimWeek:
    info: _Week
    blocks: dict[str, _Block]
    na: _Block
    events: list[dict[str, Any]] = field(default_factory=list)


def _simulate(cfg: _Config, *, de_minimis: bool, two_tiers: bool) -> Iterable[_SimWeek]:
    """Run the dynamics from the first to the last requested week; yield the requested weeks' rows."""
    exclude: set[str] = set()
    tickers: dict[str, list[str]] = {}
    for tier in TIER_CODES:  # every tier's tickers, so a tier's universe never depends on which are requested
        tickers[tier] = _draw_tickers(
            _rng(cfg.seed, "tickers", _TIER_INDEX[tier]), cfg.sizes[tier], tier == "OTCE", exclude
        )
        exclude |= set(tickers[tier])
    sims = {t: _TierSim(t, cfg.seed, tickers[t]) for t in cfg.tiers}
    market = _rng(cfg.seed, "market")
    tt_rng = _rng(cfg.seed, "two_tiers")
    tt_week = cfg.weeks[int(tt_rng.integers(len(cfg.weeks)))] if two_tiers else None
    nms = _ats_parts(False)
    active = np.array([c not in _INITIALLY_INACTIVE for c in nms.code])
    tail = [nms.index(c) for c in _TAIL_VENUES]
    emitted = set(cfg.weeks)
    monday, i = cfg.weeks[0], 0
    while monday <= cfg.weeks[-1]:
        m, jitter = _MARKET_SD * market.standard_normal(), market.uniform(-0.03, 0.03)
        flip_u, flip_i = market.random(), int(market.integers(len(tail)))
        events: list[dict[str, Any]] = []
        if i:
            for sim in sims.values():
                sim.advance()
            if flip_u < 1 / 13:
                v = tail[flip_i]
                active[v] = not active[v]
                events.append({"event": "venue_entry" if active[v] else "venue_exit", "week": monday.isoformat(),
                               "MPID": nms.code[v]})  # fmt: skip
            if monday == _reclass_monday(monday.year) and "T1" in sims and "T2" in sims:
                events.append(_reclassify(sims["T1"], sims["T2"], monday))
        if monday in emitted:
            wk = _week_info(monday, cfg.tiers, m, _holiday_dip(monday, jitter))
            blocks = {}
            for tier, sim in sims.items():
                ident = {k: sim.s[k].copy() for k in ("symbol", "issue", "product", "logprice")}
                if tier == "T2" and monday == tt_week and "T1" in sims:
                    event = _two_tiers(sims["T1"], sim, ident, tt_rng, monday)
                    if event:
                        events.append(event)
                blocks[tier] = sim.emit(
                    wk, active, ident, fractional=cfg.fractional, de_minimis=de_minimis,
                    de_minimis_share=cfg.de_minimis_share,
                )  # fmt: skip
            yield _SimWeek(wk, blocks, _vol_stats(monday, list(blocks.values())), events)
        monday += dt.timedelta(days=7)
        i += 1


def _reclassify(t1: _TierSim, t2: _TierSim, monday: dt.date) -> dict[str, Any]:
    """Swap the thinnest T1 names with the busiest T2 names (identity and state) from ``monday`` on."""
    n_move = max(1, round(_RECLASS_SHARE * min(t1.n, t2.n)))
    down = np.argsort(t1.s["mu"], kind="stable")[:n_move]
    up = np.argsort(-t2.s["mu"], kind="stable")[:n_move]
    event = {"event": "reclassification", "week": monday.isoformat(),
             "to_T2": sorted(t1.s["symbol"][down].tolist()), "to_T1": sorted(t2.s["symbol"][up].tolist())}  # fmt: skip
    for key in _SWAP_KEYS:
        a, b = t1.s[key], t2.s[key]
        tmp = a[down].copy()
        a[down] = b[up]
        b[up] = tmp
    return event


def _two_tiers(t1: _TierSim, t2: _TierSim, ident: dict[str, np.ndarray], rng: np.random.Generator,
               monday: dt.date) -> dict[str, Any] | None:  # fmt: skip
    """One T1 symbol also trades in T2 this week: a T2 slot takes its identity (its own symbol is absent)."""
    on1, on2 = np.flatnonzero(t1.s["ats_on"]), np.flatnonzero(t2.s["ats_on"])
    if not len(on1) or not len(on2):
        return None
    i, j = int(rng.choice(on1)), int(rng.choice(on2))
    for key in ident:
        ident[key][j] = t1.s[key][i]
    return {"event": "two_tiers", "week": monday.isoformat(), "symbol": str(t1.s["symbol"][i]),
            "replaces_T2_symbol": str(t2.s["symbol"][j])}  # fmt: skip


# --- text -------------------------------------------------------------------------------------------------


def _fmt_micro(micro: np.ndarray) -> list[str]:
    whole, frac = np.divmod(micro, _MICRO)
    out = whole.astype(str).astype(object)
    m = frac != 0
    if m.any():
        out[m] = np.char.add(np.char.add(whole[m].astype(str), "."), np.char.zfill(frac[m].astype(str), 6))
    return out.tolist()


def _fmt_cents(cents: np.ndarray) -> list[str]:
    whole, frac = np.divmod(cents, 100)
    return np.char.add(np.char.add(whole.astype(str), "."), np.char.zfill(frac.astype(str), 2)).tolist()


def _fmt_dates(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days, unit="D").tolist()


def _description(tier: str) -> str:
    return "Not Applicable" if tier == "NA" else _DESCRIPTION[tier]


def _full_text(block: _Block, rows: np.ndarray | None = None) -> list[list[str]]:
    """The block's rows (all, or ``rows``) as the ``full`` layout's text columns, in FULL_COLUMNS order."""
    c = block.cols if rows is None else {k: v[rows] for k, v in block.cols.items()}
    n = len(c["stype"])
    week, pub = block.week.isoformat(), block.published.isoformat()
    text = {
        "issueSymbolIdentifier": c["symbol"].tolist(), "issueName": c["issue"].tolist(),
        "firmCRDNumber": c["crd"].tolist(), "MPID": c["mpid"].tolist(), "marketParticipantName": c["pname"].tolist(),
        "tierIdentifier": [block.tier] * n, "tierDescription": [_description(block.tier)] * n,
        "summaryStartDate": [week] * n, "totalWeeklyTradeCount": c["trades"].astype(str).tolist(),
        "totalWeeklyShareQuantity": _fmt_micro(c["micro"]), "productTypeCode": c["product"].tolist(),
        "summaryTypeCode": np.array(SUMMARY_TYPES, dtype=object)[c["stype"]].tolist(), "weekStartDate": [week] * n,
        "lastUpdateDate": _fmt_dates(c["updated"]), "initialPublishedDate": [pub] * n,
        "lastReportedDate": _fmt_dates(c["reported"]), "totalNotionalSum": _fmt_cents(c["cents"]),
    }  # fmt: skip
    return [text[name] for name in FULL_COLUMNS]


def _ats8_rows(block: _Block) -> np.ndarray:
    return np.flatnonzero(block.cols["stype"] == _ST["ATS_W_SMBL_FIRM"])


def _ats8_text(block: _Block) -> list[list[str]]:
    full = dict(zip(FULL_COLUMNS, _full_text(block, _ats8_rows(block)), strict=True))
    return [full[name] for name in ATS8_COLUMNS]


# --- files ------------------------------------------------------------------------------------------------


def _pub(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


@dataclass(eq=False)
class _File:
    """One output file being assembled: blocks of clean rows plus rows inserted by defects."""

    name: str
    layout: str
    vintage: str  # "initial" or "restatement"
    published: dt.date
    blocks: list[_Block]
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
            text = _full_text(block) if self.layout == "full" else _ats8_text(block)
            for acc, col in zip(self.cols, text, strict=True):
                acc.extend(col)
            self.offsets.append(pos)
            self.row_maps.append(rows)
            pos += len(rows)

    @property
    def columns(self) -> tuple[str, ...]:
        return FULL_COLUMNS if self.layout == "full" else ATS8_COLUMNS

    def position(self, block_index: int, block_row: int) -> int:
        """File row (0-based, header excluded, before insertions) of a block row kept in this file."""
        rows = self.row_maps[block_index]
        return self.offsets[block_index] + int(np.searchsorted(rows, block_row))

    def row(self, pos: int) -> dict[str, str]:
        return {name: col[pos] for name, col in zip(self.columns, self.cols, strict=True)}

    def line_of(self, pos: int) -> int:
        """Final 1-based line number of an original row (the header is line 1)."""
        return pos + 2 + sum(1 for after, _, _, _ in self.inserts if after < pos)

    def insert(self, after: int, values: dict[str, str], stype: str, entry: dict[str, Any]) -> None:
        line = "|".join(values[name] for name in self.columns)
        seq = len(self.inserts)
        self.inserts.append((after, seq, line, stype))
        entry["_insert"] = seq
        entry["row"] = line
        self.entries.append(entry)

    def render(self) -> tuple[bytes, int, dict[str, int]]:
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


# --- defects ----------------------------------------------------------------------------------------------


@dataclass
class _DefectPlan:
    name: str
    layout: str
    week: dt.date
    tier: str
    rng: np.random.Generator


def _plan_defects(cfg: _Config) -> tuple[list[_DefectPlan], list[dict[str, Any]]]:
    """Where each reject defect goes: one (week, tier) per layout, drawn from the seed."""
    plans, skipped = [], []
    for name in cfg.inject:
        if name not in REJECT_DEFECTS:
            continue
        layouts = [lay for lay in cfg.layouts if not (lay == "ats8" and name == "wrong_week")]
        if not layouts:
            skipped.append({"defect": name, "applied": False, "reason": "ats8 rows carry no weekStartDate"})
        for layout in layouts:
            rng = _rng(cfg.seed, "defect", DEFECTS.index(name), LAYOUTS.index(layout))
            weeks = cfg.weeks if layout == "full" else cfg.ats8_weeks
            week = weeks[int(rng.integers(len(weeks)))]
            tier = cfg.tiers[int(rng.integers(len(cfg.tiers)))]
            plans.append(_DefectPlan(name, layout, week, tier, rng))
    return plans, skipped


def _parts_of(tier: str, side: int) -> _Parts:
    return _ats_parts(tier == "OTCE") if side == 0 else _firm_parts(tier == "OTCE")


def _unused_participant(block: _Block, side: int, slot: int, rng: np.random.Generator) -> int | None:
    parts = _parts_of(block.tier, side)
    c = block.cols
    firm = c["stype"] == _ST[f"{'ATS' if side == 0 else 'OTC'}_W_SMBL_FIRM"]
    used = set(c["part"][firm & (c["slot"] == slot)].tolist())
    free = [
        i for i in range(len(parts.code)) if parts.selectable[i] and parts.weight[i] > 0 and i not in used
    ]
    return int(rng.choice(free)) if free else None


def _inject(f: _File, bidx: int, plan: _DefectPlan) -> None:
    """Add the rows of one reject defect to ``f`` (in the block of ``plan.tier``) and describe them."""
    block, rng, full = f.blocks[bidx], plan.rng, f.layout == "full"
    c = block.cols
    side = 0 if plan.name == "invalid_mpid" or not full else int(rng.integers(2))
    named = c["pname"] != _DE_MINIMIS  # the bucket is never copied: its rows stay exactly as counted

    def rows_of(side: int) -> np.ndarray:
        return np.flatnonzero((c["stype"] == _ST[f"{'ATS' if side == 0 else 'OTC'}_W_SMBL_FIRM"]) & named)

    candidates = rows_of(side)
    if not len(candidates) and full and plan.name != "invalid_mpid":
        side = 1 - side
        candidates = rows_of(side)
    stype = f"{'ATS' if side == 0 else 'OTC'}_W_SMBL_FIRM"
    if not len(candidates):
        f.entries.append({"defect": plan.name, "applied": False, "layout": f.layout, "file": f.name,
                          "reason": f"no {stype} rows in tier {block.tier}"})  # fmt: skip
        return
    parts = _parts_of(block.tier, side)
    variants = 2 if plan.name in ("parse_error", "wrong_week") else 1
    for variant in range(variants):
        new_part = None
        for _ in range(200):
            base = int(rng.choice(candidates))
            if plan.name not in ("negative_volume", "zero_volume", "parse_error"):
                break
            new_part = _unused_participant(block, side, int(c["slot"][base]), rng)
            if new_part is not None:
                break
        pos = f.position(bidx, base)
        values = f.row(pos)
        same = np.flatnonzero((c["stype"] == c["stype"][base]) & (c["slot"] == c["slot"][base]))
        after = f.position(bidx, int(same[-1]))
        entry: dict[str, Any] = {
            "defect": plan.name, "applied": True, "layout": f.layout, "file": f.name, "line": 0,
            "week": block.week.isoformat(), "tier": block.tier, "summaryTypeCode": stype,
            "symbol": values["issueSymbolIdentifier"],
        }  # fmt: skip
        if new_part is not None:
            values["MPID"] = str(parts.mpid[new_part])
            values["marketParticipantName"] = str(parts.name[new_part])
            if full:
                values["firmCRDNumber"] = str(parts.crd[new_part])
        entry["participant"] = values["marketParticipantName"]
        shares_field, date_field = "totalWeeklyShareQuantity", "lastUpdateDate"
        if plan.name == "invalid_symbol":
            bad = ("BAD$YM", "B@D", "AB#C")[int(rng.integers(3))]
            field_, old, values["issueSymbolIdentifier"] = (
                "issueSymbolIdentifier",
                values["issueSymbolIdentifier"],
                bad,
            )
            change = f"copy of line {{base}} with issueSymbolIdentifier {bad!r} (not a valid symbol)"
            entry["symbol"] = bad
        elif plan.name == "invalid_mpid":
            mpid = values["MPID"]
            bad = (mpid[:3], mpid + "X", mpid[:2] + "#" + mpid[3:])[int(rng.integers(3))]
            field_, old, values["MPID"] = "MPID", mpid, bad
            values["marketParticipantName"] = bad + values["marketParticipantName"][len(mpid) :]
            entry["participant"] = values["marketParticipantName"]
            change = f"copy of line {{base}} with MPID {bad!r} (not 4 alphanumeric characters)"
        elif plan.name == "negative_volume":
            field_, old = shares_field, values[shares_field]
            values[shares_field] = "-" + old
            if full:
                values["totalNotionalSum"] = "-" + values["totalNotionalSum"]
            change = "a participant with no row for this symbol, with negative totalWeeklyShareQuantity"
        elif plan.name == "zero_volume":
            field_, old = shares_field, values[shares_field]
            values[shares_field], values["totalWeeklyTradeCount"] = "0", "0"
            if full:
                values["totalNotionalSum"] = "0.00"
            change = "a participant with no row for this symbol, with 0 shares and 0 trades"
        elif plan.name == "parse_error" and variant == 0:
            field_, old = shares_field, values[shares_field]
            values[shares_field] = old[:1] + "O" + old[2:] if len(old) > 1 else old + "O"
            change = "a participant with no row for this symbol, with non-numeric totalWeeklyShareQuantity"
        elif plan.name == "parse_error":
            field_, old = date_field, values[date_field]
            values[date_field] = f"{block.week.year}-02-30"
            change = f"a participant with no row for this symbol, with an impossible {date_field}"
        elif plan.name == "invalid_tier":
            field_, old = "tierDescription", values["tierDescription"]
            values["tierDescription"] = "NMS Tier 9"
            if full:
                field_, old = "tierIdentifier", values["tierIdentifier"]
                values["tierIdentifier"] = "T9"
            change = "copy of line {base} with an unknown tier (T9, NMS Tier 9)"
        elif plan.name == "wrong_week":
            shift = 1 if variant == 0 else -7
            field_, old = "weekStartDate", values["weekStartDate"]
            values["weekStartDate"] = (block.week + dt.timedelta(days=shift)).isoformat()
            change = ("copy of line {base} whose weekStartDate is a Tuesday" if variant == 0
                      else "copy of line {base} whose weekStartDate is the previous week's Monday (not this file's week)")  # fmt: skip
        else:  # duplicate
            field_, old = "", ""
            after = pos
            entry["_duplicate_of"] = True
            change = "line {base} repeated verbatim on the next line"
        entry.update({"field": field_, "value": values.get(field_, "") if field_ else "", "original": old})
        entry["change"] = change
        entry["_base"] = pos
        f.insert(after, values, stype, entry)


# --- restatements -----------------------------------------------------------------------------------------


def _next_business_day(day: dt.date) -> dt.date:
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def _previous_business_day(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not is_business_day(day):
        day -= dt.timedelta(days=1)
    return day


def _restate(
    block: _Block, rng: np.random.Generator
) -> tuple[_Block, dt.date, list[int], list[dict[str, Any]], list[int]]:
    """A later vintage of ``block``: a few ``*_SMBL_FIRM`` rows changed by 1-10%, totals kept exact."""
    day = _next_business_day(block.published + dt.timedelta(days=int(rng.integers(5, 26))))
    reported = np.datetime64(_previous_business_day(day), "D")
    new = block.copy()
    c = new.cols
    ats = np.flatnonzero(c["stype"] == _ST["ATS_W_SMBL_FIRM"])
    anyf = np.flatnonzero((c["stype"] == _ST["ATS_W_SMBL_FIRM"]) | (c["stype"] == _ST["OTC_W_SMBL_FIRM"]))
    first = int(rng.choice(ats if len(ats) else anyf))
    rest = anyf[anyf != first]
    chosen = [first, *rng.choice(rest, size=min(2, len(rest)), replace=False).tolist()]
    changes = []
    for r in chosen:
        sign = 1 if rng.random() < 0.5 else -1
        f_sh, f_tr = 1 + sign * rng.uniform(0.01, 0.10), 1 + sign * rng.uniform(0.01, 0.10)
        micro, trades = int(c["micro"][r]), int(c["trades"][r])
        if micro % _MICRO == 0:
            whole = max(1, round(micro / _MICRO * f_sh))
            if whole * _MICRO == micro:
                whole = whole + sign if whole + sign >= 1 else whole + 1
            new_micro = whole * _MICRO
        else:
            new_micro = max(1, round(micro * f_sh))
            new_micro += 1 if new_micro % _MICRO == 0 else 0
        new_trades = max(1, round(trades * f_tr))
        if new_trades == trades:
            new_trades = trades + sign if trades + sign >= 1 else trades + 1
        if new_micro % _MICRO == 0:
            new_trades = min(new_trades, new_micro // _MICRO)
        c["cents"][r] = max(1, round(int(c["cents"][r]) * new_micro / micro))
        c["micro"][r], c["trades"][r] = new_micro, new_trades
        c["updated"][r], c["reported"][r] = np.datetime64(day, "D"), reported
        changes.append({"row": r, "shares": [micro, new_micro], "trades": [trades, new_trades]})
    totals = []
    for r in chosen:
        side, prefix = int(c["side"][r]), ("ATS", "OTC")[int(c["side"][r])]
        firm = c["stype"] == _ST[f"{prefix}_W_SMBL_FIRM"]
        for stype, key in ((f"{prefix}_W_SMBL", "slot"), (f"{prefix}_W_FIRM", "part")):
            members = firm & (c[key] == c[key][r])
            target = np.flatnonzero((c["stype"] == _ST[stype]) & (c[key] == c[key][r]) & (c["side"] == side))
            t = int(target[0])
            for q in ("micro", "trades", "cents"):
                c[q][t] = c[q][members].sum()
            c["reported"][t] = c["reported"][members].max()
            c["updated"][t] = np.datetime64(day, "D")
            if t not in totals:
                totals.append(t)
    new.published = block.published
    return new, day, chosen, changes, sorted(totals)


# --- arguments --------------------------------------------------------------------------------------------


def _hint(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _split(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise GeneratorUsageError(f"expected text, got {item!r}")
        out += [x.strip() for x in item.split(",") if x.strip()]
    return out


def _date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise GeneratorUsageError(f"{what}: expected a date YYYY-MM-DD, got {value!r}")


def _monday(value: object, what: str) -> dt.date:
    day = _date(value, what)
    if day.weekday():
        raise GeneratorUsageError(
            f"{what}: {day.isoformat()} is a {day:%A}; weekStartDate is always a Monday"
        )
    return day


def _tier(value: object) -> str:
    from .calendar import parse_tier

    canon = parse_tier(value)
    if canon is None:
        raise GeneratorUsageError(
            f"unknown tier {value!r}{_hint(str(value), TIER_CODES)}; use T1, T2 or OTCE"
        )
    return TIER_IDS[canon]


def _count(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        else:
            raise GeneratorUsageError(f"{what}: expected a whole number, got {value!r}")
    if not low <= int(value) <= high:
        raise GeneratorUsageError(f"{what}: {value} is out of range {low}..{high}")
    return int(value)


def _normalize(
    *, weeks: Sequence[Any] | None, first_week: Any, num_weeks: int | None, tiers: Sequence[str] | str,
    symbols_per_tier: int | Mapping[str, int] | None, scale: float, layouts: Sequence[str] | str,
    ats8_weeks: Sequence[Any] | None, split_tiers: bool, seed: int, inject: Iterable[str] | str,
    fractional: bool, de_minimis_share: float,
) -> _Config:  # fmt: skip
    if weeks is not None and first_week is not None:
        raise GeneratorUsageError("give weeks or first_week (with num_weeks), not both")
    if weeks is None and first_week is None:
        raise GeneratorUsageError("no weeks: give weeks (Mondays) or first_week and num_weeks")
    if weeks is not None:
        if num_weeks is not None:
            raise GeneratorUsageError("num_weeks goes with first_week, not with weeks")
        items = _split(weeks) if isinstance(weeks, str) else list(weeks)
        week_list = [_monday(w, "week") for w in items]
        if not week_list:
            raise GeneratorUsageError("weeks is empty")
        if len(set(week_list)) != len(week_list):
            raise GeneratorUsageError("weeks lists a week twice")
    else:
        start = _monday(first_week, "first week")
        count = _count(1 if num_weeks is None else num_weeks, "number of weeks", 1, MAX_WEEKS)
        week_list = [start + dt.timedelta(days=7 * i) for i in range(count)]
    week_list.sort()
    if (week_list[-1] - week_list[0]).days // 7 >= MAX_WEEKS:
        raise GeneratorUsageError(f"the weeks span more than {MAX_WEEKS} weeks")
    tier_list = [_tier(t) for t in _split(tiers)]
    if not tier_list:
        raise GeneratorUsageError("no tiers")
    tier_set = set(tier_list)
    tier_tuple = tuple(t for t in TIER_CODES if t in tier_set)
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or not 0 < scale <= 10
    ):
        raise GeneratorUsageError(f"scale: expected a number in (0, 10], got {scale!r}")
    sizes = {t: max(1, round(DEFAULT_SYMBOLS_PER_TIER[t] * scale)) for t in TIER_CODES}
    if symbols_per_tier is not None:
        if isinstance(symbols_per_tier, Mapping):
            for key, value in symbols_per_tier.items():
                tier = _tier(key)
                sizes[tier] = _count(value, f"symbols for {tier}", 1, MAX_SYMBOLS)
        else:
            n = _count(symbols_per_tier, "symbols per tier", 1, MAX_SYMBOLS)
            sizes = dict.fromkeys(TIER_CODES, n)
    layout_list = _split(layouts)
    for lay in layout_list:
        if lay not in LAYOUTS:
            raise GeneratorUsageError(f"unknown layout {lay!r}{_hint(lay, LAYOUTS)}; use full or ats8")
    layout_tuple = tuple(lay for lay in LAYOUTS if lay in layout_list)
    if not layout_tuple:
        raise GeneratorUsageError("no layouts")
    if ats8_weeks is not None:
        if "ats8" not in layout_tuple:
            raise GeneratorUsageError("ats8 weeks given but the ats8 layout is not requested")
        items = _split(ats8_weeks) if isinstance(ats8_weeks, str) else list(ats8_weeks)
        a8 = sorted({_monday(w, "ats8 week") for w in items})
        for w in a8:
            if w not in week_list:
                raise GeneratorUsageError(f"ats8 week {w.isoformat()} is not one of the generated weeks")
        if not a8:
            raise GeneratorUsageError("ats8 weeks is empty")
        ats8_tuple = tuple(a8)
    else:
        ats8_tuple = tuple(week_list) if "ats8" in layout_tuple else ()
    seed = _count(seed, "seed", 0, 2**63 - 1)
    names = _split(inject)
    for name in names:
        if name not in DEFECTS:
            raise GeneratorUsageError(
                f"unknown defect {name!r}{_hint(name, DEFECTS)}; known: {', '.join(DEFECTS)}"
            )
    share = de_minimis_share
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
        raise GeneratorUsageError(f"de minimis share: expected a number in (0, 1), got {share!r}")
    return _Config(
        weeks=tuple(week_list), tiers=tier_tuple, sizes=sizes, layouts=layout_tuple, ats8_weeks=ats8_tuple,
        split_tiers=bool(split_tiers), seed=seed, inject=tuple(d for d in DEFECTS if d in set(names)),
        fractional=bool(fractional), de_minimis_share=float(share),
    )  # fmt: skip


# --- public API -------------------------------------------------------------------------------------------


def _week_files(cfg: _Config, sw: _SimWeek) -> list[tuple[_File, dict[str, int]]]:
    """The initial files of one week, each with the index of every tier's block in it."""
    out: list[tuple[_File, dict[str, int]]] = []
    week = sw.info.monday.isoformat()
    if "full" in cfg.layouts:
        if cfg.split_tiers:
            for tier in (*cfg.tiers, "NA"):
                block = sw.blocks[tier] if tier != "NA" else sw.na
                name = f"finra_otc_weekly_{tier}_{week}_pub{_pub(block.published)}.psv"
                out.append((_File(name, "full", "initial", block.published, [block]), {tier: 0}))
        else:
            blocks = [sw.blocks[t] for t in cfg.tiers] + [sw.na]
            pub = max(b.published for b in blocks)
            name = f"finra_otc_weekly_{week}_pub{_pub(pub)}.psv"
            out.append((_File(name, "full", "initial", pub, blocks), {t: i for i, t in enumerate(cfg.tiers)}))
    if "ats8" in cfg.layouts and sw.info.monday in cfg.ats8_weeks:
        for tier in cfg.tiers:
            block = sw.blocks[tier]
            name = f"finra_otc_ats_{tier}_{week}_pub{_pub(block.published)}.psv"
            out.append((_File(name, "ats8", "initial", block.published, [block]), {tier: 0}))
    return out


def _file_weeks_tiers(f: _File) -> tuple[list[str], list[str]]:
    weeks = sorted({b.week.isoformat() for b in f.blocks})
    tiers = [b.tier for b in f.blocks]
    return weeks, tiers


def _lines_where(f: _File, bidx: int, mask: np.ndarray) -> list[int]:
    rows = f.row_maps[bidx]
    keep = rows[mask[rows]]
    return [f.line_of(f.position(bidx, int(r))) for r in keep]


def _restatement(
    sw: _SimWeek, tier: str, rng: np.random.Generator, files: list[tuple[_File, dict[str, int]]]
) -> tuple[list[tuple[_File, dict[str, int]]], dict[str, Any]]:
    """The later vintage of (week, tier) in each layout that has the week, and its manifest entry."""
    monday = sw.info.monday
    block, day, chosen, changes, totals = _restate(sw.blocks[tier], rng)
    entry: dict[str, Any] = {
        "defect": "restatement", "applied": True, "week": monday.isoformat(), "tier": tier,
        "initial_publication": block.published.isoformat(), "restatement_date": day.isoformat(), "files": [],
    }  # fmt: skip
    vintages = []
    c = block.cols
    for f0, index in files:
        if tier not in index:
            continue
        prefix = "finra_otc_weekly" if f0.layout == "full" else "finra_otc_ats"
        vf = _File(
            f"{prefix}_{tier}_{monday.isoformat()}_pub{_pub(day)}.psv", f0.layout, "restatement", day, [block]
        )
        vintages.append((vf, {tier: 0}))
        changed = [
            {
                "line": vf.line_of(vf.position(0, r)), "summaryTypeCode": SUMMARY_TYPES[int(c["stype"][r])],
                "symbol": str(c["symbol"][r]), "participant": str(c["pname"][r]), "MPID": str(c["mpid"][r]),
                "firmCRDNumber": str(c["crd"][r]), "shares": _fmt_micro(np.array(ch["shares"])),
                "trades": [str(v) for v in ch["trades"]],
            }
            for r, ch in zip(chosen, changes, strict=True)
            if f0.layout == "full" or c["stype"][r] == _ST["ATS_W_SMBL_FIRM"]
        ]  # fmt: skip
        total_lines = [vf.line_of(vf.position(0, t)) for t in totals] if f0.layout == "full" else []
        entry["files"].append({"layout": f0.layout, "file": vf.name, "supersedes": f0.name,
                               "changed_rows": changed, "updated_total_lines": total_lines})  # fmt: skip
    return vintages, entry


def _marker_entries(
    f: _File, index: dict[str, int], events: list[dict[str, Any]], *, de_minimis: bool
) -> list[dict[str, Any]]:
    """Manifest entries of the data-level features in file ``f``: the De Minimis bucket and two_tiers."""
    out = []
    if de_minimis and f.layout == "full":
        lines: list[int] = []
        by_type: dict[str, int] = {}
        for bidx in index.values():
            cols = f.blocks[bidx].cols
            mask = cols["pname"] == _DE_MINIMIS
            lines += _lines_where(f, bidx, mask)
            for st in ("OTC_W_SMBL_FIRM", "OTC_W_FIRM"):
                n = int((mask & (cols["stype"] == _ST[st])).sum())
                if n:
                    by_type[st] = by_type.get(st, 0) + n
        out.append({"defect": "de_minimis", "applied": True, "layout": "full", "file": f.name, "rows": len(lines),
                    "rows_by_summary_type": by_type, "first_line": min(lines) if lines else None})  # fmt: skip
    for event in events:
        tiers = [t for t in ("T1", "T2") if t in index]
        if event["event"] != "two_tiers" or not tiers:
            continue
        found = {
            t: _lines_where(f, index[t], f.blocks[index[t]].cols["symbol"] == event["symbol"]) for t in tiers
        }
        out.append({"defect": "two_tiers", "applied": True, "layout": f.layout, "file": f.name,
                    "week": event["week"], "symbol": event["symbol"],
                    "replaces_T2_symbol": event["replaces_T2_symbol"], "lines": found})  # fmt: skip
    return out


def generate(
    out_dir: str | os.PathLike[str],
    *,
    weeks: Sequence[dt.date | str] | None = None,
    first_week: dt.date | str | None = None,
    num_weeks: int | None = None,
    tiers: Sequence[str] | str = TIER_CODES,
    symbols_per_tier: int | Mapping[str, int] | None = None,
    scale: float = 1.0,
    layouts: Sequence[str] | str = LAYOUTS,
    ats8_weeks: Sequence[dt.date | str] | None = None,
    split_tiers: bool = False,
    seed: int = 0,
    inject: Iterable[str] | str = (),
    fractional: bool = True,
    de_minimis_share: float = DEFAULT_DE_MINIMIS_SHARE,
) -> list[Path]:
    """Write synthetic FINRA OTC weekly files and ``manifest.json`` into ``out_dir``; return the data files.

    ``weeks`` (Mondays) or ``first_week`` + ``num_weeks`` choose the weeks; ``tiers`` any of T1/T2/OTCE;
    ``symbols_per_tier`` the universe size (an int for every tier, or a mapping per tier; default
    :data:`DEFAULT_SYMBOLS_PER_TIER` x ``scale``); ``layouts`` ``full`` and/or ``ats8``; ``ats8_weeks`` the weeks
    that get ats8 files (default: all); ``split_tiers`` one full file per (week, tier); ``inject`` defect names
    from :data:`DEFECTS`; ``fractional`` 6-decimal shares on some non-ATS rows; ``de_minimis_share`` the mean
    share of non-ATS volume in the ``De Minimis Firms`` bucket (with ``inject={"de_minimis"}``).

    Files of the same names are overwritten; other files in ``out_dir`` are left alone. Raises
    :class:`GeneratorUsageError` for bad arguments (before writing anything).
    """
    cfg = _normalize(
        weeks=weeks, first_week=first_week, num_weeks=num_weeks, tiers=tiers, symbols_per_tier=symbols_per_tier,
        scale=scale, layouts=layouts, ats8_weeks=ats8_weeks, split_tiers=split_tiers, seed=seed, inject=inject,
        fractional=fractional, de_minimis_share=de_minimis_share,
    )  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plans, defects = _plan_defects(cfg)
    restate_rng = _rng(cfg.seed, "restatement")
    restate_weeks = cfg.weeks if "full" in cfg.layouts else cfg.ats8_weeks
    restate_at = (restate_weeks[int(restate_rng.integers(len(restate_weeks)))],
                  cfg.tiers[int(restate_rng.integers(len(cfg.tiers)))])  # fmt: skip
    has = set(cfg.inject)
    de_minimis = "de_minimis" in has
    if de_minimis and "full" not in cfg.layouts:
        defects.append({"defect": "de_minimis", "applied": False,
                        "reason": "the bucket is a non-ATS participant; ats8 files hold ATS rows only"})  # fmt: skip
    two_tiers = "two_tiers" in has
    if two_tiers and not {"T1", "T2"} <= set(cfg.tiers):
        defects.append({"defect": "two_tiers", "applied": False, "reason": "needs tiers T1 and T2"})
        two_tiers = False
    holiday_weeks = [w for w in cfg.weeks if w in market_holidays(w.year)]
    if "monday_holiday" in has and not holiday_weeks:
        defects.append({"defect": "monday_holiday", "applied": False,
                        "reason": "no requested week starts on a market holiday (e.g. 2026-09-07, Labor Day)"})  # fmt: skip
    files_meta: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    written: list[Path] = []

    def finish(f: _File) -> None:
        data, rows, counts = f.render()
        (out / f.name).write_bytes(data)
        written.append(out / f.name)
        weeks_, tiers_ = _file_weeks_tiers(f)
        files_meta.append({
            "file": f.name, "layout": f.layout, "vintage": f.vintage, "weeks": weeks_, "tiers": tiers_,
            "publication_date": f.published.isoformat(), "rows": rows, "rows_by_summary_type": counts,
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        })  # fmt: skip
        defects.extend(f.entries)

    for sw in _simulate(cfg, de_minimis=de_minimis, two_tiers=two_tiers):
        monday = sw.info.monday
        events.extend(e for e in sw.events if e["event"] != "two_tiers")
        files = _week_files(cfg, sw)
        for plan in plans:
            if plan.week == monday:
                for f, index in files:
                    if f.layout == plan.layout and plan.tier in index:
                        _inject(f, index[plan.tier], plan)
        vintages: list[tuple[_File, dict[str, int]]] = []
        if "restatement" in has and restate_at[0] == monday:
            vintages, entry = _restatement(sw, restate_at[1], restate_rng, files)
            defects.append(entry)
        for f, index in files + vintages:
            defects.extend(_marker_entries(f, index, sw.events, de_minimis=de_minimis))
            finish(f)
        if "monday_holiday" in has and monday in holiday_weeks:
            names = [f.name for f, _ in files + vintages]
            defects.append({"defect": "monday_holiday", "applied": True, "week": monday.isoformat(),
                            "holiday": monday.isoformat(), "files": names,
                            "publication_dates": {t: sw.info.published[t].isoformat() for t in cfg.tiers},
                            "last_reported_date": sw.info.week_end.isoformat()})  # fmt: skip

    order = {name: i for i, name in enumerate(DEFECTS)}
    defects.sort(key=lambda e: (order[e["defect"]], e.get("layout", ""), e.get("file", ""), e.get("line", 0)))
    manifest = {
        "generator": "spine_dagster.domains.finra_otc.generate",
        "format_version": 1,
        "arguments": cfg.arguments(),
        "weeks": [w.isoformat() for w in cfg.weeks],
        "tiers": list(cfg.tiers),
        "files": files_meta,
        "defects": defects,
        "events": events,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written


def generate_frame(
    *,
    weeks: Sequence[dt.date | str] | None = None,
    first_week: dt.date | str | None = None,
    num_weeks: int | None = None,
    tiers: Sequence[str] | str = TIER_CODES,
    symbols_per_tier: int | Mapping[str, int] | None = None,
    scale: float = 1.0,
    seed: int = 0,
    fractional: bool = True,
    de_minimis: bool = False,
    de_minimis_share: float = DEFAULT_DE_MINIMIS_SHARE,
) -> pd.DataFrame:
    """The clean ``full`` records of the requested weeks as text (str) columns, without writing files.

    Same rows, order and text as the week files :func:`generate` writes for the same arguments (without
    ``split_tiers``): per week the T1, T2, OTCE rows and then the week's ``NA`` rows. Memory grows with the
    weeks (a full-size week is about 260k rows).
    """
    import pandas as pd

    cfg = _normalize(
        weeks=weeks, first_week=first_week, num_weeks=num_weeks, tiers=tiers, symbols_per_tier=symbols_per_tier,
        scale=scale, layouts=("full",), ats8_weeks=None, split_tiers=False, seed=seed, inject=(),
        fractional=fractional, de_minimis_share=de_minimis_share,
    )  # fmt: skip
    cols: list[list[str]] = [[] for _ in FULL_COLUMNS]
    for sw in _simulate(cfg, de_minimis=de_minimis, two_tiers=False):
        for block in [*sw.blocks.values(), sw.na]:
            for acc, col in zip(cols, _full_text(block), strict=True):
                acc.extend(col)
    return pd.DataFrame(
        {name: pd.array(col, dtype="str") for name, col in zip(FULL_COLUMNS, cols, strict=True)}
    )


def ats8_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """FINRA's 8-column ATS export of a ``full`` text frame: its ``ATS_W_SMBL_FIRM`` rows, same order."""
    rows = frame[frame["summaryTypeCode"] == "ATS_W_SMBL_FIRM"]
    return rows.loc[:, list(ATS8_COLUMNS)].reset_index(drop=True)


# --- command line -----------------------------------------------------------------------------------------

_PROG = "python -m spine_dagster.domains.finra_otc.generate"
_EPILOG = """\
files (pipe-delimited, header row, LF, no quoting):
  full   finra_otc_weekly_{weekStartDate}_pub{YYYYMMDD}.psv: every tier and summary type of one week
         (the pub date is the latest initialPublishedDate of its tiers); with --split-tiers one file per
         tier, finra_otc_weekly_{T1|T2|OTCE|NA}_{weekStartDate}_pub{YYYYMMDD}.psv
  ats8   finra_otc_ats_{T1|T2|OTCE}_{weekStartDate}_pub{YYYYMMDD}.psv: FINRA's 8-column ATS export
  a restatement adds finra_otc_weekly_{tier}_{weekStartDate}_pub{later}.psv (and the ats8 twin)
  manifest.json: files, row counts per summary type, sha256, where each defect was put (file, line),
                 and events (venue entries/exits, the June T1/T2 reclassification)

defects (--inject NAME[,NAME]; each placed deterministically, one per layout, and listed in manifest.json):
  invalid_symbol   a row whose symbol has a character no symbol has (BAD$YM, B@D, AB#C)
  invalid_mpid     an ATS row whose MPID has 3 or 5 characters or a non-alphanumeric one
  negative_volume  a row with negative shares
  zero_volume      a row with 0 shares and 0 trades
  parse_error      a row with non-numeric shares, and one with an impossible lastUpdateDate (YYYY-02-30)
  invalid_tier     a row with tier T9 / NMS Tier 9
  wrong_week       (full only) a row whose weekStartDate is a Tuesday, one with the previous Monday
  duplicate        one SMBL_FIRM row repeated verbatim
  restatement      a later vintage file of one (week, tier): a few rows' shares and trades changed by
                   1-10%%, lastUpdateDate/lastReportedDate bumped, totals kept exact
  two_tiers        one symbol present in both T1 and T2 one week
  de_minimis       non-ATS 'De Minimis Firms' rows (CRD 0) with --de-minimis-share of the volume
  monday_holiday   record the requested weeks whose Monday is a market holiday (e.g. 2026-09-07);
                   nothing is added when there is none (the manifest says so)
  The reject defects add rows; every other row stays clean and consistent.

exit status: 0 success, 1 the files could not be written, 2 bad usage.

example:
  %(prog)s --out /tmp/finra --first-week 2025-11-17 --num-weeks 6 --symbols-per-tier T1=40,T2=60,OTCE=30
"""


def _symbols_arg(text: str) -> int | dict[str, int]:
    text = text.strip()
    if "=" not in text:
        return _count(text, "--symbols-per-tier", 1, MAX_SYMBOLS)
    out = {}
    for item in _split(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise GeneratorUsageError(f"--symbols-per-tier: expected TIER=N, got {item!r}")
        out[_tier(key.strip())] = _count(value.strip(), f"symbols for {key.strip()}", 1, MAX_SYMBOLS)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Write deterministic synthetic FINRA OTC Transparency weekly files (ATS and non-ATS "
        "volume per symbol and participant) in FINRA's layouts, with optional defects.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    when = parser.add_argument_group("weeks (give --weeks, or --first-week with --num-weeks)")
    when.add_argument("--weeks", metavar="DATE[,DATE]", help="weekStartDate Mondays, YYYY-MM-DD")
    when.add_argument("--first-week", metavar="DATE", help="the first weekStartDate (a Monday)")
    when.add_argument(
        "--num-weeks", type=int, metavar="N", help="consecutive weeks from --first-week (default 1)"
    )
    what = parser.add_argument_group("data")
    what.add_argument("--tiers", default="T1,T2,OTCE", metavar="T[,T]", help="T1, T2, OTCE (default: all)")
    what.add_argument(
        "--symbols-per-tier", metavar="N|T1=N,..",
        help="symbols in each tier's universe: one number for all tiers or per tier "
        f"(default {DEFAULT_SYMBOLS_PER_TIER['T1']}/{DEFAULT_SYMBOLS_PER_TIER['T2']}/"
        f"{DEFAULT_SYMBOLS_PER_TIER['OTCE']} x --scale, about 260k rows a week)",
    )  # fmt: skip
    what.add_argument("--scale", type=float, default=1.0, metavar="F",
                      help="multiplies the default universe sizes (e.g. 0.01, 0.1, 1; default 1)")  # fmt: skip
    what.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    what.add_argument("--fractional", action=argparse.BooleanOptionalAction, default=True,
                      help="6-decimal fractional shares on some non-ATS rows (default on)")  # fmt: skip
    what.add_argument("--de-minimis-share", type=float, default=DEFAULT_DE_MINIMIS_SHARE, metavar="F",
                      help="mean share of non-ATS volume in the De Minimis bucket, with --inject de_minimis "
                      f"(default {DEFAULT_DE_MINIMIS_SHARE})")  # fmt: skip
    what.add_argument("--inject", action="append", default=[], metavar="NAME[,NAME]",
                      help="add defects (repeatable; see below)")  # fmt: skip
    how = parser.add_argument_group("output")
    how.add_argument("--layouts", "--layout", default="full,ats8", metavar="L[,L]",
                     help="full and/or ats8 (default both)")  # fmt: skip
    how.add_argument(
        "--ats8-weeks", metavar="DATE[,DATE]", help="weeks that get ats8 files (default: every week)"
    )
    how.add_argument(
        "--split-tiers", action="store_true", help="one full file per (week, tier) instead of per week"
    )
    how.add_argument("--quiet", action="store_true", help="do not list the files written")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        symbols = _symbols_arg(args.symbols_per_tier) if args.symbols_per_tier is not None else None
        paths = generate(
            args.out, weeks=args.weeks, first_week=args.first_week, num_weeks=args.num_weeks, tiers=args.tiers,
            symbols_per_tier=symbols, scale=args.scale, layouts=args.layouts, ats8_weeks=args.ats8_weeks,
            split_tiers=args.split_tiers, seed=args.seed, inject=args.inject, fractional=args.fractional,
            de_minimis_share=args.de_minimis_share,
        )  # fmt: skip
    except GeneratorUsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{parser.prog}: error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        for path in [*paths, Path(args.out) / "manifest.json"]:
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
