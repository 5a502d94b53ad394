"""The raw rows an ingest step just wrote, handed to the normalize step that follows it in the same process.

Normalize reads its capture's raw rows back from the warehouse. When both steps run in one process (``spine
run``, the in-process executor) ingest still holds those rows in memory, and reading them back cost a Tier 2
week on Postgres about 1 s (a COPY of ~170,000 rows x 19 text columns; bench/RESULTS.md §6). So ingest
leaves the capture here once its transaction has committed, and normalize takes it instead of reading it
back, when it is the same capture in the same warehouse connection. Everything else (another process, a
Celery worker, a retried step, a rerun, an older capture) reads from the warehouse as before.

What is kept is exactly what was written: the rows cast to ``raw_weekly``'s declared types, in the order
they were inserted. ``raw_weekly`` is append-only and a capture's rows never change after its commit, so a
kept capture cannot go stale. At most one capture is kept (the newest); taking it releases it, and so does
the end of the connection that wrote it (a step process's or a Celery task's warehouse closing at the end
of its step), so a process whose normalize runs elsewhere does not hold a capture's rows.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from ...warehouse.base import arrow_for
from . import tables as t

if TYPE_CHECKING:
    import pyarrow as pa

    from ...warehouse import Warehouse

# What normalize reads of a capture: not the partition's own columns, and not ``raw`` (the source lines, most
# of a capture's bytes), which it looks up only for the rows that need it (rejects, suspected wrong widths).
NOT_READ = frozenset({"content_hash", "week_start", "week_ending", "tier", "raw"})
READ_COLUMNS = tuple(c for c in t.RAW_WEEKLY.column_names if c not in NOT_READ)

_lock = threading.RLock()  # a weakref callback may run wherever the connection is collected
_kept: tuple[weakref.ref[Any], str, pa.Table] | None = None


def keep(warehouse: Warehouse, capture_id: str, raw: pa.Table) -> None:
    """Keep the committed raw rows of ``capture_id`` for a normalize in this process (replacing any other)."""
    global _kept
    rows = arrow_for(t.RAW_WEEKLY, raw).select(list(READ_COLUMNS))
    with _lock:
        _kept = (weakref.ref(warehouse, _forget), capture_id, rows)


def _forget(owner: weakref.ref[Any]) -> None:
    """The writing connection is gone: nothing can take its capture any more."""
    global _kept
    with _lock:
        if _kept is not None and _kept[0] is owner:
            _kept = None


def take(warehouse: Warehouse, capture_id: str) -> pa.Table | None:
    """The kept rows of ``capture_id`` if this warehouse connection wrote them (released), else None."""
    global _kept
    with _lock:
        if _kept is None:
            return None
        owner, kept_id, rows = _kept
        if owner() is not warehouse or kept_id != capture_id:
            return None
        _kept = None
    return rows
