"""Argument checks: everything :func:`~.writer.generate` and :func:`~.frames.generate_frame` accept, turned
into one validated :class:`Config`, or a :class:`GeneratorUsageError` that says what is wrong (and, for a
misspelt name, what was probably meant).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...._text import suggestion
from ..calendar import TIER_IDS, parse_tier
from .reference import DEFAULT_SYMBOLS_PER_TIER, DEFECTS, LAYOUTS, MAX_SYMBOLS, MAX_WEEKS, TIER_CODES


class GeneratorUsageError(ValueError):
    """Bad arguments to the generator (the command line exits 2 with this message, no traceback)."""


@dataclass(frozen=True)
class Config:
    """Validated generator arguments: sorted Mondays, tiers and layouts in canonical order, sizes per tier."""

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
        """The arguments as ``manifest.json`` records them."""
        return {
            "weeks": [w.isoformat() for w in self.weeks], "tiers": list(self.tiers),
            "symbols_per_tier": {t: self.sizes[t] for t in self.tiers}, "layouts": list(self.layouts),
            "ats8_weeks": [w.isoformat() for w in self.ats8_weeks], "split_tiers": self.split_tiers,
            "seed": self.seed, "inject": list(self.inject), "fractional": self.fractional,
            "de_minimis_share": self.de_minimis_share,
        }  # fmt: skip


def _hint(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` by plain difflib (the generator's own
    matching, kept as it was), in the project's one wording."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return suggestion(close[0] if close else None)


def split_items(value: str | Iterable[str] | None) -> list[str]:
    """The non-empty comma-separated items of a string or of each string in ``value``."""
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
    """A date from a ``date``/``datetime`` or an ISO ``YYYY-MM-DD`` string (``what`` names it in errors)."""
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
    """A date that must be a Monday (a weekStartDate)."""
    day = _date(value, what)
    if day.weekday():
        raise GeneratorUsageError(
            f"{what}: {day.isoformat()} is a {day:%A}; weekStartDate is always a Monday"
        )
    return day


def tier_code(value: object) -> str:
    """``T1``/``T2``/``OTCE`` for any tier spelling the calendar knows (``NMS Tier 1``, ``tier2``...)."""
    canon = parse_tier(value)
    if canon is None:
        raise GeneratorUsageError(
            f"unknown tier {value!r}{_hint(str(value), TIER_CODES)}; use T1, T2 or OTCE"
        )
    return TIER_IDS[canon]


def bounded_int(value: object, what: str, low: int, high: int) -> int:
    """A whole number (or its digits as text) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        else:
            raise GeneratorUsageError(f"{what}: expected a whole number, got {value!r}")
    if not low <= int(value) <= high:
        raise GeneratorUsageError(f"{what}: {value} is out of range {low}..{high}")
    return int(value)


def _mondays(value: Sequence[Any] | str, what: str) -> list[dt.date]:
    """The Mondays of a list, or of a comma-separated string."""
    items = split_items(value) if isinstance(value, str) else list(value)
    return [_monday(w, what) for w in items]


def _weeks(weeks: Sequence[Any] | str | None, first_week: Any, num_weeks: int | None) -> list[dt.date]:
    """The requested weeks, sorted: ``weeks`` as given, or ``num_weeks`` consecutive ones from ``first_week``."""
    if weeks is not None and first_week is not None:
        raise GeneratorUsageError("give weeks or first_week (with num_weeks), not both")
    if weeks is None and first_week is None:
        raise GeneratorUsageError("no weeks: give weeks (Mondays) or first_week and num_weeks")
    if weeks is not None:
        if num_weeks is not None:
            raise GeneratorUsageError("num_weeks goes with first_week, not with weeks")
        week_list = _mondays(weeks, "week")
        if not week_list:
            raise GeneratorUsageError("weeks is empty")
        if len(set(week_list)) != len(week_list):
            raise GeneratorUsageError("weeks lists a week twice")
    else:
        start = _monday(first_week, "first week")
        count = bounded_int(1 if num_weeks is None else num_weeks, "number of weeks", 1, MAX_WEEKS)
        week_list = [start + dt.timedelta(days=7 * i) for i in range(count)]
    week_list.sort()
    if (week_list[-1] - week_list[0]).days // 7 >= MAX_WEEKS:
        raise GeneratorUsageError(f"the weeks span more than {MAX_WEEKS} weeks")
    return week_list


