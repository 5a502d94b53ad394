"""One warehouse connection for a command that executes many runs in this process (``spine run``).

Why: every connection close is a DuckDB checkpoint, and a checkpoint after an append costs more as the
tables grow (DuckDB rewrites and merges the tables' last row groups; bench/RESULTS.md §6 measured 40
appends of a FINRA capture: 44 s closing after each, 16 s on one connection). A ``spine run
--partition-range`` executes its runs one after another in this process, so it opens one connection and
its steps share it; DuckDB then checkpoints when its WAL passes ``checkpoint_threshold`` and once at the
end. The cost: while the command runs, this process is the DuckDB file's writer and other processes wait
for it (docs/warehouse.md). Runs started elsewhere (the UI, the daemon, ``dagster job execute``) share one
connection per run and process instead, through the warehouse resource's lifecycle (``resource.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .base import Warehouse
from .connect import open_warehouse


class WarehouseSession:
    """The connection to one warehouse URL, opened on first use and reopened after :meth:`discard`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: Warehouse | None = None

    def connection(self) -> Warehouse:
        if self._connection is None:
            self._connection = open_warehouse(self.url)
        return self._connection

    def discard(self) -> None:
        """Close the connection (after a failed step: the next step starts on a fresh one)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


_ACTIVE: dict[str, WarehouseSession] = {}


@contextmanager
def warehouse_session(url: str) -> Iterator[WarehouseSession]:
    """While active, every step of this process that uses ``url`` shares one connection (closed at exit)."""
    if url in _ACTIVE:  # nested: the outer session owns the connection
        yield _ACTIVE[url]
        return
    session = _ACTIVE[url] = WarehouseSession(url)
    try:
        yield session
    finally:
        del _ACTIVE[url]
        session.discard()


def active_session(url: str) -> WarehouseSession | None:
    """The session holding ``url`` in this process, if a command opened one."""
    return _ACTIVE.get(url)
