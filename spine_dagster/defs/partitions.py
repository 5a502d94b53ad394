"""Partition-key arithmetic of a partitioned group, in one place: ``spine run --partition`` and
``--partition-range``, the partition schedule and the file-arrival sensor all use it.

A weekly key is the date of the week's ``key_day`` (default Monday: FINRA's ``weekStartDate``); with a static
dimension the key is Dagster's multi-partition key, the dimensions joined with ``|`` in alphabetical order of
their names, the weekly one being ``date``: ``2025-11-17|NMS_TIER_1``. This string is the one key printed
and accepted everywhere (UI, ``spine run``, schedules, sensors, docs).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from ..spec.models import PartitionsSpec
from .translator import SpineDagsterTranslator, week_key_of


class PartitionKeys:
    """The partition keys of one group's ``partitions:``, as the translator defines them."""

    def __init__(self, group: str, parts: PartitionsSpec, translator: SpineDagsterTranslator) -> None:
        self.group = group
        self.parts = parts
        self.translator = translator
        self.week_def = translator.get_week_partitions_def(parts.weekly)

    @property
    def values(self) -> list[str | None]:
        """The static dimension's values, or ``[None]`` for a weekly-only group."""
        return list(self.parts.static.values) if self.parts.static is not None else [None]

    def week_of(self, day: dt.date) -> str:
        """The week key of the week holding ``day`` (weeks end on ``ends_on``; the key is their ``key_day``)."""
        return week_key_of(self.parts.weekly, day).isoformat()

    def key(self, week: str, value: str | None) -> str:
        """The partition key of a week (its window key) and, for a two-dimensional group, a static value."""
        if self.parts.static is None or value is None:
            return week
        dimension = self.translator.get_week_dimension_name()
        return str(dg.MultiPartitionKey({dimension: week, self.parts.static.name: value}))

    def params(self, key: str | dg.MultiPartitionKey) -> dict[str, str]:
        """The run params a key fills."""
        return self.translator.get_partition_params(self.parts, key)

    def weeks_between(self, first: dt.date, last: dt.date) -> list[str]:
        """Week keys from the week holding ``first`` to the one holding ``last`` (7 days apart)."""
        window = dt.date.fromisoformat(self.week_of(first))
        end = dt.date.fromisoformat(self.week_of(last))
        weeks = []
        while window <= end:
            weeks.append(window.isoformat())
            window += dt.timedelta(days=7)
        return weeks

    def latest_weeks(self, now: dt.datetime) -> list[str]:
        """The key of every week Dagster offers at ``now`` (its window, 7 days from the key day, has passed;
        ``end_offset`` moves the end), oldest first."""
        return self.week_def.get_partition_keys(current_time=now)

    def parse(self, text: str) -> str:
        """The key for ``WEEK`` or ``WEEK|VALUE`` (either order; WEEK any day of the week as YYYY-MM-DD).

        Raises :class:`ValueError` saying what is wrong (not a date, a week outside the partitions, an
        unknown static value).
        """
        pieces = text.split("|")
        dates, others = [], []
        for piece in pieces:
            try:
                dates.append(dt.date.fromisoformat(piece))
            except ValueError:
                others.append(piece)
        static = self.parts.static
        if len(dates) != 1 or len(pieces) != (2 if static else 1):
            shape = f"WEEK|{static.name.upper()}" if static else "WEEK"
            raise ValueError(f"expected {shape} with WEEK a date YYYY-MM-DD")
        window = self.week_of(dates[0])
        if not self.week_def.has_partition_key(window):
            first = self.week_def.get_first_partition_key()
            last = self.week_def.get_last_partition_key()
            raise ValueError(
                f"week {window} is not a partition of {self.group!r} (weeks {first} .. {last}; "
                "partitions.weekly.start sets the first; a week is offered once 7 days from its key day have passed)"
            )
        if static is None:
            return window
        if others[0] not in static.values:
            raise ValueError(f"{others[0]!r} is not one of " + ", ".join(static.values))
        return self.key(window, others[0])
