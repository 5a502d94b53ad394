"""Scale benchmark (issue 13): a span of generated full-size FINRA weeks through our whole stack, end to end.

    SPINE_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/scale.py --weeks 52
    python bench/scale.py --weeks 2 --only plain_duckdb,inprocess_duckdb      # a short span, DuckDB only

Not a test and not in CI: a year (52 weeks x 3 tiers, about 13.7M source rows) takes hours on 2 cores.
Every configuration runs on the same generated files (FINRA's full-record layout, one all-tier file per
week, from ``spine_dagster.domains.finra_otc.generate`` as bench/finra.py uses it), each on a fresh
warehouse, a fresh ``SPINE_HOME`` (so an empty parse cache) and a fresh Dagster instance:

* ``plain_duckdb`` / ``plain_postgres``: the plain one-script baseline of bench/finra.py (DuckDB SQL over
  each week's file, all tiers at once, written with the backend's bulk path), over the same weeks;
* ``inprocess_duckdb`` / ``inprocess_postgres``: ``spine run finra.weekly_refresh --partition-range
  FIRST..LAST`` (the shipped group with ``source_dir`` in its defaults: :func:`write_groups`) (one Dagster run per (week, tier), one after another, in that process;
  SQLite instance; ``SPINE_WAREHOUSE_URL`` the DuckDB file or a fresh Postgres database);
* ``inprocess_duckdb_pginstance`` / ``inprocess_postgres_pginstance``: the same on a Postgres Dagster instance
  (a fresh database, ``deploy/dagster.yaml``: the production profile's storage), still in process;
* ``celery1`` / ``celery2``: the same command with ``--queue`` and ``SPINE_EXECUTOR=celery``: a Postgres
  Dagster instance with ``deploy/dagster.yaml`` (QueuedRunCoordinator, 8 runs at most, one per partition),
  a ``dagster-daemon run`` (the backfill and queue daemons start the runs), and 1 or 2 ``spine worker
  --concurrency 1`` processes on RabbitMQ (a queue of its own), Postgres warehouse. The steps' pool
  ``finra_warehouse`` is set to the number of workers (``dagster instance concurrency set``), so two
  workers can write at once.

Reported per configuration: wall time (start of the command to its exit), source rows per second, and the
peak RSS of every process of its tree (psutil, sampled every ``--sample-seconds``: the command, the daemon
and the run workers it launches, the workers and their pool processes), with the largest one named;
for ours, the rows of ``finra_otc.weekly_volume_latest`` afterwards (the same in every configuration when
the runs did the same work). Ratios: in-process / plain per backend (target <= 1.5), celery1 / celery2
(the 1 -> 2 worker speed-up, with ``nproc``). Postgres server processes are not in any tree and are not
sampled. JSON goes to ``bench/out/scale.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, REPO, log, print_table, ratio, write_json

FIRST_WEEK = dt.date(2025, 11, 17)  # the first partition of finra.weekly_refresh
CONFIGS = (
    "plain_duckdb", "inprocess_duckdb", "inprocess_duckdb_pginstance",
    "plain_postgres", "inprocess_postgres", "inprocess_postgres_pginstance",
    "celery1", "celery2",
)  # fmt: skip
RSS_LIMIT_MB = 2048
BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"


# --- process-tree sampling -------------------------------------------------------------------------------


def _role(cmdline: list[str]) -> str:
    """A short name for a process of the tree, from its command line."""
    text = " ".join(cmdline)
    for needle, role in (
        ("finra.py --child plain", "plain baseline"),
        ("dagster_celery.app worker", "celery worker"),
        ("spine_dagster worker", "spine worker"),
        ("dagster-daemon", "dagster-daemon"),
        ("dagster._daemon", "dagster-daemon"),
        ("api execute_run", "run worker"),
        ("api execute_step", "step process"),
        ("api grpc", "code server"),
        ("code-server", "code server"),
        ("spine_dagster run", "spine run"),
        ("multiprocessing", "step process"),
    ):
        if needle in text:
            return role
    return Path(cmdline[0]).name if cmdline else "?"


@dataclass
class TreeSampler:
    """Samples the RSS of every process under the given roots (recursively) until stopped."""

    interval: float
    roots: list[int] = field(default_factory=list)
    peaks: dict[int, dict[str, Any]] = field(default_factory=dict)
    total_peak_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, pid: int) -> None:
        self.roots.append(pid)

    def _sample(self) -> None:
        import psutil

        seen: dict[int, psutil.Process] = {}
        for root in list(self.roots):
            try:
                process = psutil.Process(root)
                seen[root] = process
                for child in process.children(recursive=True):
                    seen[child.pid] = child
            except psutil.Error:
                continue
        total = 0.0
        for pid, process in seen.items():
            try:
                rss = process.memory_info().rss / 2**20
                if pid not in self.peaks:
                    self.peaks[pid] = {"pid": pid, "role": _role(process.cmdline()), "peak_mb": 0.0}
            except psutil.Error:
                continue
            total += rss
            self.peaks[pid]["peak_mb"] = max(self.peaks[pid]["peak_mb"], rss)
        self.total_peak_mb = max(self.total_peak_mb, total)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def summary(self) -> dict[str, Any]:
        """Peak RSS per role (the largest process of each), the largest process, and the processes seen."""
        by_role: dict[str, dict[str, Any]] = {}
        for item in self.peaks.values():
            best = by_role.get(item["role"])
            count = (best or {}).get("processes", 0) + 1
            if best is None or item["peak_mb"] > best["peak_mb"]:
                by_role[item["role"]] = {"peak_mb": round(item["peak_mb"], 1), "processes": count}
            else:
                best["processes"] = count
        top = max(self.peaks.values(), key=lambda i: i["peak_mb"], default={"role": "-", "peak_mb": 0.0})
        return {
            "max_process_mb": round(top["peak_mb"], 1),
            "max_process_role": top["role"],
            "tree_total_peak_mb": round(self.total_peak_mb, 1),
            "processes_seen": len(self.peaks),
            "by_role": by_role,
        }


# --- resources: databases, daemon, workers --------------------------------------------------------------


def _admin(pg_url: str) -> Any:
    import psycopg2

    con = psycopg2.connect(pg_url)
    con.autocommit = True
    return con


@contextlib.contextmanager
def fresh_database(pg_url: str, prefix: str) -> Iterator[str]:
    """A new Postgres database (dropped after); yields its URL."""
    from urllib.parse import urlsplit, urlunsplit

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = _admin(pg_url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _stop_group(process: subprocess.Popen[Any], timeout: float = 60) -> None:
    """SIGTERM to the process group we started (new session), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_for(check: Callable[[], bool], what: str, timeout: float, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.5)


