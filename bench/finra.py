"""Data path benchmark: the FINRA pipelines against two baselines, on DuckDB and (optionally) Postgres.

    python bench/finra.py                 # one full-size week (~265k rows) and a 13-week run
    python bench/finra.py --quick         # a small smoke run (CI): proves it still works, asserts nothing
    SPINE_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/finra.py

Implementations, each in its own process (for a clean peak RSS), on the same generated files:

* ``ours``: the four registered pipelines (ingest -> normalize -> aggregate -> rolling) per (week, tier),
  called directly with a warehouse (Dagster's own overhead is measured by bench/overhead.py).
* ``plain`` (baseline a, the practical limit): one script, DuckDB SQL over the files, computing the same
  tables for all tiers of a week at once (the raw table with each source line and its hash, as ours
  keeps them), then writing them with the backend's bulk path.
* ``naive`` (baseline b, what peers do): pandas for the computation and ``DataFrame.to_sql`` (Postgres,
  through SQLAlchemy) or row-by-row ``executemany`` inserts (DuckDB, ``--quick`` only: at full size it
  runs for tens of minutes) for the writes. One week only.

ours and plain run ``--repeats`` times per case (default 3), alternated, each in a fresh process and a fresh
warehouse; the table shows each one's median run and the ratio of the medians, with the ratio of every
repeat beside it (the machine is shared: a single pair moved by +-0.2 between runs).

Reported per stage: seconds and rows/s (rows = source rows of the stage), peak RSS, and the ratios
ours/plain (target <= 1.25, issue 13; it was 1.5) and naive/ours for both naive writers: ``to_sql``
(batched by SQLAlchemy 2) and one INSERT per row (``naive_rows``, Postgres, one week). The old target
naive/ours >= 10 on Postgres is retired (issue 13: to_sql is only about 6.4x the practical limit on
loopback); the ratios are still reported.

Each run of ours starts with a fresh ``SPINE_HOME`` (an empty parse cache). ``--before-code DIR`` adds
``ours_before``, ours from a copy of the package (the code before a change), alternated with the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, log, print_table, ratio, write_json

TIERS = {"NMS_TIER_1": "T1", "NMS_TIER_2": "T2", "OTC": "OTCE"}
# "close" is closing the warehouse: DuckDB's last checkpoint happens there, so it is timed with the rest.
STAGES = ("ingest", "normalize", "aggregate", "rolling", "close")


# --- child: one implementation, timed per stage -----------------------------------------------------------


def _weeks(data: Path) -> list[dt.date]:
    names = sorted(p.name for p in data.glob("finra_otc_weekly_*.psv"))
    return [dt.date.fromisoformat(n.split("_")[3]) for n in names]


def _timed_close(warehouse: Any) -> float:
    """Seconds to close the warehouse (DuckDB's last checkpoint happens there)."""
    started = time.perf_counter()
    warehouse.close()
    return time.perf_counter() - started


def run_ours(data: Path, url: str) -> dict[str, float]:
    from spine_dagster.pipelines import StepContext, discover_pipelines
    from spine_dagster.warehouse import open_warehouse

    registry = discover_pipelines()
    warehouse = open_warehouse(url)
    seconds = dict.fromkeys(STAGES, 0.0)
    names = {
        "ingest": "ingest_week",
        "normalize": "normalize_week",
        "aggregate": "aggregate_week",
        "rolling": "compute_rolling",
    }
    try:
        for week in _weeks(data):
            for tier in TIERS:
                params = {"week_start": week.isoformat(), "tier": tier, "source_dir": str(data)}
                for stage in names:
                    pipeline = registry.get(f"finra.otc_transparency.{names[stage]}")
                    model = pipeline.Params.model_validate(
                        {k: v for k, v in params.items() if k in pipeline.param_names()}
                    )
                    started = time.perf_counter()
                    pipeline.run(
                        StepContext("bench", stage, "r", "b", params=params, warehouse=warehouse), model
                    )
                    seconds[stage] += time.perf_counter() - started
    finally:
        seconds["close"] = _timed_close(warehouse)
    return seconds


_PLAIN_SQL = {
    "normalize": """
CREATE OR REPLACE TABLE typed AS
SELECT *, CASE
  WHEN tier IS NULL THEN 'INVALID_TIER'
  WHEN shares IS NULL OR trades IS NULL THEN 'PARSE_ERROR'
  WHEN summary_type LIKE '%SMBL%' AND NOT regexp_full_match(coalesce(symbol, ''), '[A-Z][A-Z0-9.\\-/]{0,19}') THEN 'INVALID_SYMBOL'
  WHEN summary_type IN ('ATS_W_SMBL_FIRM', 'ATS_W_FIRM') AND NOT regexp_full_match(coalesce(mpid, ''), '[A-Z0-9]{4}') THEN 'INVALID_MPID'
  WHEN shares < 0 OR trades < 0 THEN 'NEGATIVE_VOLUME'
  WHEN shares = 0 AND trades = 0 THEN 'ZERO_VOLUME' END AS reason_code
FROM (
  SELECT CAST(weekStartDate AS DATE) AS week_start, CAST(weekStartDate AS DATE) + 4 AS week_ending,
    CASE tierIdentifier WHEN 'T1' THEN 'NMS_TIER_1' WHEN 'T2' THEN 'NMS_TIER_2' WHEN 'OTCE' THEN 'OTC' END AS tier,
    summaryTypeCode AS summary_type, CASE WHEN summaryTypeCode LIKE 'ATS%' THEN 'ATS' ELSE 'NON_ATS' END AS venue_kind,
    NULLIF(upper(trim(issueSymbolIdentifier)), '') AS symbol, NULLIF(issueName, '') AS issue_name,
    NULLIF(upper(trim(MPID)), '') AS mpid, NULLIF(firmCRDNumber, '') AS firm_crd,
    NULLIF(trim(marketParticipantName), '') AS participant_name, NULLIF(productTypeCode, '') AS product_type,
    TRY_CAST(totalWeeklyShareQuantity AS DOUBLE) AS shares, TRY_CAST(totalWeeklyTradeCount AS BIGINT) AS trades,
    TRY_CAST(NULLIF(totalNotionalSum, '') AS DOUBLE) AS notional, TRY_CAST(lastUpdateDate AS DATE) AS last_update_date,
    lower(trim(marketParticipantName)) = 'de minimis firms' AS is_unattributed, row_number, raw
  FROM raw WHERE tierIdentifier <> 'NA');
CREATE OR REPLACE TABLE weekly_volume AS SELECT * EXCLUDE (reason_code, raw),
  CASE WHEN venue_kind = 'ATS' THEN mpid ELSE participant_name END AS venue FROM typed WHERE reason_code IS NULL;
CREATE OR REPLACE TABLE rejects AS SELECT week_start, tier, row_number, reason_code, raw FROM typed WHERE reason_code IS NOT NULL;
""",
    "aggregate": """
CREATE OR REPLACE TABLE firm AS SELECT * FROM weekly_volume WHERE summary_type IN ('ATS_W_SMBL_FIRM', 'OTC_W_SMBL_FIRM');
CREATE OR REPLACE TABLE symbol_week AS
WITH by_venue AS (SELECT week_start, tier, symbol, venue, sum(shares) AS shares FROM firm GROUP BY ALL),
shares AS (SELECT *, shares / sum(shares) OVER (PARTITION BY week_start, tier, symbol) AS share FROM by_venue),
top AS (SELECT week_start, tier, symbol, arg_max(venue, shares) AS top_venue, max(share) AS top_venue_share,
               sum(share * share) AS hhi FROM shares GROUP BY ALL)
SELECT f.week_start, f.tier, f.symbol, sum(shares) AS total_shares, sum(trades) AS total_trades,
       sum(CASE WHEN venue_kind = 'ATS' THEN shares ELSE 0 END) AS ats_shares,
       sum(CASE WHEN venue_kind = 'ATS' THEN 0 ELSE shares END) AS non_ats_shares, count(DISTINCT venue) AS venue_count,
       sum(shares) / NULLIF(sum(trades), 0) AS avg_trade_size, any_value(t.hhi) AS hhi,
       any_value(t.top_venue) AS top_venue, any_value(t.top_venue_share) AS top_venue_share
FROM firm f JOIN top t USING (week_start, tier, symbol) GROUP BY ALL;
CREATE OR REPLACE TABLE venue_week AS
SELECT *, shares / sum(shares) OVER (PARTITION BY week_start, tier) AS market_share,
       row_number() OVER (PARTITION BY week_start, tier ORDER BY shares DESC, venue) AS rank
FROM (SELECT week_start, tier, venue, any_value(venue_kind) AS venue_kind, bool_or(is_unattributed) AS is_unattributed,
             sum(shares) AS shares, sum(trades) AS trades, count(DISTINCT symbol) AS symbol_count FROM firm GROUP BY ALL);
""",
    "rolling": """
CREATE OR REPLACE TABLE symbol_rolling AS
WITH w AS (SELECT c.week_start AS target, c.tier, c.symbol, h.week_start, h.total_shares, h.total_trades
           FROM symbol_week c JOIN history h ON h.tier = c.tier AND h.symbol = c.symbol
            AND h.week_start BETWEEN c.week_start - INTERVAL 35 DAY AND c.week_start),
o AS (SELECT *, row_number() OVER (PARTITION BY target, tier, symbol ORDER BY week_start) AS k,
             count(*) OVER (PARTITION BY target, tier, symbol) AS n FROM w)
SELECT target AS week_start, tier, symbol, 6 AS window_weeks, any_value(n) AS weeks_in_window, any_value(n) = 6 AS is_complete,
       avg(total_shares) AS avg_shares, avg(total_trades) AS avg_trades, min(total_shares) AS min_shares, max(total_shares) AS max_shares,
       CASE WHEN any_value(n) <= 2 THEN max(CASE WHEN k = n THEN total_shares END) / NULLIF(max(CASE WHEN k = 1 THEN total_shares END), 0)
            ELSE avg(CASE WHEN k >= n - 1 THEN total_shares END) / NULLIF(avg(CASE WHEN k <= 2 THEN total_shares END), 0) END AS ratio
FROM o GROUP BY ALL;
""",
}


def run_plain(data: Path, url: str) -> dict[str, float]:
    """Baseline (a): DuckDB SQL in memory, every tier of a week at once, tables written in bulk."""
    import duckdb

    from spine_dagster.domains.finra_otc.layouts import FULL_COLUMNS
    from spine_dagster.warehouse import open_warehouse
    from spine_dagster.warehouse.base import Column, Table

    seconds = dict.fromkeys(STAGES, 0.0)
    con = duckdb.connect()
    target = open_warehouse(url)
    schema = f"plain_{uuid.uuid4().hex[:6]}"

    def store(name: str) -> None:
        frame = con.execute(f"SELECT * FROM {name}").df()
        frame.columns = [c.lower() for c in frame.columns]
        table = Table(f"{schema}.{name}", tuple(Column(c, "text") for c in frame.columns))
        target.ensure_tables([table])
        target.insert_df(table, frame.astype(str))

    try:
        for week in _weeks(data):
            path = next(data.glob(f"finra_otc_weekly_{week}_*.psv"))
            started = time.perf_counter()
            # Like ours, the raw table keeps each source line and its hash (rejects carry the line).
            line = " || '|' || ".join(f"coalesce(\"{c}\", '')" for c in FULL_COLUMNS)
            con.execute(
                f"CREATE OR REPLACE TABLE raw AS SELECT *, left(md5(raw), 16) AS content_hash FROM ("
                f"SELECT *, row_number() OVER () + 1 AS row_number, {line} AS raw "
                f"FROM read_csv('{path}', delim='|', header=true, all_varchar=true, quote=''))"
            )
            store("raw")
            seconds["ingest"] += time.perf_counter() - started
            for stage in ("normalize", "aggregate", "rolling"):
                started = time.perf_counter()
                con.execute(_PLAIN_SQL[stage])
                if stage == "aggregate":  # the weeks so far, for the rolling window
                    con.execute("CREATE TABLE IF NOT EXISTS history AS SELECT * FROM symbol_week LIMIT 0")
                    con.execute("INSERT INTO history SELECT * FROM symbol_week")
                for name in {
                    "normalize": ("weekly_volume", "rejects"),
                    "aggregate": ("symbol_week", "venue_week"),
                    "rolling": ("symbol_rolling",),
                }[stage]:
                    store(name)
                seconds[stage] += time.perf_counter() - started
    finally:
        seconds["close"] = _timed_close(target)
    return seconds


def run_naive(data: Path, url: str, row_inserts: bool = False) -> dict[str, float]:
    """Baseline (b): pandas, then the writes peers use: ``DataFrame.to_sql`` on Postgres (SQLAlchemy 2
    batches its INSERTs), or one INSERT per row (``executemany``: psycopg2 on Postgres with
    ``row_inserts``, DuckDB's on DuckDB)."""
    import numpy as np
    import pandas as pd

    seconds = dict.fromkeys(STAGES, 0.0)
    table_prefix = f"naive_{uuid.uuid4().hex[:6]}"
    if url.startswith("duckdb"):
        import duckdb

        con = duckdb.connect(url.removeprefix("duckdb:///"))

        def write(name: str, frame: pd.DataFrame) -> None:
            if frame.empty:
                return
            cols = ", ".join(f'"{c}" VARCHAR' for c in frame.columns)
            con.execute(f"CREATE TABLE IF NOT EXISTS {table_prefix}_{name} ({cols})")
            marks = ", ".join("?" for _ in frame.columns)
            con.executemany(
                f"INSERT INTO {table_prefix}_{name} VALUES ({marks})", frame.astype(str).values.tolist()
            )
    elif row_inserts:
        import psycopg2

        pg = psycopg2.connect(url)

        def write(name: str, frame: pd.DataFrame) -> None:
            if frame.empty:
                return
            with pg.cursor() as cur:
                cols = ", ".join(f'"{c}" TEXT' for c in frame.columns)
                cur.execute(f"CREATE TABLE IF NOT EXISTS {table_prefix}_{name} ({cols})")
                marks = ", ".join("%s" for _ in frame.columns)
                cur.executemany(
                    f"INSERT INTO {table_prefix}_{name} VALUES ({marks})", frame.astype(str).values.tolist()
                )
            pg.commit()
    else:
        import sqlalchemy

        engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))

        def write(name: str, frame: pd.DataFrame) -> None:
            frame.to_sql(f"{table_prefix}_{name}", engine, if_exists="append", index=False)

    for week in _weeks(data):
        path = next(data.glob(f"finra_otc_weekly_{week}_*.psv"))
        started = time.perf_counter()
        raw = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False)
        write("raw", raw)
        seconds["ingest"] += time.perf_counter() - started
        started = time.perf_counter()
        raw = raw[raw["tierIdentifier"] != "NA"]
        shares = pd.to_numeric(raw["totalWeeklyShareQuantity"], errors="coerce")
        trades = pd.to_numeric(raw["totalWeeklyTradeCount"], errors="coerce")
        ok = (
            shares.notna() & trades.notna() & (shares >= 0) & (trades >= 0) & ~((shares == 0) & (trades == 0))
        )
        volume = raw[ok].assign(shares=shares[ok], trades=trades[ok])
        volume["venue"] = np.where(
            volume["summaryTypeCode"].str.startswith("ATS"), volume["MPID"], volume["marketParticipantName"]
        )
        write("weekly_volume", volume)
        write("rejects", raw[~ok])
        seconds["normalize"] += time.perf_counter() - started
        started = time.perf_counter()
        firm = volume[volume["summaryTypeCode"].str.endswith("_W_SMBL_FIRM")]
        symbol_week = (
            firm.groupby(["tierIdentifier", "issueSymbolIdentifier"])
            .agg(total_shares=("shares", "sum"), total_trades=("trades", "sum"))
            .reset_index()
        )
        venue_week = firm.groupby(["tierIdentifier", "venue"]).agg(shares=("shares", "sum")).reset_index()
        write("symbol_week", symbol_week)
        write("venue_week", venue_week)
        seconds["aggregate"] += time.perf_counter() - started
        started = time.perf_counter()
        write("symbol_rolling", symbol_week.assign(weeks_in_window=1))
        seconds["rolling"] += time.perf_counter() - started
    return seconds


