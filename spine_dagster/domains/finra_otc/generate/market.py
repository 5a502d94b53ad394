"""The market simulation of one tier (:class:`TierSim`): weekly AR(1) volume dynamics, presence chains,
persistent Dirichlet venue/firm splits, and the week's rows of the six per-tier summary types.

Every draw comes from the tier's ``dynamics`` stream in a fixed order, and is made whatever the flags
(fractional shares, De Minimis bucket), so toggling a flag changes only what it governs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .calibration import (
    DE_MINIMIS_PRESENCE,
    FRACTIONAL_PROBABILITY,
    PARAMS,
    VENUE_PERSISTENCE,
    seeded_rng,
    sigmoid,
    solve_offset,
)
from .participants import Parts, ats_parts, firm_parts
from .reference import DE_MINIMIS, MICRO, TIER_INDEX
from .rows import Block, aggregate, group_starts, make_rows
from .universe import initial_state, otce_allowed_venues
from .weeks import Week


@dataclass(frozen=True)
class _WeekView:
    """What both sides of one tier's week share: the week, the symbols as printed, and the flags."""

    wk: Week
    zt: np.ndarray  # each symbol's standardized volume level this week
    ident: dict[str, np.ndarray]  # symbol, issue, product, logprice as printed (two_tiers may swap one)
    sym_rank: np.ndarray  # each symbol's rank in file order
    price: np.ndarray
    published: dt.date
    fractional: bool
    de_minimis: bool
    de_minimis_share: float


@dataclass(frozen=True)
class _RowNoise:
    """Per-row draws: trade-count noise, fractional choice and digits, price noise, late score, minimum lot."""

    ts: np.ndarray
    frac_u: np.ndarray
    frac_m: np.ndarray
    px: np.ndarray
    late: np.ndarray
    lot: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, r: int) -> _RowNoise:
        """The draws of ``r`` venue or firm rows."""
        ts, frac_u, frac_m = rng.standard_normal(r), rng.random(r), rng.integers(1, MICRO, r)
        px, late, lot = rng.standard_normal(r), rng.random(r), rng.standard_normal(r)
        return cls(ts, frac_u, frac_m, px, late, lot)

    @classmethod
    def draw_bucket(cls, rng: np.random.Generator, n: int) -> _RowNoise:
        """The draws of a De Minimis row for each of ``n`` symbols (``frac_u`` 0: always fractional if allowed)."""
        ts, frac_m, px = rng.standard_normal(n), rng.integers(1, MICRO, n), rng.standard_normal(n)
        late, lot = rng.random(n), rng.standard_normal(n)
        return cls(ts, np.zeros(n), frac_m, px, late, lot)

    def append(self, other: _RowNoise, rows: np.ndarray) -> _RowNoise:
        """These draws followed by ``other``'s at ``rows``."""
        return _RowNoise(
            *(np.concatenate([getattr(self, f.name), getattr(other, f.name)[rows]]) for f in fields(self))
        )


