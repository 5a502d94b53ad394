"""Two races in Dagster 1.13.27's pool slot storage, fixed for every process that loads the code location.

A step ``pool:`` is a Dagster concurrency pool, and its limit holds only if claiming a slot is atomic across
processes. Two ``spine run`` processes, or two run workers, whose pool steps start within a few
milliseconds of each other hit two bugs in ``SqlEventLogStorage``:

* **Two runs in one slot.** ``_claim_concurrency_slot`` selects a free slot row, then updates it by id
  alone. On SQLite, and on Postgres outside a transaction, where ``FOR UPDATE SKIP LOCKED`` holds no lock,
  both processes select the same free row, both updates succeed, and both steps run although the
  limit is 1. Measured in ``tests/integration/test_pool_claims.py``: 14 of 40 simultaneous claims on
  SQLite and 5 of 30 on Postgres. The fix is to update only while the row is still free (compare and set)
  and to report BLOCKED when another process took it first. That process's pending claim is then retried
  on Dagster's own back-off, like any blocked claim.
* **A crashed run on the first use of a pool (Postgres).** The first claim in a pool with no limit row
  inserts one at ``concurrency.pools.default_limit``. The loser of a race, or any claim after the default
  limit has changed, gets a unique violation. The except clause then runs an UPDATE in the aborted
  transaction (``InFailedSqlTransaction``), and the run fails (dagster-io/dagster#33552, open). The fix is
  one ``INSERT ... ON CONFLICT DO UPDATE``; its row lock orders the slot allocation that follows.

:func:`install` replaces the two methods on Dagster's classes for the life of the process (it is
idempotent). It runs when the code location is built (``composition.build_code_location``) in a process
that has a Dagster instance, which covers every process that claims slots: ``spine run``, a run worker
launched by the UI, a schedule, a sensor or the queue (Dagster's in-process, multiprocess and Celery
executors claim there), and ``dagster job execute``. Remove it when Dagster's own storage is fixed;
``test_pool_claims`` shows when.
"""

from __future__ import annotations

import sys
from typing import Any

_INSTALLED: list[bool] = []


def install() -> bool:
    """Patch Dagster's slot claim and pool initialisation (the latter acts on Postgres only), once per process.

    Returns whether the fix is in place. It is installed only in a process that has loaded Dagster's SQL
    event storage, that is, one that has a Dagster instance. Every process that claims slots opens its
    instance before it builds the code location: ``spine run``, Dagster's run worker and
    ``dagster job execute``. A process that only loads the definitions, such as a code server,
    ``spine validate`` or ``bench/load.py``, claims no slots. It does not pay the 0.3 s that importing
    the storage module would cost.

    Both methods belong to ``SqlEventLogStorage``, which dagster-postgres's storage inherits without
    overriding them. So dagster-postgres is not imported here either (another 0.5 s).
    """
    if _INSTALLED:
        return True
    storage_module = sys.modules.get("dagster._core.storage.event_log.sql_event_log")
    if storage_module is None:
        return False
    SqlEventLogStorage = storage_module.SqlEventLogStorage
    original = SqlEventLogStorage.initialize_concurrency_limit_to_default

    def initialize(self: Any, concurrency_key: str) -> bool:
        if not type(self).__module__.startswith("dagster_postgres"):
            return original(self, concurrency_key)  # SQLite (MySQL): Dagster's own, no aborted transaction
        return _initialize_pool_limit(self, concurrency_key, original)

    SqlEventLogStorage._claim_concurrency_slot = _claim_concurrency_slot  # type: ignore[method-assign]
    SqlEventLogStorage.initialize_concurrency_limit_to_default = initialize  # type: ignore[method-assign]
    _INSTALLED.append(True)
    return True


def _claim_concurrency_slot(self: Any, concurrency_key: str, run_id: str, step_key: str) -> Any:
    """Dagster's claim, but a free slot is taken only if it is still free when written (compare and set)."""
    import sqlalchemy as db
    from dagster._core.storage.event_log.schema import ConcurrencySlotsTable as slots
    from dagster._utils.concurrency import ConcurrencySlotStatus

    free = db.and_(
        slots.c.concurrency_key == concurrency_key,
        slots.c.step_key.is_(None),
        slots.c.deleted.is_(False),
    )
    with self.index_connection() as conn:
        candidates = [row[0] for row in conn.execute(db.select(slots.c.id).where(free)).fetchall()]
        for slot_id in candidates:  # another process may take any of them between the select and the update
            taken = conn.execute(
                slots.update()
                .values(run_id=run_id, step_key=step_key)
                .where(db.and_(slots.c.id == slot_id, free))
            )
            if taken.rowcount:
                return ConcurrencySlotStatus.CLAIMED
    return ConcurrencySlotStatus.BLOCKED


def _initialize_pool_limit(self: Any, concurrency_key: str, original: Any) -> bool:
    """Postgres: create (or bring to the default) a pool's limit row with an upsert, then its slots."""
    if not (self.has_concurrency_limits_table and self.has_default_pool_limit_col and self.has_instance):
        return original(self, concurrency_key)  # older schemas: Dagster's own path
    default_limit = self._instance.global_op_concurrency_default_limit
    if default_limit is None:  # Dagster's path deletes the row; nothing is inserted, nothing can race
        return original(self, concurrency_key)
    from dagster._core.storage.event_log.schema import ConcurrencyLimitsTable as limits
    from sqlalchemy.dialects.postgresql import insert

    self._reconcile_concurrency_limits_from_slots()
    upsert = (
        insert(limits)
        .values(concurrency_key=concurrency_key, limit=default_limit, using_default_limit=True)
        .on_conflict_do_update(
            index_elements=[limits.c.concurrency_key],
            set_={"limit": default_limit},
            where=limits.c.limit != default_limit,  # as Dagster's update; the row is locked either way
        )
    )
    with self.index_transaction() as conn:
        conn.execute(upsert)
        self._allocate_concurrency_slots(conn, concurrency_key, default_limit)
    return True


__all__ = ["install"]
