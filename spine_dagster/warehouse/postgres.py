"""Postgres backend: psycopg2, writes through COPY (never row by row), DDL under an advisory lock."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from .base import Table, WarehouseError, create_table_sql, frame_for, quote_identifier

TYPES = {
    "text": "TEXT",
    "double": "DOUBLE PRECISION",
    "bigint": "BIGINT",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "boolean": "BOOLEAN",
}
_NULL = "\\N"
_DDL_LOCK = 727_311  # pg_advisory_xact_lock key: concurrent steps create the schema one at a time


def _pg_sql(sql: str) -> str:
    # The shared SQL uses `?` placeholders (DuckDB's); psycopg2 wants %s. Literal % must be doubled.
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresWarehouse:
    dialect = "postgres"

    def __init__(self, dsn: str, *, display_url: str) -> None:
        import psycopg2

        try:
            self.con = psycopg2.connect(dsn, connect_timeout=15)
        except psycopg2.OperationalError as exc:
            # The message may echo the host, never the password (psycopg2 does not print it).
            raise WarehouseError(f"cannot connect to Postgres at {display_url}: {str(exc).strip()}") from exc
        self.con.autocommit = False
        self._in_transaction = False

    def _cursor(self) -> Any:
        return self.con.cursor()

    def _maybe_commit(self) -> None:
        if not self._in_transaction:
            self.con.commit()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._cursor() as cur:
            cur.execute(_pg_sql(sql), tuple(params))
        self._maybe_commit()

    def query_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self._cursor() as cur:
            cur.execute(_pg_sql(sql), tuple(params))
            rows = cur.fetchall()
            columns = [d.name for d in cur.description]
        self._maybe_commit()
        return pd.DataFrame.from_records(rows, columns=columns)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._cursor() as cur:
            cur.execute(_pg_sql(sql), tuple(params))
            row = cur.fetchone()
        self._maybe_commit()
        return None if row is None else row[0]

    def insert_df(self, table: Table, frame: pd.DataFrame) -> int:
        data = frame_for(table, frame)
        if data.empty:
            return 0
        buffer = io.StringIO()
        data.to_csv(
            buffer,
            index=False,
            header=False,
            na_rep=_NULL,
            quoting=csv.QUOTE_MINIMAL,
            date_format="%Y-%m-%d %H:%M:%S.%f%z",
        )
        buffer.seek(0)
        columns = ", ".join(quote_identifier(c) for c in table.column_names)
        copy = f"COPY {quote_identifier(table.name)} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')"
        with self._cursor() as cur:
            cur.copy_expert(copy, buffer)
        self._maybe_commit()
        return len(data)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        else:
            self.con.commit()
        finally:
            self._in_transaction = False

    def ensure_tables(self, tables: Sequence[Table], views: Sequence[tuple[str, str]] = ()) -> None:
        with self.transaction(), self._cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            for schema in sorted({t.schema for t in tables}):
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
            for table in tables:
                cur.execute(create_table_sql(table, TYPES))
            for name, select in views:
                cur.execute(f"CREATE OR REPLACE VIEW {quote_identifier(name)} AS {_pg_sql(select)}")

    def close(self) -> None:
        self.con.close()
