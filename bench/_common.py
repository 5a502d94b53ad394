"""Shared helpers of the benchmarks: timing, medians, subprocesses, tables, JSON output.

Every benchmark measures our path and a bare-Dagster baseline in the same process tree, interleaved,
and reports medians and the ratio ours/baseline: on a noisy 2-core machine the ratios are what matter.
Nothing here asserts anything about speed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
PYTHON = sys.executable

PACKAGES = ("spine-dagster", "dagster", "dagster-shared", "pydantic", "pydantic-core", "PyYAML", "pandas")
# Inherited variables that would change what a child process loads or where it writes.
_SCRUB = ("SPINE_GROUPS_DIR", "SPINE_HOME", "SPINE_WAREHOUSE_URL", "SPINE_STRICT", "DAGSTER_HOME")


# --- numbers -----------------------------------------------------------------------------------------------
def median(values: Iterable[float]) -> float:
    data = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(data) if data else float("nan")


def ratio(ours: float, base: float) -> float:
    return ours / base if base and not math.isnan(base) and not math.isnan(ours) else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call, with ``time.perf_counter``."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def interleaved(repeats: int, cases: Mapping[str, Callable[[], Any]]) -> dict[str, list[Any]]:
    """Run every case ``repeats`` times, alternating the order each round (ABAB.. then BABA..) so that
    drift of the machine (other load, thermal, caches) hits every case alike."""
    names = list(cases)
    results: dict[str, list[Any]] = {name: [] for name in names}
    for round_ in range(repeats):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            results[name].append(cases[name]())
    return results


# --- processes -----------------------------------------------------------------------------------------------
@dataclass
class ProcResult:
    wall: float
    returncode: int
    stdout: str
    stderr: str

    def last_json(self) -> dict[str, Any]:
        """The last stdout line that is a JSON object (children print their measurements that way)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
        raise ValueError(f"no JSON line in the child's output:\n{self.stdout[-2000:]}")


class ChildFailed(RuntimeError):
    pass


def run_child(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 900,
    check: bool = True,
) -> ProcResult:
    """Run a command, timing its wall clock from spawn to exit (interpreter start included)."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - start
    result = ProcResult(wall, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise ChildFailed(
            f"{' '.join(map(str, cmd))} exited {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}"
            f"\n--- stderr\n{proc.stderr[-5000:]}"
        )
    return result


def child_env(**overrides: str | Path) -> dict[str, str]:
    """The environment for a child: ours minus SPINE_*/DAGSTER_HOME, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def venv_tool(name: str) -> list[str]:
    """The console script ``name`` next to this interpreter (``dagster``, ``spine``), else ``python -m``."""
    script = Path(PYTHON).parent / name
    if script.exists():
        return [str(script)]
    module = {"spine": "spine_dagster", "dagster": "dagster"}[name]
    return [PYTHON, "-m", module]


def make_dagster_home(parent: Path, name: str) -> Path:
    """A fresh DAGSTER_HOME with an empty dagster.yaml (SQLite storage, Dagster's defaults)."""
    home = parent / name
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("")
    return home


def tempdir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=f"spine-bench-{prefix}-")


# --- machine and output --------------------------------------------------------------------------------------
def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    status = _git("status", "--porcelain", "--", "spine_dagster")
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpus_usable": affinity,
        "mem_total_gib": _mem_total_gib(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "python_executable": PYTHON,
        "platform": platform.platform(),
        "packages": versions,
        "pythonpath": os.environ.get("PYTHONPATH"),
        "git_commit": _git("rev-parse", "HEAD"),
        "spine_dagster_dirty": bool(status) if status is not None else None,
    }


def write_json(name: str, payload: Mapping[str, Any], out_dir: Path | None = None) -> Path:
    """``bench/out/<name>.json``: the command, the machine, then the benchmark's own payload."""
    out_dir = out_dir or OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    data = {
        "benchmark": name,
        "command": " ".join([Path(PYTHON).name, *sys.argv]),
        "machine": machine_info(),
        **payload,
    }
    path.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A plain-text table (right-aligned numbers), like the ones in bench/README.md."""
    cells = [[str(h) for h in headers], *[[c if isinstance(c, str) else fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    lines = [line(cells[0]), "  ".join("-" * w for w in widths), *(line(r) for r in cells[1:])]
    if title:
        lines.insert(0, title)
    return "\n".join(lines)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    print(table(headers, rows, title), flush=True)
    print(flush=True)


def log(message: str) -> None:
    """Progress lines go to stderr so stdout stays the tables."""
    print(message, file=sys.stderr, flush=True)
