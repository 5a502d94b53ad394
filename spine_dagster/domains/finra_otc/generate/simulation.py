"""The weekly simulation over the requested span: every tier's :class:`~.market.TierSim`, the market factor,
tail-venue entries and exits, the June T1/T2 reclassification, the ``two_tiers`` swap, and the market-wide
``*_VOL_STATS`` rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .args import Config
from .calibration import MARKET_SD, RECLASS_SHARE, seeded_rng
from .market import TierSim
from .participants import ats_parts
from .reference import INITIALLY_INACTIVE, STYPE, TAIL_VENUES, TIER_CODES, TIER_INDEX
from .rows import Block, make_rows
from .symbols import draw_tickers
from .weeks import Week, holiday_dip, reclass_monday, week_info


def vol_stats(week: dt.date, blocks: Sequence[Block]) -> Block:
    """The market-wide ``ATS_W_VOL_STATS`` / ``OTC_W_VOL_STATS`` rows (tier ``NA``) over ``blocks``."""
    published = max(b.published for b in blocks)
    pub = np.datetime64(published, "D")
    parts = []
    for side, prefix in ((0, "ATS"), (1, "OTC")):
        micro = trades = cents = 0
        reported = np.datetime64(week, "D")
        for b in blocks:
            m = b.cols["stype"] == STYPE[f"{prefix}_W_SMBL"]
            micro += int(b.cols["micro"][m].sum())
            trades += int(b.cols["trades"][m].sum())
            cents += int(b.cols["cents"][m].sum())
            if m.any():
                reported = max(reported, b.cols["reported"][m].max())
        parts.append(
            make_rows(
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
    return Block.concat("NA", week, published, parts)


# The per-symbol state that moves with a name when it changes tier.
_SWAP_KEYS = (
    "symbol", "issue", "product", "klass", "mu", "sigma", "logprice", "ratio", "size", "q_off_ats", "q_on_ats",
    "q_off_otc", "q_on_otc", "dev", "nu", "ats_on", "otc_on", "p0", "p1",
)  # fmt: skip


@dataclass
class SimWeek:
    """One requested week's rows: a block per tier, the ``NA`` block, and the week's events."""

    info: Week
    blocks: dict[str, Block]
    na: Block
    events: list[dict[str, Any]] = field(default_factory=list)


def simulate(cfg: Config, *, de_minimis: bool, two_tiers: bool) -> Iterable[SimWeek]:
    """Run the dynamics from the first to the last requested week; yield the requested weeks' rows."""
    exclude: set[str] = set()
    tickers: dict[str, list[str]] = {}
    for tier in TIER_CODES:  # every tier's tickers, so a tier's universe never depends on which are requested
        tickers[tier] = draw_tickers(
            seeded_rng(cfg.seed, "tickers", TIER_INDEX[tier]), cfg.sizes[tier], tier == "OTCE", exclude
        )
        exclude |= set(tickers[tier])
    sims = {t: TierSim(t, cfg.seed, tickers[t]) for t in cfg.tiers}
    market = seeded_rng(cfg.seed, "market")
    tt_rng = seeded_rng(cfg.seed, "two_tiers")
    tt_week = cfg.weeks[int(tt_rng.integers(len(cfg.weeks)))] if two_tiers else None
    nms = ats_parts(False)
    active = np.array([c not in INITIALLY_INACTIVE for c in nms.code])
    tail = [nms.index(c) for c in TAIL_VENUES]
    emitted = set(cfg.weeks)
    monday, i = cfg.weeks[0], 0
    while monday <= cfg.weeks[-1]:
        m, jitter = MARKET_SD * market.standard_normal(), market.uniform(-0.03, 0.03)
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
            if monday == reclass_monday(monday.year) and "T1" in sims and "T2" in sims:
                events.append(_reclassify(sims["T1"], sims["T2"], monday))
        if monday in emitted:
            wk = week_info(monday, cfg.tiers, m, holiday_dip(monday, jitter))
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
            yield SimWeek(wk, blocks, vol_stats(monday, list(blocks.values())), events)
        monday += dt.timedelta(days=7)
        i += 1


def _reclassify(t1: TierSim, t2: TierSim, monday: dt.date) -> dict[str, Any]:
    """Swap the thinnest T1 names with the busiest T2 names (identity and state) from ``monday`` on."""
    n_move = max(1, round(RECLASS_SHARE * min(t1.n, t2.n)))
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


def _two_tiers(t1: TierSim, t2: TierSim, ident: dict[str, np.ndarray], rng: np.random.Generator,
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
