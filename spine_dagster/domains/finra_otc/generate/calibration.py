"""Calibration of the market model: per-tier parameters (``reference/finra-otc.md`` §4.1, §4.3, §4.4), the
model's other constants, and the seeded random streams every draw comes from.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TierParams:
    """The calibration of one tier."""

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


PARAMS = {
    "T1": TierParams(
        median=300_000, sd_left=3.4, sd_right=1.5, phi=0.75, sigma=0.30, price_median=50, price_sd=0.9,
        price_walk=0.04, ats_coverage=0.925, otc_coverage=0.963, ats_turnover=0.003, otc_turnover=0.003,
        alpha_ats=15.0, alpha_otc=6.0, k_ats=(31, 17.0, 1.6), k_otc=(35, 9.0, 1.6), otc_ratio=(2.5, 0.35),
        trade_size_sd=0.4, late_share=0.2,
    ),
    "T2": TierParams(
        median=45_000, sd_left=2.6, sd_right=1.8, phi=0.75, sigma=0.5, price_median=25, price_sd=1.0,
        price_walk=0.05, ats_coverage=0.833, otc_coverage=0.949, ats_turnover=0.008, otc_turnover=0.008,
        alpha_ats=6.0, alpha_otc=5.0, k_ats=(28, 9.9, 1.4), k_otc=(35, 11.3, 1.4), otc_ratio=(2.5, 0.4),
        trade_size_sd=0.45, late_share=0.2,
    ),
    "OTCE": TierParams(
        median=5_000, sd_left=3.0, sd_right=2.8, phi=0.7, sigma=1.5, price_median=0.5, price_sd=2.0,
        price_walk=0.12, ats_coverage=0.396, otc_coverage=0.92, ats_turnover=0.25, otc_turnover=0.10,
        alpha_ats=3.0, alpha_otc=3.0, k_ats=(3, 1.72, 1.0), k_otc=(10, 1.45, 1.2), otc_ratio=(3.0, 0.8),
        trade_size_sd=0.3, late_share=0.2,
    ),
}  # fmt: skip
VENUE_PERSISTENCE = 0.9  # rho of the week-to-week Dirichlet venue/firm shares
MARKET_SD = 0.12  # of the weekly log market factor
OTCE_PPEX_SHARE = 0.06  # of the OTCE universe: PPEX-only issues (about 400 ATS rows a week)
OTCE_OTHER_EXCLUSIVE_SHARE = 0.01  # ... issues of the other exclusive venues
FRACTIONAL_PROBABILITY = 0.68  # of a retail-wholesaler non-ATS row
DE_MINIMIS_PRESENCE = 0.85  # of a symbol's non-ATS rows when the bucket is on
RECLASS_SHARE = 0.07  # of T1 (and as many T2) names moving tier in the June reclassification week


def sigmoid(x: np.ndarray | float) -> Any:
    """The logistic function, elementwise."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@functools.cache
def solve_offset(target: float, slope: float) -> float:
    """``c`` with E[sigmoid(c + slope * Z)] = target for a standard normal Z (bisection on Gauss-Hermite)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    lo, hi = -40.0, 40.0
    norm = math.sqrt(2 * math.pi)
    for _ in range(100):
        mid = (lo + hi) / 2
        mean = float(np.sum(weights * sigmoid(mid + slope * nodes)) / norm)
        lo, hi = (mid, hi) if mean < target else (lo, mid)
    return (lo + hi) / 2


def seeded_rng(seed: int, stream: str, *extra: int) -> np.random.Generator:
    """The random stream named ``stream`` (and ``extra`` integers) of ``seed``.

    Each concern draws from its own stream, so adding draws to one (a defect, a tier) leaves the numbers of
    the others unchanged.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(stream.encode()), *extra]))