def _tiers(tiers: Sequence[str] | str) -> tuple[str, ...]:
    """The requested tiers in canonical order (T1, T2, OTCE)."""
    tier_set = {tier_code(t) for t in split_items(tiers)}
    if not tier_set:
        raise GeneratorUsageError("no tiers")
    return tuple(t for t in TIER_CODES if t in tier_set)


def _sizes(symbols_per_tier: int | Mapping[str, int] | None, scale: float) -> dict[str, int]:
    """Universe size of every tier: the defaults x ``scale``, overridden by ``symbols_per_tier``."""
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or not 0 < scale <= 10
    ):
        raise GeneratorUsageError(f"scale: expected a number in (0, 10], got {scale!r}")
    sizes = {t: max(1, round(DEFAULT_SYMBOLS_PER_TIER[t] * scale)) for t in TIER_CODES}
    if symbols_per_tier is None:
        return sizes
    if isinstance(symbols_per_tier, Mapping):
        for key, value in symbols_per_tier.items():
            tier = tier_code(key)
            sizes[tier] = bounded_int(value, f"symbols for {tier}", 1, MAX_SYMBOLS)
        return sizes
    n = bounded_int(symbols_per_tier, "symbols per tier", 1, MAX_SYMBOLS)
    return dict.fromkeys(TIER_CODES, n)


def _layouts(layouts: Sequence[str] | str) -> tuple[str, ...]:
    """The requested layouts in canonical order (full, ats8)."""
    layout_list = split_items(layouts)
    for lay in layout_list:
        if lay not in LAYOUTS:
            raise GeneratorUsageError(f"unknown layout {lay!r}{_hint(lay, LAYOUTS)}; use full or ats8")
    layout_tuple = tuple(lay for lay in LAYOUTS if lay in layout_list)
    if not layout_tuple:
        raise GeneratorUsageError("no layouts")
    return layout_tuple


def _ats8_weeks(
    ats8_weeks: Sequence[Any] | str | None, layouts: tuple[str, ...], weeks: list[dt.date]
) -> tuple[dt.date, ...]:
    """The weeks that get ats8 files: those given (each one of ``weeks``), else every week with ats8."""
    if ats8_weeks is None:
        return tuple(weeks) if "ats8" in layouts else ()
    if "ats8" not in layouts:
        raise GeneratorUsageError("ats8 weeks given but the ats8 layout is not requested")
    a8 = sorted(set(_mondays(ats8_weeks, "ats8 week")))
    for w in a8:
        if w not in weeks:
            raise GeneratorUsageError(f"ats8 week {w.isoformat()} is not one of the generated weeks")
    if not a8:
        raise GeneratorUsageError("ats8 weeks is empty")
    return tuple(a8)


def _defects(inject: Iterable[str] | str) -> tuple[str, ...]:
    """The defects to inject, in :data:`DEFECTS` order."""
    names = split_items(inject)
    for name in names:
        if name not in DEFECTS:
            raise GeneratorUsageError(
                f"unknown defect {name!r}{_hint(name, DEFECTS)}; known: {', '.join(DEFECTS)}"
            )
    return tuple(d for d in DEFECTS if d in set(names))


def normalize(
    *, weeks: Sequence[Any] | str | None, first_week: Any, num_weeks: int | None, tiers: Sequence[str] | str,
    symbols_per_tier: int | Mapping[str, int] | None, scale: float, layouts: Sequence[str] | str,
    ats8_weeks: Sequence[Any] | str | None, split_tiers: bool, seed: int, inject: Iterable[str] | str,
    fractional: bool, de_minimis_share: float,
) -> Config:  # fmt: skip
    """Check every argument (in this order, so the first problem is the one reported) into a :class:`Config`."""
    week_list = _weeks(weeks, first_week, num_weeks)
    tier_tuple = _tiers(tiers)
    sizes = _sizes(symbols_per_tier, scale)
    layout_tuple = _layouts(layouts)
    ats8_tuple = _ats8_weeks(ats8_weeks, layout_tuple, week_list)
    seed = bounded_int(seed, "seed", 0, 2**63 - 1)
    inject_tuple = _defects(inject)
    share = de_minimis_share
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
        raise GeneratorUsageError(f"de minimis share: expected a number in (0, 1), got {share!r}")
    return Config(
        weeks=tuple(week_list), tiers=tier_tuple, sizes=sizes, layouts=layout_tuple, ats8_weeks=ats8_tuple,
        split_tiers=bool(split_tiers), seed=seed, inject=inject_tuple, fractional=bool(fractional),
        de_minimis_share=float(share),
    )  # fmt: skip