def _use_code(directory: str) -> None:
    """Import ``spine_dagster`` from a copy of the package in ``directory`` (``--before-code``), not from
    the editable install: its import hook is dropped and the copy put first on ``sys.path``."""
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in repr(f)]
    sys.path.insert(0, str(Path(directory).resolve()))


def child(args: argparse.Namespace) -> None:
    if args.code:
        _use_code(args.code)
    runner = {
        "ours": run_ours,
        "ours_before": run_ours,
        "plain": run_plain,
        "naive": run_naive,
        "naive_rows": lambda data, url: run_naive(data, url, row_inserts=True),
    }[args.child]
    seconds = runner(Path(args.data), args.url)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds of this process (every thread; not the Postgres server's): less sensitive to other load.
    cpu = usage.ru_utime + usage.ru_stime
    print(
        json.dumps({"seconds": seconds, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "cpu_seconds": cpu})
    )


# --- parent -----------------------------------------------------------------------------------------------


def _fresh_url(kind: str, workdir: Path, pg_url: str | None) -> tuple[str, Any]:
    """A fresh warehouse per measurement, and a function that removes it."""
    if kind == "duckdb":
        path = workdir / f"w_{uuid.uuid4().hex[:8]}.duckdb"
        return f"duckdb:///{path}", lambda: path.unlink(missing_ok=True)
    from urllib.parse import urlsplit, urlunsplit

    import psycopg2

    name = f"spine_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(pg_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_url)

    def drop() -> None:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", "")), drop


def measure(
    impl: str, data: Path, kind: str, workdir: Path, pg_url: str | None, code: str | None = None
) -> dict[str, Any]:
    import shutil

    url, cleanup = _fresh_url(kind, workdir, pg_url)
    # A fresh SPINE_HOME per run: ours starts with an empty parse cache (the tiers of a week share one
    # parse within a run, never across repeats).
    home = workdir / f"home_{uuid.uuid4().hex[:8]}"
    try:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, __file__, "--child", impl, "--data", str(data), "--url", url]
            + (["--code", code] if code and impl == "ours_before" else []),
            capture_output=True, text=True, check=False, env={**os.environ, "SPINE_HOME": str(home)},
        )  # fmt: skip
        wall = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"{impl} on {kind} failed:\n{result.stderr[-3000:]}")
        out = json.loads(result.stdout.strip().splitlines()[-1])
        out["wall_seconds"] = wall
        return out
    finally:
        cleanup()
        shutil.rmtree(home, ignore_errors=True)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose total is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: sum(run["seconds"].values()))
    return ordered[(len(ordered) - 1) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny data: a smoke test, not a measurement")
    parser.add_argument("--weeks", type=int, default=13, help="weeks of the multi-week run (default 13)")
    parser.add_argument("--postgres-url", default=os.environ.get("SPINE_BENCH_POSTGRES_URL"))
    parser.add_argument(
        "--repeats", type=int, default=3,
        help="runs of ours and plain per case, alternated; the median run of each is reported (default 3)",
    )  # fmt: skip
    parser.add_argument("--out-dir", type=Path, default=OUT)
    parser.add_argument("--name", help="JSON file name under --out-dir (default finra, or finra-quick)")
    parser.add_argument(
        "--before-code", metavar="DIR",
        help="also run 'ours_before': ours with the spine_dagster package copied into DIR (e.g. `git archive "
             "HEAD spine_dagster | tar -x -C DIR`), alternated with ours and plain in the same run",
    )  # fmt: skip
    parser.add_argument("--skip-multi", action="store_true", help="only the 1-week case")
    parser.add_argument("--skip-naive", action="store_true", help="no naive baselines (to_sql, row inserts)")
    parser.add_argument(
        "--child", choices=["ours", "ours_before", "plain", "naive", "naive_rows"], help=argparse.SUPPRESS
    )
    parser.add_argument("--code", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    import tempfile

    from spine_dagster.domains.finra_otc.generate import generate

    scale = 0.01 if args.quick else 1.0
    weeks_multi = 2 if args.quick else args.weeks
    backends = ["duckdb"] + (["postgres"] if args.postgres_url else [])
    results: dict[str, Any] = {"quick": args.quick, "scale": scale, "cases": []}
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="spine-bench-finra-") as tmp:
        workdir = Path(tmp)
        cases = {"1 week": 1} if args.skip_multi else {"1 week": 1, f"{weeks_multi} weeks": weeks_multi}
        for label, count in cases.items():
            data = workdir / label.replace(" ", "_")
            started = time.perf_counter()
            generate(data, first_week=dt.date(2025, 9, 29) + dt.timedelta(weeks=13 - count), num_weeks=count,
                     layouts=("full",), seed=1, scale=scale)  # fmt: skip
            source_rows = sum(sum(1 for _ in p.open()) - 1 for p in data.glob("*.psv"))
            log(f"{label}: {source_rows} source rows generated in {time.perf_counter() - started:.1f}s")
            for kind in backends:
                # The naive baseline writes row by row: run it where its target is (Postgres), one week only.
                naive = not args.skip_naive and count == 1
                impls = (
                    ["ours", "plain"]
                    + (["naive"] if naive and (kind == "postgres" or args.quick) else [])
                    + (["naive_rows"] if naive and kind == "postgres" else [])
                )
                # ours and plain alternate (the machine is shared: load drifts); each reports its median run.
                repeats = 1 if args.quick else max(1, args.repeats)
                runs: dict[str, list[dict[str, Any]]] = {"ours": [], "plain": []}
                if args.before_code:
                    runs["ours_before"] = []
                for round_ in range(repeats):  # ABC, then CBA: drift hits every side alike
                    for impl in list(runs) if round_ % 2 == 0 else list(runs)[::-1]:
                        runs[impl].append(
                            measure(impl, data, kind, workdir, args.postgres_url, args.before_code)
                        )
                measured = {impl: _median_run(found) for impl, found in runs.items()}
                measured.update({i: measure(i, data, kind, workdir, args.postgres_url) for i in impls[2:]})
                case = {"case": label, "backend": kind, "source_rows": source_rows, "results": measured}
                ours, plain = measured["ours"]["seconds"], measured["plain"]["seconds"]
                case["ours_over_plain"] = ratio(sum(ours.values()), sum(plain.values()))
                case["ours_over_plain_each_repeat"] = [
                    round(ratio(sum(o["seconds"].values()), sum(p["seconds"].values())), 3)
                    for o, p in zip(runs["ours"], runs["plain"], strict=True)
                ]
                cpu = {impl: statistics.median(r.get("cpu_seconds", float("nan")) for r in found)
                       for impl, found in runs.items()}  # fmt: skip
                case["cpu_seconds_median"] = cpu
                case["ours_over_plain_cpu"] = ratio(cpu["ours"], cpu["plain"])
                if args.before_code:
                    case["ours_before_over_plain_cpu"] = ratio(cpu["ours_before"], cpu["plain"])
                    before = measured["ours_before"]["seconds"]
                    case["ours_before_over_plain"] = ratio(sum(before.values()), sum(plain.values()))
                    case["ours_before_over_plain_each_repeat"] = [
                        round(ratio(sum(o["seconds"].values()), sum(p["seconds"].values())), 3)
                        for o, p in zip(runs["ours_before"], runs["plain"], strict=True)
                    ]
                for naive in ("naive", "naive_rows"):
                    if naive in measured:
                        case[f"{naive}_over_ours"] = ratio(
                            sum(measured[naive]["seconds"].values()), sum(ours.values())
                        )
                results["cases"].append(case)
                for impl, result in measured.items():
                    total = sum(result["seconds"].values())
                    rows_out.append([
                        label, kind, impl,
                        *[f"{result['seconds'][s]:.2f}s" + ("" if s == "close" else f" ({source_rows / max(result['seconds'][s], 1e-9):,.0f}/s)") for s in STAGES],
                        f"{total:.2f}", f"{result['peak_rss_mb']:.0f}",
                    ])  # fmt: skip
                log(f"{label} {kind}: CPU s (median) {json.dumps({k: round(v, 1) for k, v in cpu.items()})}")
                log(f"{label} {kind}: ours/plain = {case['ours_over_plain']:.2f} "
                    f"(each repeat: {', '.join(f'{r:.2f}' for r in case['ours_over_plain_each_repeat'])})"
                    + "".join(f", {n}/ours = {case[n + '_over_ours']:.1f}" for n in ("naive", "naive_rows")
                              if n + "_over_ours" in case)
                    + (f"; ours_before/plain = {case['ours_before_over_plain']:.2f} (each repeat: "
                       + ", ".join(f"{r:.2f}" for r in case["ours_before_over_plain_each_repeat"]) + ")"
                       if "ours_before_over_plain" in case else ""))  # fmt: skip
    print_table(
        ["case", "backend", "impl", *STAGES, "total s", "peak MB"],
        rows_out,
        "FINRA data path (rows/s = source rows / stage seconds)",
    )
    ratios = [
        [
            c["case"],
            c["backend"],
            f"{c['ours_over_plain']:.2f}",
            " ".join(f"{r:.2f}" for r in c["ours_over_plain_each_repeat"]),
            f"{c.get('naive_over_ours', float('nan')):.1f}",
            f"{c.get('naive_rows_over_ours', float('nan')):.1f}",
            f"{c.get('ours_before_over_plain', float('nan')):.2f}",
            " ".join(f"{r:.2f}" for r in c.get("ours_before_over_plain_each_repeat", [])),
        ]
        for c in results["cases"]
    ]
    print_table(
        ["case", "backend", "ours/plain (<= 1.25)", "each repeat", "naive/ours", "naive_rows/ours",
         "ours_before/plain", "each repeat"],
        ratios, "Ratios",
    )  # fmt: skip
    write_json(args.name or ("finra-quick" if args.quick else "finra"), results, args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
