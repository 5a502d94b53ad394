"""The ``restatement`` defect: a later vintage of one (week, tier) partition, in every layout that has the
week, with a few ``*_SMBL_FIRM`` rows changed by 1-10% and their totals updated to stay exact.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ..calendar import is_business_day
from ..layouts import SUMMARY_TYPES
from .reference import MICRO, STYPE
from .render import File, fmt_micro, pub_stamp
from .rows import Block
from .simulation import SimWeek


def _next_business_day(day: dt.date) -> dt.date:
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def _previous_business_day(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not is_business_day(day):
        day -= dt.timedelta(days=1)
    return day


def _changed_quantities(micro: int, trades: int, sign: int, f_sh: float, f_tr: float) -> tuple[int, int]:
    """New (micro-shares, trades) of a restated row: scaled by ``f_sh``/``f_tr``, never equal to the old,
    still whole shares if they were whole (and fractional if not), and no more trades than shares."""
    if micro % MICRO == 0:
        whole = max(1, round(micro / MICRO * f_sh))
        if whole * MICRO == micro:
            whole = whole + sign if whole + sign >= 1 else whole + 1
        new_micro = whole * MICRO
    else:
        new_micro = max(1, round(micro * f_sh))
        new_micro += 1 if new_micro % MICRO == 0 else 0
    new_trades = max(1, round(trades * f_tr))
    if new_trades == trades:
        new_trades = trades + sign if trades + sign >= 1 else trades + 1
    if new_micro % MICRO == 0:
        new_trades = min(new_trades, new_micro // MICRO)
    return new_micro, new_trades


def _update_totals(c: dict[str, np.ndarray], chosen: list[int], day: dt.date) -> list[int]:
    """Recompute the ``*_SMBL`` and ``*_FIRM`` rows of the ``chosen`` rows; return those total rows."""
    totals = []
    for r in chosen:
        side, prefix = int(c["side"][r]), ("ATS", "OTC")[int(c["side"][r])]
        firm = c["stype"] == STYPE[f"{prefix}_W_SMBL_FIRM"]
        for stype, key in ((f"{prefix}_W_SMBL", "slot"), (f"{prefix}_W_FIRM", "part")):
            members = firm & (c[key] == c[key][r])
            target = np.flatnonzero(
                (c["stype"] == STYPE[stype]) & (c[key] == c[key][r]) & (c["side"] == side)
            )
            t = int(target[0])
            for q in ("micro", "trades", "cents"):
                c[q][t] = c[q][members].sum()
            c["reported"][t] = c["reported"][members].max()
            c["updated"][t] = np.datetime64(day, "D")
            if t not in totals:
                totals.append(t)
    return sorted(totals)


def _restate(
    block: Block, rng: np.random.Generator
) -> tuple[Block, dt.date, list[int], list[dict[str, Any]], list[int]]:
    """A later vintage of ``block``: a few ``*_SMBL_FIRM`` rows changed by 1-10%, totals kept exact.

    Returns the new block, the restatement date, the changed rows, their old and new quantities, and the
    total rows updated.
    """
    day = _next_business_day(block.published + dt.timedelta(days=int(rng.integers(5, 26))))
    reported = np.datetime64(_previous_business_day(day), "D")
    new = block.copy()
    c = new.cols
    ats = np.flatnonzero(c["stype"] == STYPE["ATS_W_SMBL_FIRM"])
    anyf = np.flatnonzero((c["stype"] == STYPE["ATS_W_SMBL_FIRM"]) | (c["stype"] == STYPE["OTC_W_SMBL_FIRM"]))
    # An ATS row first, so the ats8 vintage changes too.
    first = int(rng.choice(ats if len(ats) else anyf))
    rest = anyf[anyf != first]
    chosen = [first, *rng.choice(rest, size=min(2, len(rest)), replace=False).tolist()]
    changes = []
    for r in chosen:
        sign = 1 if rng.random() < 0.5 else -1
        f_sh, f_tr = 1 + sign * rng.uniform(0.01, 0.10), 1 + sign * rng.uniform(0.01, 0.10)
        micro, trades = int(c["micro"][r]), int(c["trades"][r])
        new_micro, new_trades = _changed_quantities(micro, trades, sign, f_sh, f_tr)
        c["cents"][r] = max(1, round(int(c["cents"][r]) * new_micro / micro))
        c["micro"][r], c["trades"][r] = new_micro, new_trades
        c["updated"][r], c["reported"][r] = np.datetime64(day, "D"), reported
        changes.append({"row": r, "shares": [micro, new_micro], "trades": [trades, new_trades]})
    totals = _update_totals(c, chosen, day)
    new.published = block.published
    return new, day, chosen, changes, totals


def restatement(
    sw: SimWeek, tier: str, rng: np.random.Generator, files: list[tuple[File, dict[str, int]]]
) -> tuple[list[tuple[File, dict[str, int]]], dict[str, Any]]:
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
        vf = File(
            f"{prefix}_{tier}_{monday.isoformat()}_pub{pub_stamp(day)}.psv",
            f0.layout,
            "restatement",
            day,
            [block],
        )
        vintages.append((vf, {tier: 0}))
        changed = [
            {
                "line": vf.line_of(vf.position(0, r)), "summaryTypeCode": SUMMARY_TYPES[int(c["stype"][r])],
                "symbol": str(c["symbol"][r]), "participant": str(c["pname"][r]), "MPID": str(c["mpid"][r]),
                "firmCRDNumber": str(c["crd"][r]), "shares": fmt_micro(np.array(ch["shares"])),
                "trades": [str(v) for v in ch["trades"]],
            }
            for r, ch in zip(chosen, changes, strict=True)
            if f0.layout == "full" or c["stype"][r] == STYPE["ATS_W_SMBL_FIRM"]
        ]  # fmt: skip
        total_lines = [vf.line_of(vf.position(0, t)) for t in totals] if f0.layout == "full" else []
        entry["files"].append({"layout": f0.layout, "file": vf.name, "supersedes": f0.name,
                               "changed_rows": changed, "updated_total_lines": total_lines})  # fmt: skip
    return vintages, entry
