"""Stage 5: where data lands. One :class:`Warehouse` protocol, two backends chosen by URL.

``duckdb:///path/to/file.duckdb`` (embedded, the default) or ``postgresql://user:pass@host:port/db``.
Only ``resource.py`` imports dagster; the drivers are imported when a connection is opened.
"""

from .base import Column, Table, Warehouse, WarehouseError, quote_identifier
from .connect import open_warehouse, redact_url

__all__ = [
    "Column",
    "Table",
    "Warehouse",
    "WarehouseError",
    "open_warehouse",
    "quote_identifier",
    "redact_url",
]
