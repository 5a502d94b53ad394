"""A disk cache of parsed source files, so a week's all-tier file is parsed once, not once per tier.

FINRA's full-record file of a week holds every tier, and each (week, tier) capture is its own ingest step
(often its own process, or its own Celery worker): without this cache each of the three captures parsed the
whole file again. The first capture that reads a file stores the parse of the whole file (every row, before
the tier cut) as an Arrow IPC file; the others memory-map it and cut their tier from it.

* **Key**: the SHA-256 of the file's bytes (which ingest computes anyway for the capture's content hash)
  and :data:`CACHE_VERSION` (bumped whenever the reader's output changes). A file rewritten in place has
  another hash, so a stale entry is never read; it only ages out.
* **Where**: ``$SPINE_HOME/cache/finra_otc/`` (``SPINE_HOME`` defaults to ``./.spine``, as everywhere).
* **Bound**: ``SPINE_FINRA_PARSE_CACHE_MB`` megabytes (default 1024, about nine full-size weeks); after
  each store the least recently used entries (by modification time, refreshed on every hit) are removed
  until the directory fits. ``0`` disables the cache (every capture parses its file, as before).
* **Routing index**: which (week, tier) pairs each source file holds (``partitions/``, one small JSON
  file per source file, keyed by its path, size and modification time), so a step in a fresh process does
  not scan every file of the directory again. Not counted in the limit (about 100 bytes per source file).
* **Concurrency**: entries are written to a temporary file in the same directory and renamed into place
  (``os.replace``), so a reader in another process sees a whole entry or none. An entry removed while
  another process has it mapped stays readable there (POSIX). An entry that cannot be read is treated as
  missing and removed; any error of the cache itself falls back to parsing (the cache never changes
  results, only how often a file is parsed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

CACHE_VERSION = 1
DEFAULT_LIMIT_MB = 1024
LIMIT_ENV = "SPINE_FINRA_PARSE_CACHE_MB"
_SUFFIX = ".arrow"
_STALE_TEMP_SECONDS = 3600.0  # a temporary file this old belongs to a writer that died


@dataclass(frozen=True)
class Parsed:
    """A whole file's parse: its raw text rows (every tier), its layout, and the rows read from it."""

    rows: pa.Table
    layout: str
    rows_read: int


def cache_dir() -> Path:
    """``$SPINE_HOME/cache/finra_otc`` (``SPINE_HOME`` defaults to ``./.spine``)."""
    return Path(os.environ.get("SPINE_HOME") or ".spine") / "cache" / "finra_otc"


def limit_bytes() -> int:
    """The cache's size limit from ``SPINE_FINRA_PARSE_CACHE_MB`` (default 1024; ``0`` disables it)."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    try:
        megabytes = float(text) if text else float(DEFAULT_LIMIT_MB)
    except ValueError:
        megabytes = float(DEFAULT_LIMIT_MB)
    return max(0, int(megabytes * 1024 * 1024))


def enabled() -> bool:
    """Whether captures share parses through the cache (a limit above zero)."""
    return limit_bytes() > 0


def _entry(directory: Path, digest: str) -> Path:
    return directory / f"{digest}-v{CACHE_VERSION}{_SUFFIX}"


def load(digest: str) -> Parsed | None:
    """The cached parse of the file whose bytes hash to ``digest``, or None (missing or unreadable)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    path = _entry(cache_dir(), digest)
    try:
        with pa.memory_map(str(path), "r") as source:
            table = ipc.open_file(source).read_all()
        meta = table.schema.metadata or {}
        parsed = Parsed(
            table.replace_schema_metadata(None),
            meta[b"spine.layout"].decode(),
            int(meta[b"spine.rows_read"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, KeyError, ValueError, pa.ArrowException):  # a damaged entry: parse again
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):  # a hit makes the entry the most recently used
        os.utime(path)
    return parsed


def store(digest: str, parsed: Parsed) -> None:
    """Write the parse atomically (temp file + rename), then trim the cache to its limit. Errors are
    swallowed: a full disk or a read-only ``SPINE_HOME`` means parsing again, not failing the step."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    limit = limit_bytes()
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        table = parsed.rows.replace_schema_metadata(
            {"spine.layout": parsed.layout, "spine.rows_read": str(parsed.rows_read)}
        )
        if table.nbytes > limit:
            return  # larger than the whole cache: keeping it would evict everything else
        handle, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=_SUFFIX)
        os.close(handle)  # Arrow writes through its own handle
        try:
            with pa.OSFile(temp, "wb") as sink, ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            os.replace(temp, _entry(directory, digest))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        evict(directory, limit)
    except (OSError, pa.ArrowException):
        return


def evict(directory: Path, limit: int) -> list[Path]:
    """Remove the least recently used entries until the directory holds at most ``limit`` bytes (and
    temporary files left by writers that died); returns what was removed."""
    now = time.time()
    entries = []
    removed = []
    for path in directory.iterdir():
        try:
            stat = path.stat()
        except OSError:  # removed meanwhile by another process
            continue
        if path.name.startswith(".tmp-"):
            if now - stat.st_mtime > _STALE_TEMP_SECONDS:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
            continue
        if path.suffix == _SUFFIX:
            entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):  # oldest first
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
        total -= size
    return removed


def _partitions_entry(key: str) -> Path:
    return cache_dir() / "partitions" / f"{hashlib.sha1(key.encode()).hexdigest()}-v{CACHE_VERSION}.json"


def load_partitions(key: str) -> list[tuple[str | None, str | None]] | None:
    """The stored (week ISO date, tier) pairs of the source file ``key`` (path|size|mtime_ns), or None."""
    try:
        data = json.loads(_partitions_entry(key).read_text())
        if data.get("key") != key:
            return None
        return [(week, tier) for week, tier in data["partitions"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_partitions(key: str, partitions: list[tuple[str | None, str | None]]) -> None:
    """Store a source file's (week, tier) pairs atomically (errors swallowed: it is only a cache)."""
    path = _partitions_entry(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump({"key": key, "partitions": sorted(partitions, key=str)}, out)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temp)
