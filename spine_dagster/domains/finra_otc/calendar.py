"""Trading weeks, tiers and FINRA's publication calendar (pure Python).

A FINRA week is identified by ``weekStartDate``, its Monday (even when that Monday is a holiday); our
``week_ending`` is that week's Friday. Weekly data is first published on the Monday 3 weeks (NMS Tier 1)
or 5 weeks (NMS Tier 2, OTC) after the week starts, moved to the next business day when that Monday is
a market holiday.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Literal, get_args

from dateutil.easter import easter

#: The canonical tiers: the one list of them (params validate against it, the rest import TIERS).
TierName = Literal["NMS_TIER_1", "NMS_TIER_2", "OTC"]
TIERS: tuple[TierName, ...] = get_args(TierName)
TIER_IDS = {"NMS_TIER_1": "T1", "NMS_TIER_2": "T2", "OTC": "OTCE"}
TIER_DESCRIPTIONS = {"NMS_TIER_1": "NMS Tier 1", "NMS_TIER_2": "NMS Tier 2", "OTC": "OTC"}
PUBLICATION_LAG_DAYS = {"NMS_TIER_1": 21, "NMS_TIER_2": 35, "OTC": 35}

_TIER_ALIASES = {
    "nmstier1": "NMS_TIER_1", "t1": "NMS_TIER_1", "tier1": "NMS_TIER_1", "nms1": "NMS_TIER_1",
    "nmstier2": "NMS_TIER_2", "t2": "NMS_TIER_2", "tier2": "NMS_TIER_2", "nms2": "NMS_TIER_2",
    "otc": "OTC", "otce": "OTC", "otcother": "OTC", "otcequity": "OTC",
}  # fmt: skip
_NOT_A_TIER = {"na", "notapplicable"}  # market-wide *_VOL_STATS rows carry tier NA
# A tier's spellings differ in case, spaces, underscores and dashes only ("NMS Tier 1", "nms_tier_1").
_TIER_SEPARATORS = re.compile(r"[\s_\-]")
#: An ISO date as FINRA writes it (``YYYY-MM-DD``); a text that matches may still be no date (02-30).
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _tier_key(text: str) -> str:
    return _TIER_SEPARATORS.sub("", text).lower()


def parse_tier(text: object) -> str | None:
    """Canonical tier for FINRA's and spine-core's spellings (``T1``, ``NMS Tier 1``, ``tier1``, ``OTCE``...)."""
    if not isinstance(text, str):
        return None
    return _TIER_ALIASES.get(_tier_key(text))


def tier_or_other(value: object) -> str | None:
    """A source row's tier text as a canonical tier, ``other`` for market-wide (NA) rows, or None when
    unknown."""
    key = _tier_key(str(value))
    return "other" if key in _NOT_A_TIER else _TIER_ALIASES.get(key)


def week_start_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def week_ending_of(week_start: dt.date) -> dt.date:
    """The Friday of the week starting ``week_start``."""
    return week_start + dt.timedelta(days=4)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    last = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


@functools.cache
def market_holidays(year: int) -> frozenset[dt.date]:
    """US equity market full-day holidays (NYSE rules, 2000 onwards; Juneteenth from 2022)."""
    days = {
        _observed(dt.date(year, 1, 1)),
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        easter(year) - dt.timedelta(days=2),  # Good Friday
        _last_weekday(year, 5, 0),  # Memorial Day
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    }
    if year >= 2022:
        days.add(_observed(dt.date(year, 6, 19)))
    # New Year's Day on a Saturday is not observed on the Friday before (NYSE rule 7.2).
    days.discard(dt.date(year - 1, 12, 31))
    return frozenset(d for d in days if d.year == year)


def is_business_day(day: dt.date) -> bool:
    """A weekday that is no US equity market holiday."""
    return day.weekday() < 5 and day not in market_holidays(day.year)


def publication_date(week_start: dt.date, tier: str) -> dt.date:
    """``initialPublishedDate``: Monday + 21 or + 35 days, moved forward over market holidays."""
    day = week_start + dt.timedelta(days=PUBLICATION_LAG_DAYS[tier])
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def week_from_publication(published: dt.date, tier: str) -> dt.date:
    """The ``weekStartDate`` of a first publication on ``published`` (only right for unrevised rows).

    A Tuesday publication after a Monday holiday maps back to that Monday first.
    """
    monday = week_start_of(published)
    return monday - dt.timedelta(days=PUBLICATION_LAG_DAYS[tier])
