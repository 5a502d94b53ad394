"""The calendar of a simulated week: its last trading day, holidays and holiday volume dip, each tier's
publication date and the business days a late ``lastReportedDate`` can fall on, and the June T1/T2
reclassification week.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..calendar import is_business_day, market_holidays, publication_date
from .reference import CANONICAL


@dataclass
class Week:
    """One simulated week and what the calendar says about it."""

    monday: dt.date
    week_end: dt.date  # the week's last trading day
    holidays: tuple[dt.date, ...]
    factor: float  # log of (market factor x holiday dip)
    published: dict[str, dt.date]
    late_days: dict[str, np.ndarray]  # business days after week_end and before publication, per tier


def week_info(monday: dt.date, tiers: Sequence[str], market: float, dip: float) -> Week:
    """The week starting ``monday`` for ``tiers``, with log market factor ``market`` and volume ``dip``."""
    days = [monday + dt.timedelta(days=i) for i in range(5)]
    holidays = tuple(d for d in days if d in market_holidays(d.year))
    trading = [d for d in days if is_business_day(d)]
    week_end = trading[-1] if trading else days[-1]
    published = {t: publication_date(monday, CANONICAL[t]) for t in tiers}
    late = {}
    for t in tiers:
        cands, day = [], week_end + dt.timedelta(days=1)
        while day < published[t]:
            if is_business_day(day):
                cands.append(day)
            day += dt.timedelta(days=1)
        late[t] = np.array(cands, dtype="datetime64[D]")
    return Week(monday, week_end, holidays, market + math.log(dip), published, late)


def holiday_dip(monday: dt.date, jitter: float) -> float:
    """Volume multiplier of a week with a market holiday (§4.4: x0.6-0.8), 1 otherwise."""
    days = [monday + dt.timedelta(days=i) for i in range(5)]
    holidays = [d for d in days if d in market_holidays(d.year)]
    if not holidays:
        return 1.0
    if any(d.month == 11 and d.weekday() == 3 for d in holidays):  # Thanksgiving (and its half day)
        base = 0.6
    elif any((d.month == 12 and d.day >= 24) or (d.month == 1 and d.day <= 2) for d in holidays):
        base = 0.65
    else:
        base = 0.75
    return base + jitter


def reclass_monday(year: int) -> dt.date:
    """The week after the last Friday of June (Russell reconstitution): T1/T2 membership changes there."""
    day = dt.date(year, 6, 30)
    while day.weekday() != 4:
        day -= dt.timedelta(days=1)
    return day + dt.timedelta(days=3)
