"""The universe of one tier when the simulation starts: each symbol's identity (ticker, issue name, product),
its OTCE class, and the initial state of the market model (volume level, price, presence chains).

Every draw comes from the tier's ``universe`` stream in a fixed order: reordering them changes every file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .calibration import (
    OTCE_OTHER_EXCLUSIVE_SHARE,
    OTCE_PPEX_SHARE,
    PARAMS,
    TierParams,
    sigmoid,
    solve_offset,
)
from .participants import Parts
from .reference import OTCE_EXCLUSIVE_VENUES, OTCE_REGULAR_VENUES
from .symbols import nms_issue, otce_issue

# How strongly a symbol's weekly presence follows its volume level (logit slope on the standard level).
_PRESENCE_SLOPE = 1.5


@dataclass
class _Presence:
    """Presence of the symbols on one side: stationary probability, mean weekly exit rate, tier coverage."""

    pi: np.ndarray
    tau: np.ndarray
    cover: np.ndarray

    def transitions(self) -> tuple[np.ndarray, np.ndarray]:
        """(q_off, q_on) of the Markov presence chain with stationary probability pi and exit rate tau."""
        q_off = np.clip(self.tau * (1 - self.pi) / (1 - self.cover), 0, 1)
        q_on = np.clip(self.tau * self.pi / (1 - self.cover), 0, 1)
        return q_off, q_on


def _otce_classes(ur: np.random.Generator, n: int) -> np.ndarray:
    """0 for a regular OTCE issue, 1 + i for one that trades only on ``OTCE_EXCLUSIVE_VENUES[i]``."""
    klass = np.zeros(n, dtype=np.int64)
    u = ur.random(n)
    klass[u < OTCE_PPEX_SHARE] = 1
    other = (u >= OTCE_PPEX_SHARE) & (u < OTCE_PPEX_SHARE + OTCE_OTHER_EXCLUSIVE_SHARE)
    klass[other] = 2 + ur.integers(0, len(OTCE_EXCLUSIVE_VENUES) - 1, int(other.sum()))
    return klass


def _issues(
    ur: np.random.Generator, symbols: list[str], klass: np.ndarray, otce: bool
) -> tuple[list[str], list[str], np.ndarray]:
    """(issueName, productTypeCode, is an ETF) of every symbol."""
    issues, products, etf = [], [], []
    for sym, k in zip(symbols, klass, strict=True):
        if otce:
            issues.append(otce_issue(ur, sym, int(k)))
            products.append("OTC")
            etf.append(False)
        else:
            name, product, is_etf = nms_issue(ur, sym)
            issues.append(name)
            products.append(product)
            etf.append(is_etf)
    return issues, products, np.array(etf, dtype=bool)


def _levels(
    prm: TierParams, ur: np.random.Generator, z: np.ndarray, etf: np.ndarray
) -> dict[str, np.ndarray]:
    """Volume level (split-lognormal ``mu``, AR(1) ``sigma``), log price, non-ATS ratio and trade-size factor."""
    n = len(z)
    # The level's spread net of the AR(1) dynamics, so levels + dynamics have the calibrated sd_left/sd_right.
    stat = prm.sigma / math.sqrt(1 - prm.phi**2)
    sd_l = math.sqrt(max(prm.sd_left**2 - stat**2, 0.01))
    sd_r = math.sqrt(max(prm.sd_right**2 - stat**2, 0.01))
    mu = math.log(prm.median) + np.where(z < 0, z * sd_l, z * sd_r)
    sigma = np.full(n, prm.sigma)
    logprice = math.log(prm.price_median) + prm.price_sd * ur.standard_normal(n)
    ratio = math.log(prm.otc_ratio[0]) + prm.otc_ratio[1] * ur.standard_normal(n)
    size = np.exp(prm.trade_size_sd * ur.standard_normal(n)) * np.where(etf, 3.0, 1.0)
    return {"mu": mu, "sigma": sigma, "logprice": logprice, "ratio": ratio, "size": size}


def _presence(prm: TierParams, z: np.ndarray) -> tuple[_Presence, _Presence]:
    """ATS and non-ATS presence: busier symbols are present more often, the tier's coverage on average."""
    n, b = len(z), _PRESENCE_SLOPE
    ats = _Presence(
        sigmoid(solve_offset(prm.ats_coverage, b) + b * z),
        np.full(n, prm.ats_turnover),
        np.full(n, prm.ats_coverage),
    )
    otc = _Presence(
        sigmoid(solve_offset(prm.otc_coverage, b) + b * z),
        np.full(n, prm.otc_turnover),
        np.full(n, prm.otc_coverage),
    )
    return ats, otc


