"""Postgres reads with their parameters written into the SQL, so ADBC fetches them with binary COPY.

ADBC's libpq driver reads a result with ``COPY (query) TO STDOUT (FORMAT binary)`` only when the query has
no bound parameters. With ``$1``-style parameters it executes a prepared statement and converts the rows
from the result set, about twice as slow. On a table of 264k rows with 19 text columns, fetching the
88k rows of one capture took 0.22-0.28 s inlined and 0.36-0.53 s bound. A step's reads are all
``WHERE capture_id = ? AND week_start = ? AND tier = ?``, so :func:`inline` writes such parameters into the
SQL as literals instead.

Only plain values are written, each in the one form Postgres reads back unchanged:

* ``None`` → ``NULL``; ``bool`` → ``TRUE``/``FALSE``; ``int`` → its digits;
* a finite ``float`` → ``'repr'::double precision``;
* ``str`` → ``'...'`` with every ``'`` doubled. Under ``standard_conforming_strings = on`` (the default
  since Postgres 9.1, checked on every connection before inlining) that is the whole escaping rule:
  backslashes are ordinary characters. A string with a NUL byte, which no Postgres text can hold, is
  left to the driver to reject;
* ``datetime.date`` → ``'YYYY-MM-DD'::date``. A ``datetime.datetime`` → ``'ISO'::timestamptz`` when it
  has a time zone and ``'ISO'::timestamp`` when it has none, as ADBC binds them.

Any other value (``Decimal``, numpy scalars, bytes, non-finite floats) makes :func:`inline` return None,
and the query is bound as before. Literals are never built from SQL text, only from values. The query
text itself (identifiers, structure) is ours, validated where it is built.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Any, cast

PLACEHOLDER = re.compile(r"\?")  # the shared SQL's placeholder (DuckDB's); postgres.py numbers it


def literal(value: Any) -> str | None:
    """``value`` as a Postgres literal, or None when it is not a plain value of a type listed above."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value)
    if kind is float:
        return f"'{value!r}'::double precision" if math.isfinite(value) else None
    if kind is str:
        return None if "\x00" in value else "'" + value.replace("'", "''") + "'"
    if kind is dt.datetime:
        return f"'{value.isoformat()}'::{'timestamp' if value.tzinfo is None else 'timestamptz'}"
    if kind is dt.date:
        return f"'{value.isoformat()}'::date"
    return None


def inline(sql: str, params: Sequence[Any]) -> str | None:
    """``sql`` with each ``?`` replaced by the literal of its parameter, or None if one cannot be written.

    One pass over the SQL text: a ``?`` inside a written literal is never taken for a placeholder.
    """
    literals = [literal(value) for value in params]
    if any(text is None for text in literals) or len(PLACEHOLDER.findall(sql)) != len(literals):
        return None
    written = iter(cast("list[str]", literals))
    return PLACEHOLDER.sub(lambda _match: next(written), sql)


__all__ = ["PLACEHOLDER", "inline", "literal"]
