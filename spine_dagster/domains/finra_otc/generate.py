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
from statistics import NormalDist
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
_DAY = np.timedelta64(1, "D")
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
    ("OTCN", "OTC LINK NQB IDQS", "OTC LINK LLC", 80.0, 8_000),
    ("OTCX", "OTC LINK ECN ATS", "OTC LINK LLC", 15.0, 1_200),
    ("ARCA", "GLOBAL OTC", "ARCHIPELAGO TRADING SERVICES, INC.", 4.0, 240),
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
        median=300_000, sd_left=3.0, sd_right=1.5, phi=0.75, sigma=0.30, price_median=50, price_sd=0.9,
        price_walk=0.04, ats_coverage=0.925, otc_coverage=0.963, ats_turnover=0.003, otc_turnover=0.003,
        alpha_ats=12.0, alpha_otc=6.0, k_ats=(31, 17.0, 1.6), k_otc=(35, 9.0, 1.6), otc_ratio=(2.5, 0.35),
        trade_size_sd=0.4, late_share=0.2,
    ),
    "T2": _TierParams(
        median=45_000, sd_left=2.6, sd_right=1.8, phi=0.75, sigma=0.5, price_median=25, price_sd=1.0,
        price_walk=0.05, ats_coverage=0.833, otc_coverage=0.949, ats_turnover=0.008, otc_turnover=0.008,
        alpha_ats=6.0, alpha_otc=5.0, k_ats=(28, 10.5, 1.4), k_otc=(35, 11.5, 1.4), otc_ratio=(2.5, 0.4),
        trade_size_sd=0.45, late_share=0.2,
    ),
    "OTCE": _TierParams(
        median=5_000, sd_left=3.0, sd_right=2.8, phi=0.7, sigma=1.5, price_median=0.5, price_sd=2.0,
        price_walk=0.12, ats_coverage=0.396, otc_coverage=0.92, ats_turnover=0.25, otc_turnover=0.10,
        alpha_ats=3.0, alpha_otc=3.0, k_ats=(3, 1.72, 1.0), k_otc=(10, 1.65, 1.2), otc_ratio=(3.0, 0.8),
        trade_size_sd=0.3, late_share=0.2,
    ),
}  # fmt: skip
_VENUE_PERSISTENCE = 0.9  # rho of the week-to-week Dirichlet venue/firm shares
_MARKET_SD = 0.12
_OTCE_PPEX_SHARE = 0.06  # of the OTCE universe: PPEX-only issues (about 400 ATS rows a week)
_OTCE_OTHER_EXCLUSIVE_SHARE = 0.01
_FRACTIONAL_PROBABILITY = 0.3  # of a retail-wholesaler non-ATS row
_DE_MINIMIS_PRESENCE = 0.85  # of a symbol's non-ATS rows when the bucket is on
_RECLASS_SHARE = 0.07  # of T1 (and as many T2) names moving tier in the June reclassification week

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(80)


def _sigmoid(x: np.ndarray | float) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@functools.cache
def _solve_offset(target: float, slope: float) -> float:
    """``c`` with E[sigmoid(c + slope * Z)] = target for a standard normal Z (bisection on Gauss-Hermite)."""
    lo, hi = -40.0, 40.0
    norm = math.sqrt(2 * math.pi)
    for _ in range(100):
        mid = (lo + hi) / 2
        mean = float(np.sum(_GH_WEIGHTS * _sigmoid(mid + slope * _GH_NODES)) / norm)
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