def _daemon_healthy(env: dict[str, str]) -> bool:
    code = (
        "import dagster as dg\n"
        "with dg.DagsterInstance.get() as i:\n"
        "    s = i.get_daemon_statuses(['QUEUED_RUN_COORDINATOR', 'BACKFILL'])\n"
        "    print(all(v.healthy for v in s.values()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    return out.stdout.strip().endswith("True")


@contextlib.contextmanager
def background(argv: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[Any]]:
    """A long-running process in its own session, stopped (group SIGTERM) on exit."""
    with log_path.open("wb") as sink:
        process = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            _stop_group(process)


def _delete_queue(queue: str) -> None:
    from kombu import Connection

    with contextlib.suppress(Exception), Connection(BROKER) as conn:
        conn.default_channel.queue_delete(queue)


# --- one configuration -------------------------------------------------------------------------------------


def write_groups(directory: Path, data: Path) -> Path:
    """A groups dir with the shipped finra.weekly_refresh whose defaults read ``data``.

    Not ``--param source_dir=...``: a ``--queue`` backfill (spine_dagster/queue.py) creates its runs with
    the partitions' own config, without the run params (found here: the runs read the shipped samples), so
    the source directory goes into the group's defaults, for every configuration alike.
    """
    text = (REPO / "groups" / "finra_weekly_refresh.yaml").read_text()
    anchor = "  defaults:\n"
    assert anchor in text, "finra_weekly_refresh.yaml has no defaults block"
    text = text.replace(anchor, f"{anchor}    source_dir: {json.dumps(str(data))}\n", 1)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "finra_weekly_refresh.yaml").write_text(text)
    return directory


