"""DuckDB backend: an embedded file (the default warehouse). Rows move as Arrow tables, zero-copy."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Table, WarehouseError, arrow_for, create_table_sql, quote_identifier

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

TYPES = {
    "text": "VARCHAR",
    "double": "DOUBLE",
    "bigint": "BIGINT",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "boolean": "BOOLEAN",
}
_LOCK_TIMEOUT_SECONDS = 60.0  # how long to wait for another process to release the file


ROW_GROUP_SIZE = 32_768  # rows; DuckDB's default is 122,880


def _connect(path: str) -> Any:
    """A connection to the DuckDB file at ``path``, attached with row groups of :data:`ROW_GROUP_SIZE` rows.

    A step writes one (week, tier) capture at a time: about 88k raw rows. That is less than one of
    DuckDB's default row groups, so DuckDB kept every such insert in memory and wrote it through the WAL,
    and the checkpoint then compressed and merged it into the table. On a week of FINRA data that was
    1.3 s when the connection closed, against 0.06 s for the plain baseline's one insert of the whole
    week. With row groups of 32,768 rows, an insert fills whole row groups, which DuckDB writes to the
    file as it inserts them (its optimistic writes) and only links in at commit, and closing takes
    0.2 s (bench/RESULTS.md section 3). Scans are not slower: the zone maps skip the same data, in
    smaller pieces. The file can be larger: twice as large for a synthetic table appended to 12 times,
    but on the FINRA year it was 2.30 GB, less than the plain baseline's 2.51 GB (docs/warehouse.md). The
    option applies to the row groups this connection writes; files written before keep theirs.
    """
    import duckdb

    if path == ":memory:":
        return duckdb.connect(path)
    # Spills go next to the file, as for duckdb.connect(path); an in-memory database would use ./.tmp.
    con = duckdb.connect(config={"temp_directory": f"{path}.tmp"})
    try:
        quoted = "'" + path.replace("'", "''") + "'"  # the file path (warehouse URL) as a string literal
        con.execute(f"ATTACH {quoted} AS warehouse (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
        con.execute("USE warehouse")
    except BaseException:
        con.close()
        raise
    return con


class DuckDBWarehouse:
    """A DuckDB file (or ``:memory:``). One process writes a file at a time: a busy file is retried."""

    dialect = "duckdb"

    def __init__(self, path: str) -> None:
        import duckdb

        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + _LOCK_TIMEOUT_SECONDS
        while True:
            try:
                self.con = _connect(path)
                break
            except duckdb.IOException as exc:  # another process holds the file lock
                if time.monotonic() > deadline:
                    raise WarehouseError(
                        f"DuckDB file {path} is busy (locked by another process): {exc}"
                    ) from exc
                time.sleep(0.2)
        self.con.execute("SET TimeZone = 'UTC'")
        # DuckDB checkpoints when a connection closes (once per run or `spine run` command: the resource
        # shares one) and whenever the WAL passes checkpoint_threshold: at the default 16 MB several times
        # per step on a week of FINRA data. 256 MB measured best (docs/warehouse.md). The memory cap keeps a
        # long-lived connection from caching every block it read (DuckDB's default: 80% of the machine).
        self.con.execute("SET checkpoint_threshold = '256MB'")
        self.con.execute("SET memory_limit = '1GB'")
        self._ensured: set[int] = set()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(sql, list(params))

    def query_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self.con.execute(sql, list(params)).df()

    def query_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        # A relation converts straight to Arrow; a DB-API result would copy the rows once more.
        return self.con.sql(sql, params=list(params) or None).to_arrow_table()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.con.execute(sql, list(params)).fetchone()
        return None if row is None else row[0]

    def insert_df(self, table: Table, frame: pd.DataFrame | pa.Table) -> int:
        data = arrow_for(table, frame)
        if data.num_rows == 0:
            return 0
        self.con.register("_spine_insert", data)
        try:
            columns = ", ".join(quote_identifier(c) for c in table.column_names)
            self.con.execute(
                f"INSERT INTO {quote_identifier(table.name)} ({columns}) SELECT {columns} FROM _spine_insert"
            )
        finally:
            self.con.unregister("_spine_insert")
        return data.num_rows

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def ensure_tables(self, tables: Sequence[Table], views: Sequence[tuple[str, str]] = ()) -> None:
        key = hash((tuple(tables), tuple(views)))
        if key in self._ensured:  # already done on this connection: no DDL, no catalog write
            return
        with self.transaction():
            for schema in sorted({t.schema for t in tables}):
                self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
            for table in tables:
                self.con.execute(create_table_sql(table, TYPES))
            for name, select in views:
                self.con.execute(f"CREATE OR REPLACE VIEW {quote_identifier(name)} AS {select}")
        self._ensured.add(key)

    def hash_sql(self, columns: Sequence[str]) -> str:
        return f"hash({', '.join(quote_identifier(c) for c in columns)})"

    def close(self) -> None:
        self.con.close()