def _exclusive_issues(
    state: dict[str, np.ndarray], ats: _Presence, otc: _Presence, klass: np.ndarray, z: np.ndarray
) -> None:
    """OTCE issues of an exclusive venue (PPEX and the like): steady small volume, ATS only, price near $10."""
    ppex, excl = klass == 1, klass >= 2
    state["mu"] = np.where(
        ppex, math.log(400) + 0.8 * z, np.where(excl, math.log(3000) + 1.5 * z, state["mu"])
    )
    state["sigma"] = np.where(ppex, 0.35, np.where(excl, 0.6, state["sigma"]))
    state["logprice"] = np.where(klass >= 1, math.log(10) + 0.4 * z, state["logprice"])
    # Penny stocks trade in bigger share lots than $10 issues.
    state["size"] = state["size"] * np.clip((0.5 / np.exp(state["logprice"])) ** 0.4, 0.05, 500.0)
    ats.pi = np.where(ppex, 0.9, np.where(excl, 0.6, ats.pi))
    ats.cover = np.where(klass >= 1, ats.pi, ats.cover)
    ats.tau = np.where(klass >= 1, 0.05, ats.tau)
    otc.pi = np.where(klass >= 1, 0.0, otc.pi)


def initial_state(tier: str, ur: np.random.Generator, symbols: list[str]) -> dict[str, Any]:
    """Per-symbol arrays of ``tier``'s model at the first week (identity, levels, presence), drawn from ``ur``."""
    prm, n, otce = PARAMS[tier], len(symbols), tier == "OTCE"
    klass = _otce_classes(ur, n) if otce else np.zeros(n, dtype=np.int64)
    issues, products, etf = _issues(ur, symbols, klass, otce)
    z = ur.standard_normal(n)  # the symbol's standardized volume level
    state: dict[str, Any] = {
        "symbol": np.array(symbols, dtype=object), "issue": np.array(issues, dtype=object),
        "product": np.array(products, dtype=object), "klass": klass, **_levels(prm, ur, z, etf),
    }  # fmt: skip
    ats, otc = _presence(prm, z)
    if otce:
        _exclusive_issues(state, ats, otc, klass, z)
    state["q_off_ats"], state["q_on_ats"] = ats.transitions()
    state["q_off_otc"], state["q_on_otc"] = otc.transitions()
    state["dev"] = state["sigma"] / math.sqrt(1 - prm.phi**2) * ur.standard_normal(n)
    state["nu"] = ur.standard_normal(n)
    state["ats_on"] = ur.random(n) < ats.pi
    state["otc_on"] = ur.random(n) < otc.pi
    return state


def otce_allowed_venues(ats: Parts, klass: np.ndarray) -> np.ndarray:
    """(symbols x venues) mask: regular OTCE issues trade on the regular venues, the others on their own."""
    allowed = np.zeros((len(klass), len(ats.code)), dtype=bool)
    regular = [ats.index(c) for c in OTCE_REGULAR_VENUES]
    allowed[np.ix_(klass == 0, regular)] = True
    for i, venue in enumerate(OTCE_EXCLUSIVE_VENUES):
        allowed[klass == 1 + i, ats.index(venue)] = True
    return allowed