def _base_env(home: Path) -> dict[str, str]:
    """The environment of one configuration: its own SPINE_HOME and DAGSTER_HOME, the bench's groups."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPINE_", "DAGSTER_"))}
    groups = home.parent / "groups"
    env.update(SPINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), SPINE_GROUPS_DIR=str(groups))
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    return env


def _run_measured(
    argv: list[str], env: dict[str, str], sampler: TreeSampler, log_path: Path
) -> tuple[float, int]:
    """Run ``argv`` to its end under the sampler; (wall seconds, exit code)."""
    started = time.perf_counter()
    with log_path.open("wb") as sink:
        process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
        sampler.add(process.pid)
        code = process.wait()
    return time.perf_counter() - started, code


def _volume_rows(url: str) -> int | None:
    """Rows of finra_otc.weekly_volume_latest in the warehouse (what the runs produced)."""
    from spine_dagster.warehouse import open_warehouse

    try:
        warehouse = open_warehouse(url)
    except Exception:
        return None
    try:
        return int(warehouse.scalar("SELECT COUNT(*) FROM finra_otc.weekly_volume_latest"))
    except Exception:
        return None
    finally:
        warehouse.close()


@dataclass
class Context:
    data: Path
    weeks: list[dt.date]
    workdir: Path
    pg_url: str | None
    interval: float


def _spine_run_argv(ctx: Context, queue: bool) -> list[str]:
    argv = [sys.executable, "-m", "spine_dagster", "run", "finra.weekly_refresh"]
    argv += ["--partition-range", f"{ctx.weeks[0]}..{ctx.weeks[-1]}"]
    return argv + (["--queue"] if queue else []) + ["--format", "json"]


def run_plain(ctx: Context, backend: str) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        if backend == "duckdb":
            url = f"duckdb:///{ctx.workdir / f'plain_{uuid.uuid4().hex[:6]}.duckdb'}"
        else:
            url = stack.enter_context(fresh_database(ctx.pg_url or "", "spine_scale_plain"))
        argv = [sys.executable, str(REPO / "bench" / "finra.py"), "--child", "plain", "--data", str(ctx.data)]
        home = ctx.workdir / f"home_plain_{backend}"
        with TreeSampler(ctx.interval) as sampler:
            wall, code = _run_measured([*argv, "--url", url], _base_env(home), sampler, home / "run.log")
        return {"wall_s": wall, "exit": code, "rss": sampler.summary(), "log": str(home / "run.log")}


@contextlib.contextmanager
def deploy_instance(ctx: Context, home: Path) -> Iterator[dict[str, str]]:
    """A fresh Postgres Dagster instance for ``home`` (deploy/dagster.yaml); yields its environment."""
    with fresh_database(ctx.pg_url or "", "spine_scale_dagster") as instance_url:
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster" / "dagster.yaml")
        yield {"SPINE_DAGSTER_PG_URL": instance_url.replace("postgresql://", "postgresql+psycopg2://")}


def run_inprocess(ctx: Context, backend: str, pg_instance: bool = False) -> dict[str, Any]:
    """``spine run`` in process on the SQLite instance (the embedded default), or with ``pg_instance`` on a
    Postgres instance configured by deploy/dagster.yaml (the production profile's storage)."""
    with contextlib.ExitStack() as stack:
        home = ctx.workdir / f"home_inprocess_{backend}{'_pginstance' if pg_instance else ''}"
        if backend == "duckdb":
            url = f"duckdb:///{home / 'warehouse.duckdb'}"
        else:
            url = stack.enter_context(fresh_database(ctx.pg_url or "", "spine_scale_wh"))
        env = _base_env(home) | {"SPINE_WAREHOUSE_URL": url}
        if pg_instance:
            env |= stack.enter_context(deploy_instance(ctx, home))
        with TreeSampler(ctx.interval) as sampler:
            wall, code = _run_measured(_spine_run_argv(ctx, queue=False), env, sampler, home / "run.log")
        return {"wall_s": wall, "exit": code, "rss": sampler.summary(), "weekly_volume_rows": _volume_rows(url),
                "log": str(home / "run.log")}  # fmt: skip


def run_celery(ctx: Context, workers: int) -> dict[str, Any]:
    assert ctx.pg_url, "the Celery configurations need SPINE_BENCH_POSTGRES_URL"
    home = ctx.workdir / f"home_celery{workers}"
    queue = f"spine_bench_{uuid.uuid4().hex[:8]}"
    env = _base_env(home)  # creates home/dagster, where deploy_instance puts the config
    with (
        fresh_database(ctx.pg_url, "spine_scale_wh") as warehouse_url,
        deploy_instance(ctx, home) as instance_env,
    ):
        env |= instance_env | {
            "SPINE_WAREHOUSE_URL": warehouse_url,
            "SPINE_EXECUTOR": "celery",
            "SPINE_CELERY_QUEUE": queue,
        }
        subprocess.run(  # the instance's tables, created once before several processes race to
            [sys.executable, "-c", "import dagster as dg\nwith dg.DagsterInstance.get() as i: i.get_runs()"],
            env=env, check=True, cwd=REPO,
        )  # fmt: skip
        subprocess.run(
            [_tool("dagster"), "instance", "concurrency", "set", "finra_warehouse", str(workers)],
            env=env, check=True, cwd=REPO, capture_output=True,
        )  # fmt: skip
        try:
            with TreeSampler(ctx.interval) as sampler, contextlib.ExitStack() as stack:
                daemon = stack.enter_context(
                    background(
                        [_tool("dagster-daemon"), "run", "-w", "workspace.yaml"], env, home / "daemon.log"
                    )
                )
                sampler.add(daemon.pid)
                _wait_for(lambda: _daemon_healthy(env), "dagster-daemon", 120, daemon)
                for index in range(workers):
                    name = f"w{index}-{queue}"
                    log_path = home / f"{name}.log"
                    worker = stack.enter_context(
                        background(
                            [
                                sys.executable,
                                "-m",
                                "spine_dagster",
                                "worker",
                                "--concurrency",
                                "1",
                                "--name",
                                name,
                            ],
                            env,
                            log_path,
                        )
                    )
                    sampler.add(worker.pid)
                    _wait_for(
                        lambda p=log_path: " ready." in p.read_text(errors="replace"), name, 120, worker
                    )
                wall, code = _run_measured(_spine_run_argv(ctx, queue=True), env, sampler, home / "run.log")
        finally:
            _delete_queue(queue)
        return {"wall_s": wall, "exit": code, "rss": sampler.summary(),
                "weekly_volume_rows": _volume_rows(warehouse_url), "log": str(home / "run.log")}  # fmt: skip


# --- main ------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weeks", type=int, default=52, help="weeks from 2025-11-17 (default 52: a year)")
    parser.add_argument(
        "--only", default=",".join(CONFIGS), help=f"comma-separated subset of {','.join(CONFIGS)}"
    )
    parser.add_argument("--postgres-url", default=os.environ.get("SPINE_BENCH_POSTGRES_URL"))
    parser.add_argument("--data", type=Path, help="reuse generated files in this directory (else generated)")
    parser.add_argument(
        "--workdir", type=Path, help="keep homes and logs here (default: a temp dir, removed)"
    )
    parser.add_argument("--sample-seconds", type=float, default=0.5, help="RSS sampling period (default 0.5)")
    parser.add_argument("--out-dir", type=Path, default=OUT)
    parser.add_argument("--name", default="scale")
    args = parser.parse_args(argv)
    configs = [c for c in args.only.split(",") if c]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configurations {sorted(unknown)}; choose from {', '.join(CONFIGS)}")
    if not args.postgres_url:
        configs = [c for c in configs if c in ("plain_duckdb", "inprocess_duckdb")]
        log("no SPINE_BENCH_POSTGRES_URL: DuckDB configurations only")

    import tempfile

    cleanup = None
    if args.workdir is None:
        cleanup = tempfile.TemporaryDirectory(prefix="spine-bench-scale-")
        workdir = Path(cleanup.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        weeks = [FIRST_WEEK + dt.timedelta(weeks=i) for i in range(args.weeks)]
        data = args.data or workdir / "data"
        if args.data is None:
            from spine_dagster.domains.finra_otc.generate import generate

            started = time.perf_counter()
            generate(data, first_week=FIRST_WEEK, num_weeks=args.weeks, layouts=("full",), seed=1, scale=1.0)
            log(f"generated {args.weeks} weeks in {time.perf_counter() - started:.0f}s")
        names = tuple(f"finra_otc_weekly_{week}_" for week in weeks)  # --data may hold more weeks than run
        files = sorted(p for p in data.glob("finra_otc_weekly_*.psv") if p.name.startswith(names))
        source_rows = sum(sum(1 for _ in p.open()) - 1 for p in files)
        log(f"{len(files)} files, {source_rows:,} source rows")
        write_groups(workdir / "groups", data.resolve())
        ctx = Context(data, weeks, workdir, args.postgres_url, args.sample_seconds)
        runners: dict[str, Callable[[], dict[str, Any]]] = {
            "plain_duckdb": lambda: run_plain(ctx, "duckdb"),
            "inprocess_duckdb": lambda: run_inprocess(ctx, "duckdb"),
            "inprocess_duckdb_pginstance": lambda: run_inprocess(ctx, "duckdb", pg_instance=True),
            "plain_postgres": lambda: run_plain(ctx, "postgres"),
            "inprocess_postgres": lambda: run_inprocess(ctx, "postgres"),
            "inprocess_postgres_pginstance": lambda: run_inprocess(ctx, "postgres", pg_instance=True),
            "celery1": lambda: run_celery(ctx, 1),
            "celery2": lambda: run_celery(ctx, 2),
        }
        results: dict[str, Any] = {}
        for name in configs:
            log(f"{name}: running ({os.getloadavg()[0]:.1f} load)")
            loads = [os.getloadavg()[0]]
            try:
                result = runners[name]()
            except Exception as exc:
                result = {"error": f"{type(exc).__name__}: {exc}"}
            loads.append(os.getloadavg()[0])
            result["load_1min_before_after"] = loads
            if "wall_s" in result:
                result["rows_per_s"] = source_rows / result["wall_s"]
            results[name] = result
            log(f"{name}: {json.dumps({k: v for k, v in result.items() if k != 'rss'}, default=str)}")
    finally:
        if cleanup is not None:
            cleanup.cleanup()

    rows = []
    for name, result in results.items():
        rss = result.get("rss", {})
        rows.append([
            name, result.get("error", result.get("exit")), f"{result.get('wall_s', float('nan')):.1f}",
            f"{result.get('rows_per_s', float('nan')):,.0f}",
            f"{rss.get('max_process_mb', float('nan')):.0f} ({rss.get('max_process_role', '-')})",
            f"{rss.get('tree_total_peak_mb', float('nan')):.0f}", rss.get("processes_seen", "-"),
            result.get("weekly_volume_rows", "-"),
        ])  # fmt: skip
    print_table(
        ["config", "exit", "wall s", "source rows/s", "largest process MB", "tree peak MB", "processes",
         "weekly_volume_latest rows"],
        rows, f"{args.weeks} weeks, {source_rows:,} source rows, nproc {os.cpu_count()}",
    )  # fmt: skip

    def wall(name: str) -> float:
        return float(results.get(name, {}).get("wall_s", float("nan")))

    summary = {
        "inprocess_over_plain_duckdb": ratio(wall("inprocess_duckdb"), wall("plain_duckdb")),
        "inprocess_over_plain_postgres": ratio(wall("inprocess_postgres"), wall("plain_postgres")),
        "inprocess_pginstance_over_plain_duckdb": ratio(wall("inprocess_duckdb_pginstance"), wall("plain_duckdb")),
        "inprocess_pginstance_over_plain_postgres": ratio(
            wall("inprocess_postgres_pginstance"), wall("plain_postgres")
        ),
        "speedup_1_to_2_workers": ratio(wall("celery1"), wall("celery2")),
        "celery1_over_inprocess_postgres": ratio(wall("celery1"), wall("inprocess_postgres")),
        "max_process_mb": max((r.get("rss", {}).get("max_process_mb", 0.0) for r in results.values()), default=0),
        "rss_limit_mb": RSS_LIMIT_MB,
        "nproc": os.cpu_count(),
    }  # fmt: skip
    print_table(["measure", "value"], [[k, f"{v:.3f}" if isinstance(v, float) else v] for k, v in summary.items()],
                "Ratios (targets: in-process/plain <= 1.5; every process <= 2048 MB)")  # fmt: skip
    write_json(args.name, {"weeks": args.weeks, "source_rows": source_rows, "configs": configs,
                           "results": results, "summary": summary}, args.out_dir)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
