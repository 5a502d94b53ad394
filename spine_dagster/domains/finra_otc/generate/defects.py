"""Reject defects: where each goes (one (week, tier) per layout, drawn from the seed) and the rows it adds.

Each added row is a copy of a real ``*_SMBL_FIRM`` row with one field made invalid (or, for volumes, a
participant that has no row for that symbol), inserted next to the rows of its symbol; the rest of the file
stays clean and consistent. Its manifest entry says which line it is and which line it copies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .args import Config
from .calibration import seeded_rng
from .participants import parts_of
from .reference import DE_MINIMIS, DEFECTS, LAYOUTS, REJECT_DEFECTS, STYPE
from .render import File
from .rows import Block

# Defects whose row is a participant with no row for the symbol (a copy would be a duplicate key).
_NEW_PARTICIPANT = ("negative_volume", "zero_volume", "parse_error")
_SHARES, _UPDATED = "totalWeeklyShareQuantity", "lastUpdateDate"


@dataclass
class DefectPlan:
    """One reject defect placed in one layout: the week and tier that get it, and its random stream."""

    name: str
    layout: str
    week: dt.date
    tier: str
    rng: np.random.Generator


def plan_defects(cfg: Config) -> tuple[list[DefectPlan], list[dict[str, Any]]]:
    """Where each reject defect goes: one (week, tier) per layout, drawn from the seed."""
    plans, skipped = [], []
    for name in cfg.inject:
        if name not in REJECT_DEFECTS:
            continue
        layouts = [lay for lay in cfg.layouts if not (lay == "ats8" and name == "wrong_week")]
        if not layouts:
            skipped.append({"defect": name, "applied": False, "reason": "ats8 rows carry no weekStartDate"})
        for layout in layouts:
            rng = seeded_rng(cfg.seed, "defect", DEFECTS.index(name), LAYOUTS.index(layout))
            weeks = cfg.weeks if layout == "full" else cfg.ats8_weeks
            week = weeks[int(rng.integers(len(weeks)))]
            tier = cfg.tiers[int(rng.integers(len(cfg.tiers)))]
            plans.append(DefectPlan(name, layout, week, tier, rng))
    return plans, skipped


def _firm_stype(side: int) -> str:
    return f"{'ATS' if side == 0 else 'OTC'}_W_SMBL_FIRM"


def _unused_participant(block: Block, side: int, slot: int, rng: np.random.Generator) -> int | None:
    """A selectable participant with no row for the symbol in ``slot``, or None."""
    parts = parts_of(block.tier, side)
    c = block.cols
    firm = c["stype"] == STYPE[_firm_stype(side)]
    used = set(c["part"][firm & (c["slot"] == slot)].tolist())
    free = [
        i for i in range(len(parts.code)) if parts.selectable[i] and parts.weight[i] > 0 and i not in used
    ]
    return int(rng.choice(free)) if free else None


def inject_defect(f: File, bidx: int, plan: DefectPlan) -> None:
    """Add the rows of one reject defect to ``f`` (in the block of ``plan.tier``) and describe them."""
    block, rng, full = f.blocks[bidx], plan.rng, f.layout == "full"
    c = block.cols
    side = 0 if plan.name == "invalid_mpid" or not full else int(rng.integers(2))
    named = c["pname"] != DE_MINIMIS  # the bucket is never copied: its rows stay exactly as counted

    def rows_of(side: int) -> np.ndarray:
        return np.flatnonzero((c["stype"] == STYPE[_firm_stype(side)]) & named)

    candidates = rows_of(side)
    if not len(candidates) and full and plan.name != "invalid_mpid":
        side = 1 - side
        candidates = rows_of(side)
    if not len(candidates):
        f.entries.append({"defect": plan.name, "applied": False, "layout": f.layout, "file": f.name,
                          "reason": f"no {_firm_stype(side)} rows in tier {block.tier}"})  # fmt: skip
        return
    for variant in range(2 if plan.name in ("parse_error", "wrong_week") else 1):
        _inject_row(f, bidx, plan, side, candidates, variant)


def _pick_base(block: Block, plan: DefectPlan, side: int, candidates: np.ndarray) -> tuple[int, int | None]:
    """The row to copy and, for the defects that need one, a participant with no row for its symbol."""
    base, new_part = -1, None
    for _ in range(200):  # bounded: a symbol may already have a row for every participant
        base = int(plan.rng.choice(candidates))
        if plan.name not in _NEW_PARTICIPANT:
            break
        new_part = _unused_participant(block, side, int(block.cols["slot"][base]), plan.rng)
        if new_part is not None:
            break
    return base, new_part


def _inject_row(
    f: File, bidx: int, plan: DefectPlan, side: int, candidates: np.ndarray, variant: int
) -> None:
    """Insert one defective row (``variant`` of the defect) and record its manifest entry."""
    block, full = f.blocks[bidx], f.layout == "full"
    c = block.cols
    base, new_part = _pick_base(block, plan, side, candidates)
    pos = f.position(bidx, base)
    values = f.row(pos)
    # After the last row of the same summary type and symbol: the file stays sorted by symbol.
    same = np.flatnonzero((c["stype"] == c["stype"][base]) & (c["slot"] == c["slot"][base]))
    after = f.position(bidx, int(same[-1]))
    entry: dict[str, Any] = {
        "defect": plan.name, "applied": True, "layout": f.layout, "file": f.name, "line": 0,
        "week": block.week.isoformat(), "tier": block.tier, "summaryTypeCode": _firm_stype(side),
        "symbol": values["issueSymbolIdentifier"],
    }  # fmt: skip
    if new_part is not None:
        parts = parts_of(block.tier, side)
        values["MPID"] = str(parts.mpid[new_part])
        values["marketParticipantName"] = str(parts.name[new_part])
        if full:
            values["firmCRDNumber"] = str(parts.crd[new_part])
    entry["participant"] = values["marketParticipantName"]
    edit = _EDITS[plan.name](values, entry, _EditContext(plan.rng, block, full, variant))
    if edit.next_to_base:
        after = pos
    entry.update({"field": edit.field, "value": values.get(edit.field, "") if edit.field else "",
                  "original": edit.original})  # fmt: skip
    entry["change"] = edit.change
    entry["_base"] = pos
    f.insert(after, values, _firm_stype(side), entry)


# --- the edit of each defect: changes the copied row's text (and its manifest entry) -----------------------


@dataclass(frozen=True)
class _EditContext:
    """What an edit may read: the defect's random stream, the block, the layout, which variant."""

    rng: np.random.Generator
    block: Block
    full: bool  # the full layout (else ats8: no CRD, tier id, notional or weekStartDate columns)
    variant: int


