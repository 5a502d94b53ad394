"""Choose and open a backend from a URL: ``duckdb:///path`` or ``postgresql://user:pass@host:port/db``."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from ..errors import BadConfigError
from .base import Warehouse


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def open_warehouse(url: str) -> Warehouse:
    """Open the warehouse at ``url`` (drivers are imported here, not at import time)."""
    if url.startswith("duckdb://"):
        from .duckdb import DuckDBWarehouse

        path = url[len("duckdb:///") :] if url.startswith("duckdb:///") else ""
        if not path:
            raise BadConfigError(
                f"invalid warehouse URL {url!r}: use duckdb:///relative/path.duckdb or duckdb:////abs/path"
            )
        return DuckDBWarehouse(path)
    if re.match(r"^postgres(ql)?(\+psycopg2)?://", url):
        from .postgres import PostgresWarehouse

        dsn = re.sub(r"^postgres(ql)?(\+psycopg2)?://", "postgresql://", url)
        return PostgresWarehouse(dsn, display_url=redact_url(url))
    raise BadConfigError(
        f"unsupported warehouse URL {redact_url(url)!r}: use duckdb:///path/to/file.duckdb or "
        "postgresql://user:pass@host:port/db (set SPINE_WAREHOUSE_URL)"
    )
