"""The Warehouse protocol and table declarations shared by both backends (pure Python + pandas)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..errors import StepRunError

if TYPE_CHECKING:  # pandas and Arrow are imported by whoever moves frames, not by table declarations
    import pandas as pd
    import pyarrow as pa

ColumnType = Literal["text", "double", "bigint", "date", "timestamp", "boolean"]
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class WarehouseError(StepRunError):
    """The warehouse could not be reached or refused an operation (retryable: locks, lost connections)."""


def quote_identifier(name: str) -> str:
    """A validated, quoted SQL identifier (``schema.table`` allowed). Never built from unchecked strings."""
    parts = name.split(".")
    for part in parts:
        if not _IDENTIFIER.match(part):
            raise ValueError(f"not a valid SQL identifier: {name!r} (lower-case letters, digits, '_')")
    return ".".join(f'"{part}"' for part in parts)


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType


@dataclass(frozen=True)
class Table:
    """A table declaration: name ``schema.table``, columns, the key that identifies a row in a capture, and
    the columns queries look rows up by (``index``: Postgres builds a b-tree on them; DuckDB needs none,
    its zone maps prune row groups because rows arrive one capture at a time)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    index: tuple[str, ...] = ()

    @property
    def schema(self) -> str:
        return self.name.split(".")[0]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class Warehouse(Protocol):
    """What pipelines use. SQL uses ``?`` placeholders on both backends; tables move as Arrow tables (bulk,
    typed by the table declaration) or pandas frames (converted to Arrow on the way in).

    Writes happen inside :meth:`transaction` so a step's delete + insert is all or nothing.
    """

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""

    def query_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run a query and return its rows as a DataFrame."""

    def query_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """Run a query and return its rows as an Arrow table (no per-row Python objects)."""

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None when there is no row)."""

    def insert_df(self, table: Table, frame: pd.DataFrame | pa.Table) -> int:
        """Bulk-insert ``frame`` (its columns named like the table's, extra ones ignored); returns the rows
        written. Values are cast to the declared column types; one that does not fit is an error."""

    def transaction(self) -> AbstractContextManager[None]:
        """Commit on success, roll back on error."""

    def ensure_tables(self, tables: Sequence[Table], views: Sequence[tuple[str, str]] = ()) -> None:
        """Create the schemas, tables and views if missing (idempotent)."""

    def hash_sql(self, columns: Sequence[str]) -> str:
        """A SQL expression: a 64-bit integer hash of ``columns`` (validated identifiers). Equal values hash
        equal (NULLs too); different ones can collide, so it narrows an exact comparison, never replaces it.
        Grouping by it first is cheaper than grouping by several text columns (bench/RESULTS.md §6)."""

    def close(self) -> None: ...


def create_table_sql(table: Table, types: dict[str, str]) -> str:
    cols = ",\n  ".join(f"{quote_identifier(c.name)} {types[c.type]}" for c in table.columns)
    return f"CREATE TABLE IF NOT EXISTS {quote_identifier(table.name)} (\n  {cols}\n)"


def arrow_schema(table: Table) -> pa.Schema:
    import pyarrow as pa

    types = {
        "text": pa.string(),
        "double": pa.float64(),
        "bigint": pa.int64(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "boolean": pa.bool_(),
    }
    return pa.schema([pa.field(c.name, types[c.type]) for c in table.columns])


def arrow_for(table: Table, frame: pd.DataFrame | pa.Table) -> pa.Table:
    """``frame`` as an Arrow table with exactly the table's columns, in order, cast to the declared types
    (a missing column is an error, not a silent null)."""
    import pyarrow as pa

    names = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
    missing = [c for c in table.column_names if c not in names]
    if missing:
        raise ValueError(f"cannot insert into {table.name}: the frame lacks columns {missing}")
    schema = arrow_schema(table)
    if isinstance(frame, pa.Table):
        data = frame.select(table.column_names)
    else:
        data = pa.Table.from_pandas(frame[table.column_names], preserve_index=False)
    columns = []
    for field, column in zip(schema, data.columns, strict=True):
        if column.type == field.type:
            columns.append(column)
        elif pa.types.is_timestamp(column.type) and pa.types.is_date(field.type):
            columns.append(column.cast(pa.timestamp(column.type.unit)).cast(field.type, safe=False))
        else:
            columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)
