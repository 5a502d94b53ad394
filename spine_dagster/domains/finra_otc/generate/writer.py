"""Writing a data set: :func:`generate` names and renders the week files, places the defects, and writes
``manifest.json`` (files, row counts, sha256, every defect's file and line, and the simulation's events).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..calendar import market_holidays
from .args import Config, normalize
from .calibration import seeded_rng
from .defects import DefectPlan, inject_defect, plan_defects
from .reference import DE_MINIMIS, DEFAULT_DE_MINIMIS_SHARE, DEFECTS, LAYOUTS, STYPE, TIER_CODES
from .render import File, pub_stamp
from .restatement import restatement
from .simulation import SimWeek, simulate

# What manifest.json names as its writer: the command line's module, kept stable across refactors.
_GENERATOR = "spine_dagster.domains.finra_otc.generate"


def _week_files(cfg: Config, sw: SimWeek) -> list[tuple[File, dict[str, int]]]:
    """The initial files of one week, each with the index of every tier's block in it."""
    out: list[tuple[File, dict[str, int]]] = []
    week = sw.info.monday.isoformat()
    if "full" in cfg.layouts:
        if cfg.split_tiers:
            for tier in (*cfg.tiers, "NA"):
                block = sw.blocks[tier] if tier != "NA" else sw.na
                name = f"finra_otc_weekly_{tier}_{week}_pub{pub_stamp(block.published)}.psv"
                out.append((File(name, "full", "initial", block.published, [block]), {tier: 0}))
        else:
            blocks = [sw.blocks[t] for t in cfg.tiers] + [sw.na]
            pub = max(b.published for b in blocks)
            name = f"finra_otc_weekly_{week}_pub{pub_stamp(pub)}.psv"
            out.append((File(name, "full", "initial", pub, blocks), {t: i for i, t in enumerate(cfg.tiers)}))
    if "ats8" in cfg.layouts and sw.info.monday in cfg.ats8_weeks:
        for tier in cfg.tiers:
            block = sw.blocks[tier]
            name = f"finra_otc_ats_{tier}_{week}_pub{pub_stamp(block.published)}.psv"
            out.append((File(name, "ats8", "initial", block.published, [block]), {tier: 0}))
    return out


def _file_weeks_tiers(f: File) -> tuple[list[str], list[str]]:
    """The weeks and tiers of a file's blocks, for its manifest entry."""
    weeks = sorted({b.week.isoformat() for b in f.blocks})
    tiers = [b.tier for b in f.blocks]
    return weeks, tiers


def _lines_where(f: File, bidx: int, mask: np.ndarray) -> list[int]:
    """Final line numbers of the rows of block ``bidx`` selected by ``mask`` (among those the file keeps)."""
    rows = f.row_maps[bidx]
    keep = rows[mask[rows]]
    return [f.line_of(f.position(bidx, int(r))) for r in keep]


def _marker_entries(
    f: File, index: dict[str, int], events: list[dict[str, Any]], *, de_minimis: bool
) -> list[dict[str, Any]]:
    """Manifest entries of the data-level features in file ``f``: the De Minimis bucket and two_tiers."""
    out = []
    if de_minimis and f.layout == "full":
        lines: list[int] = []
        by_type: dict[str, int] = {}
        for bidx in index.values():
            cols = f.blocks[bidx].cols
            mask = cols["pname"] == DE_MINIMIS
            lines += _lines_where(f, bidx, mask)
            for st in ("OTC_W_SMBL_FIRM", "OTC_W_FIRM"):
                n = int((mask & (cols["stype"] == STYPE[st])).sum())
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