@dataclass(frozen=True)
class _Edit:
    """What an edit did, for the manifest entry."""

    field: str  # the field made invalid ("" for a verbatim duplicate)
    original: str  # its value in the copied row
    change: str  # for the manifest; "{base}" becomes the copied row's line
    next_to_base: bool = False  # insert right after the copied row (else after its symbol's last such row)


_Editor = Callable[[dict[str, str], dict[str, Any], _EditContext], _Edit]


def _invalid_symbol(values: dict[str, str], entry: dict[str, Any], ctx: _EditContext) -> _Edit:
    bad = ("BAD$YM", "B@D", "AB#C")[int(ctx.rng.integers(3))]
    old, values["issueSymbolIdentifier"] = values["issueSymbolIdentifier"], bad
    entry["symbol"] = bad
    change = f"copy of line {{base}} with issueSymbolIdentifier {bad!r} (not a valid symbol)"
    return _Edit("issueSymbolIdentifier", old, change)


def _invalid_mpid(values: dict[str, str], entry: dict[str, Any], ctx: _EditContext) -> _Edit:
    mpid = values["MPID"]
    bad = (mpid[:3], mpid + "X", mpid[:2] + "#" + mpid[3:])[int(ctx.rng.integers(3))]
    values["MPID"] = bad
    values["marketParticipantName"] = bad + values["marketParticipantName"][len(mpid) :]
    entry["participant"] = values["marketParticipantName"]
    return _Edit("MPID", mpid, f"copy of line {{base}} with MPID {bad!r} (not 4 alphanumeric characters)")


def _negative_volume(values: dict[str, str], entry: dict[str, Any], ctx: _EditContext) -> _Edit:
    old = values[_SHARES]
    values[_SHARES] = "-" + old
    if ctx.full:
        values["totalNotionalSum"] = "-" + values["totalNotionalSum"]
    return _Edit(
        _SHARES, old, "a participant with no row for this symbol, with negative totalWeeklyShareQuantity"
    )


def _zero_volume(values: dict[str, str], entry: dict[str, Any], ctx: _EditContext) -> _Edit:
    old = values[_SHARES]
    values[_SHARES], values["totalWeeklyTradeCount"] = "0", "0"
    if ctx.full:
        values["totalNotionalSum"] = "0.00"
    return _Edit(_SHARES, old, "a participant with no row for this symbol, with 0 shares and 0 trades")


def _parse_error(values: dict[str, str], entry: dict[str, Any], ctx: _EditContext) -> _Edit:
    if ctx.variant == 0:
        old = values[_SHARES]
        values[_SHARES] = old[:1] + "O" + old[2:] if len(old) > 1 else old + "O"
        return _Edit(
            _SHARES,
            old,
            "a participant with no row for this symbol, with non-numeric totalWeeklyShareQuantity",
        )
    old = values[_UPDATED]
    values[_UPDATED] = f"{ctx.block.week.year}-02-30"
    return _Edit(_UPDATED, old, f"a participant with no row for this symbol, with an impossible {_UPDATED}")


def _invalid_tier(values: dict[str, str], entry: dict[str, Any], ctx: _EditContext) -> _Edit:
    field_, old = "tierDescription", values["tierDescription"]
    values["tierDescription"] = "NMS Tier 9"
    if ctx.full:
        field_, old = "tierIdentifier", values["tierIdentifier"]
        values["tierIdentifier"] = "T9"
    return _Edit(field_, old, "copy of line {base} with an unknown tier (T9, NMS Tier 9)")


def _wrong_week(values: dict[str, str], entry: dict[str, Any], ctx: _EditContext) -> _Edit:
    old = values["weekStartDate"]
    values["weekStartDate"] = (ctx.block.week + dt.timedelta(days=1 if ctx.variant == 0 else -7)).isoformat()
    if ctx.variant == 0:
        return _Edit("weekStartDate", old, "copy of line {base} whose weekStartDate is a Tuesday")
    change = "copy of line {base} whose weekStartDate is the previous week's Monday (not this file's week)"
    return _Edit("weekStartDate", old, change)


def _duplicate(values: dict[str, str], entry: dict[str, Any], ctx: _EditContext) -> _Edit:
    entry["_duplicate_of"] = True
    return _Edit("", "", "line {base} repeated verbatim on the next line", next_to_base=True)


_EDITS: dict[str, _Editor] = {
    "invalid_symbol": _invalid_symbol, "invalid_mpid": _invalid_mpid, "negative_volume": _negative_volume,
    "zero_volume": _zero_volume, "parse_error": _parse_error, "invalid_tier": _invalid_tier,
    "wrong_week": _wrong_week, "duplicate": _duplicate,
}  # fmt: skip