class TierSim:
    """Per-symbol state of one tier: identity, volume level (AR(1)), presence chains, venue/firm shares."""

    def __init__(self, tier: str, seed: int, symbols: list[str]) -> None:
        self.tier = tier
        self.n = len(symbols)
        self.prm = PARAMS[tier]
        otce = tier == "OTCE"
        self.parts = (ats_parts(otce), firm_parts(otce))
        self.s: dict[str, Any] = initial_state(tier, seeded_rng(seed, "universe", TIER_INDEX[tier]), symbols)
        self.dyn = seeded_rng(seed, "dynamics", TIER_INDEX[tier])
        self.p: list[np.ndarray | None] = [None, None]
        self.p_age = [0, 0]
        self.allowed_ats = otce_allowed_venues(self.parts[0], self.s["klass"]) if otce else None

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
            kappa = alpha / (1 - VENUE_PERSISTENCE**2) - 1
            r = VENUE_PERSISTENCE ** self.p_age[side]
            shape = np.maximum(kappa * (r * p + (1 - r) * w), 0.05)
        else:
            return p
        g = self.dyn.standard_gamma(shape) + 1e-300
        p = g / g.sum(axis=1, keepdims=True)
        self.p[side], self.p_age[side] = p, 0
        self.s[f"p{side}"] = p
        return p

    def _venue_counts(self, side: int, zt: np.ndarray, noise: np.ndarray, on: np.ndarray) -> np.ndarray:
        """How many venues (or firms) each symbol trades on this week: more for busier symbols."""
        if side == 0 and self.tier == "OTCE":
            # Among the regular issues present: 44% one venue, 28% two, 28% three (with the exclusive
            # one-venue issues, 52/24/24 as in the real files), the busier the more venues.
            zz = 0.8 * zt + 0.6 * noise
            ref = zz[on & (self.s["klass"] == 0)]
            q1, q2 = np.quantile(ref, [0.44, 0.72]) if len(ref) else (0.0, 0.0)
            k = 1 + (zz > q1).astype(np.int64) + (zz > q2).astype(np.int64)
            return np.where(self.s["klass"] == 0, k, 1)
        top, mean, slope = self.prm.k_ats if side == 0 else self.prm.k_otc
        c0 = solve_offset((mean - 1) / (top - 1), slope)
        k = np.rint(1 + (top - 1) * sigmoid(c0 + slope * zt) + noise).astype(np.int64)
        return np.clip(k, 1, top)

    def emit(
        self, wk: Week, venue_active: np.ndarray, ident: dict[str, np.ndarray], *, fractional: bool,
        de_minimis: bool, de_minimis_share: float,
    ) -> Block:  # fmt: skip
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
        view = _WeekView(
            wk, zt, ident, sym_rank, np.exp(ident["logprice"]), wk.published[self.tier], fractional, de_minimis,
            de_minimis_share,
        )  # fmt: skip
        ats_allowed = self.allowed_ats if self.allowed_ats is not None else venue_active[None, :]
        blocks = self._emit_side(0, ats_volume, s["ats_on"], ats_allowed, view)
        blocks += self._emit_side(1, otc_volume, s["otc_on"], self.parts[1].selectable[None, :], view)
        return Block.concat(self.tier, wk.monday, view.published, blocks)

    def _emit_side(
        self, side: int, volume: np.ndarray, on: np.ndarray, allowed: np.ndarray, view: _WeekView
    ) -> list[dict[str, np.ndarray]]:
        """The ``*_SMBL_FIRM``, ``*_SMBL`` and ``*_FIRM`` rows of one side (0: ATS, 1: non-ATS)."""
        rng, n = self.dyn, self.n
        parts = self.parts[side]
        # Every draw below happens whatever the flags, so toggling one changes only what it governs.
        k_noise = rng.standard_normal(n)
        p = self._refresh_shares(side)
        late_u, late_geo = rng.random(n), rng.geometric(0.4, n)
        share = view.de_minimis_share
        bucket_draws = (rng.random(n), rng.beta(6 * share, 6 * (1 - share), n)) if side else None
        k = self._venue_counts(side, view.zt, k_noise, on)
        on_slots, ri, rp = _top_participants(p, k, on, allowed)
        rs = on_slots[ri]
        bucket = np.zeros(n)  # each symbol's share of non-ATS volume in the De Minimis bucket
        if bucket_draws is not None and view.de_minimis:
            bucket = np.where(on & (bucket_draws[0] < DE_MINIMIS_PRESENCE), bucket_draws[1], 0.0)
        w = p[rs, rp]
        denom = np.bincount(ri, weights=w, minlength=len(on_slots))
        vol = volume[rs] * w / denom[ri] * (1 - bucket[rs])
        noise = _RowNoise.draw(rng, len(rs))
        if side:
            bucket_noise = _RowNoise.draw_bucket(rng, n)
            bs = np.flatnonzero(bucket > 0)
            rs = np.concatenate([rs, bs])
            rp = np.concatenate([rp, np.full(len(bs), parts.index(DE_MINIMIS))])
            vol = np.concatenate([vol, volume[bs] * bucket[bs]])
            noise = noise.append(bucket_noise, bs)
        micro, trades, cents = _quantities(parts, rs, rp, vol, noise, self.s["size"], view)
        reported = self._reported(view.wk, rs, late_u, late_geo, noise.late)
        return _summary_rows(side, parts, view, rs, rp, micro, trades, cents, reported)

    def _reported(
        self, wk: Week, rs: np.ndarray, late_u: np.ndarray, late_geo: np.ndarray, row_late: np.ndarray
    ) -> np.ndarray:
        """lastReportedDate: the week's last trading day, later (before publication) on some symbols' rows."""
        late_days = wk.late_days[self.tier]
        reported = np.full(len(rs), np.datetime64(wk.week_end, "D"))
        if len(late_days) and len(rs):
            late_slot = late_u < self.prm.late_share
            late_date = late_days[np.minimum(late_geo - 1, len(late_days) - 1)]
            by_slot = np.argsort(rs, kind="stable")
            starts = group_starts(rs[by_slot])
            group = np.cumsum(np.r_[True, rs[by_slot][1:] != rs[by_slot][:-1]]) - 1
            gmax = np.empty(len(rs))
            gmax[by_slot] = np.maximum.reduceat(row_late[by_slot], starts)[group]
            # A late symbol's latest row is always late, so its *_SMBL row carries the late date.
            flag = late_slot[rs] & ((row_late >= gmax) | (row_late > 0.75))
            reported = np.where(flag, late_date[rs], reported)
        return reported