@dataclass
class _Run:
    """One :func:`generate` call: what was drawn from the seed up front, and what has been written so far."""

    cfg: Config
    out: Path
    plans: list[DefectPlan]
    restate_rng: np.random.Generator
    restate_at: tuple[dt.date, str]  # the (week, tier) a restatement goes to
    de_minimis: bool
    two_tiers: bool
    holiday_weeks: list[dt.date]
    defects: list[dict[str, Any]]  # manifest entries, sorted when the manifest is written
    files: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @classmethod
    def start(cls, cfg: Config, out: Path) -> _Run:
        """Place the defects; note those that cannot apply to these arguments."""
        plans, defects = plan_defects(cfg)
        # Its own stream, drawn up front: requesting a restatement changes no other number.
        restate_rng = seeded_rng(cfg.seed, "restatement")
        restate_weeks = cfg.weeks if "full" in cfg.layouts else cfg.ats8_weeks
        restate_at = (restate_weeks[int(restate_rng.integers(len(restate_weeks)))],
                      cfg.tiers[int(restate_rng.integers(len(cfg.tiers)))])  # fmt: skip
        de_minimis = "de_minimis" in cfg.inject
        if de_minimis and "full" not in cfg.layouts:
            defects.append({"defect": "de_minimis", "applied": False,
                            "reason": "the bucket is a non-ATS participant; ats8 files hold ATS rows only"})  # fmt: skip
        two_tiers = "two_tiers" in cfg.inject
        if two_tiers and not {"T1", "T2"} <= set(cfg.tiers):
            defects.append({"defect": "two_tiers", "applied": False, "reason": "needs tiers T1 and T2"})
            two_tiers = False
        holiday_weeks = [w for w in cfg.weeks if w in market_holidays(w.year)]
        if "monday_holiday" in cfg.inject and not holiday_weeks:
            defects.append({"defect": "monday_holiday", "applied": False,
                            "reason": "no requested week starts on a market holiday (e.g. 2026-09-07, Labor Day)"})  # fmt: skip
        return cls(cfg, out, plans, restate_rng, restate_at, de_minimis, two_tiers, holiday_weeks, defects)

    def add_week(self, sw: SimWeek) -> None:
        """Write the files of one simulated week (with its defects and any restatement)."""
        cfg, monday = self.cfg, sw.info.monday
        self.events.extend(e for e in sw.events if e["event"] != "two_tiers")
        files = _week_files(cfg, sw)
        for plan in self.plans:
            if plan.week == monday:
                for f, index in files:
                    if f.layout == plan.layout and plan.tier in index:
                        inject_defect(f, index[plan.tier], plan)
        vintages: list[tuple[File, dict[str, int]]] = []
        if "restatement" in cfg.inject and self.restate_at[0] == monday:
            vintages, entry = restatement(sw, self.restate_at[1], self.restate_rng, files)
            self.defects.append(entry)
        for f, index in files + vintages:
            self.defects.extend(_marker_entries(f, index, sw.events, de_minimis=self.de_minimis))
            self._write(f)
        if "monday_holiday" in cfg.inject and monday in self.holiday_weeks:
            names = [f.name for f, _ in files + vintages]
            self.defects.append({"defect": "monday_holiday", "applied": True, "week": monday.isoformat(),
                                 "holiday": monday.isoformat(), "files": names,
                                 "publication_dates": {t: sw.info.published[t].isoformat() for t in cfg.tiers},
                                 "last_reported_date": sw.info.week_end.isoformat()})  # fmt: skip

    def _write(self, f: File) -> None:
        """Render and write ``f``; record it and its defect entries for the manifest."""
        data, rows, counts = f.render()
        (self.out / f.name).write_bytes(data)
        self.written.append(self.out / f.name)
        weeks, tiers = _file_weeks_tiers(f)
        self.files.append({
            "file": f.name, "layout": f.layout, "vintage": f.vintage, "weeks": weeks, "tiers": tiers,
            "publication_date": f.published.isoformat(), "rows": rows, "rows_by_summary_type": counts,
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        })  # fmt: skip
        self.defects.extend(f.entries)

    def write_manifest(self) -> None:
        """``manifest.json``, with the defects in :data:`DEFECTS` order, then by layout, file and line."""
        order = {name: i for i, name in enumerate(DEFECTS)}
        self.defects.sort(
            key=lambda e: (order[e["defect"]], e.get("layout", ""), e.get("file", ""), e.get("line", 0))
        )
        manifest = {
            "generator": _GENERATOR,
            "format_version": 1,
            "arguments": self.cfg.arguments(),
            "weeks": [w.isoformat() for w in self.cfg.weeks],
            "tiers": list(self.cfg.tiers),
            "files": self.files,
            "defects": self.defects,
            "events": self.events,
        }
        (self.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


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
    :class:`~.args.GeneratorUsageError` for bad arguments (before writing anything).
    """
    cfg = normalize(
        weeks=weeks, first_week=first_week, num_weeks=num_weeks, tiers=tiers, symbols_per_tier=symbols_per_tier,
        scale=scale, layouts=layouts, ats8_weeks=ats8_weeks, split_tiers=split_tiers, seed=seed, inject=inject,
        fractional=fractional, de_minimis_share=de_minimis_share,
    )  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = _Run.start(cfg, out)
    for sw in simulate(cfg, de_minimis=run.de_minimis, two_tiers=run.two_tiers):
        run.add_week(sw)
    run.write_manifest()
    return run.written