def _top_participants(
    p: np.ndarray, k: np.ndarray, on: np.ndarray, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(present symbols, row -> index among them, row -> participant): each present symbol's ``k`` allowed
    participants with the largest shares ``p`` (fewer when fewer are allowed)."""
    n_parts = p.shape[1]
    on_slots = np.flatnonzero(on)
    allowed_on = np.broadcast_to(allowed, (len(on), n_parts))[on_slots]
    keys = np.where(allowed_on, p[on_slots], -1.0)
    order = np.argsort(-keys, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n_parts), order.shape), axis=1)
    kk = np.minimum(k[on_slots], allowed_on.sum(axis=1))
    ri, rp = np.nonzero((rank < kk[:, None]) & allowed_on)
    return on_slots, ri, rp


def _quantities(
    parts: Parts, rs: np.ndarray, rp: np.ndarray, vol: np.ndarray, noise: _RowNoise, size: np.ndarray,
    view: _WeekView,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(micro-shares, trades, cents) of each row from its volume: whole shares (>= 1), fractional on some
    retail rows; trades from the venue's trade size; notional from the symbol's price."""
    # A venue or firm with a row had at least one trade: at least an odd or round lot.
    whole = np.maximum(np.rint(vol), np.rint(np.exp(3.5 + 1.2 * noise.lot))).astype(np.int64)
    whole = np.maximum(whole, 1)
    is_frac = view.fractional & parts.retail[rp] & (noise.frac_u < FRACTIONAL_PROBABILITY)
    micro = whole * MICRO + np.where(is_frac, noise.frac_m, 0)
    trades = np.rint(vol / (parts.trade_size[rp] * size[rs]) * np.exp(0.3 * noise.ts))
    trades = np.clip(trades, 1, np.maximum(1, whole)).astype(np.int64)
    cents = np.maximum(1, np.rint(micro * view.price[rs] * np.exp(0.002 * noise.px) / 1e4)).astype(np.int64)
    return micro, trades, cents


def _summary_rows(
    side: int, parts: Parts, view: _WeekView, rs: np.ndarray, rp: np.ndarray, micro: np.ndarray,
    trades: np.ndarray, cents: np.ndarray, reported: np.ndarray,
) -> list[dict[str, np.ndarray]]:  # fmt: skip
    """The side's rows in file order (symbol, then participant name) and their exact per-symbol and
    per-participant totals."""
    prefix = "ATS" if side == 0 else "OTC"
    ident = view.ident
    o = np.lexsort((parts.name_rank[rp], view.sym_rank[rs]))
    rs, rp, micro, trades, cents, reported = rs[o], rp[o], micro[o], trades[o], cents[o], reported[o]
    pub = np.datetime64(view.published, "D")
    firm_rows = make_rows(
        len(rs), f"{prefix}_W_SMBL_FIRM", side, slot=rs, part=rp, symbol=ident["symbol"][rs],
        issue=ident["issue"][rs], product=ident["product"][rs], crd=parts.crd[rp], mpid=parts.mpid[rp],
        pname=parts.name[rp], micro=micro, trades=trades, cents=cents, reported=reported, updated=pub,
    )  # fmt: skip
    ks, sm, st, sc, sr = aggregate(rs, micro, trades, cents, reported)
    smbl_rows = make_rows(
        len(ks), f"{prefix}_W_SMBL", side, slot=ks, symbol=ident["symbol"][ks], issue=ident["issue"][ks],
        product=ident["product"][ks], micro=sm, trades=st, cents=sc, reported=sr, updated=pub,
    )  # fmt: skip
    by_part = np.argsort(parts.name_rank[rp], kind="stable")
    kp, fm, ft, fc, fr = aggregate(
        rp[by_part], micro[by_part], trades[by_part], cents[by_part], reported[by_part]
    )
    total_rows = make_rows(
        len(kp), f"{prefix}_W_FIRM", side, part=kp, crd=parts.crd[kp], mpid=parts.mpid[kp],
        pname=parts.name[kp], micro=fm, trades=ft, cents=fc, reported=fr, updated=pub,
    )  # fmt: skip
    return [firm_rows, smbl_rows, total_rows]
