"""The parse cache (parse_cache.py) changes how often a source file is parsed, never what ingest captures:
uncached, cold-cache and warm-cache ingests write identical raw rows, on the shipped samples and on a
generated full-size week; entries are written atomically, bounded in size, and a damaged one is parsed
again."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from spine_dagster.domains.finra_otc import parse_cache
from spine_dagster.domains.finra_otc import tables as t
from spine_dagster.domains.finra_otc.sources import read_source_file
from spine_dagster.pipelines import StepContext, discover_pipelines
from spine_dagster.warehouse import open_warehouse

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "samples" / "finra_otc"
SAMPLE_WEEKS = [dt.date(2025, 11, 17) + dt.timedelta(weeks=i) for i in range(6)]
TIERS = ("NMS_TIER_1", "NMS_TIER_2", "OTC")
_CAPTURE_SPECIFIC = ["capture_id", "captured_at"]  # differ between any two captures, by design


def _ingest_all(source_dir: Path, weeks: list[dt.date], db: Path) -> pd.DataFrame:
    """Ingest every (week, tier) from ``source_dir`` into a fresh DuckDB file; its raw rows, sorted."""
    pipeline = discover_pipelines().get("finra.otc_transparency.ingest_week")
    warehouse = open_warehouse(f"duckdb:///{db}")
    try:
        for week in weeks:
            for tier in TIERS:
                params = {"week_start": week.isoformat(), "tier": tier, "source_dir": str(source_dir)}
                pipeline.run(
                    StepContext("test", "ingest", "r", "b", params=params, warehouse=warehouse),
                    pipeline.Params.model_validate(params),
                )
        raw = warehouse.query_df(f"SELECT * FROM {t.RAW_WEEKLY.name}")
    finally:
        warehouse.close()
    raw = raw.drop(columns=_CAPTURE_SPECIFIC)
    return raw.sort_values(["week_start", "tier", "source_file", "row_number"]).reset_index(drop=True)


def _three_ways(
    source_dir: Path, weeks: list[dt.date], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, pd.DataFrame]]:
    monkeypatch.setenv(parse_cache.LIMIT_ENV, "0")
    yield "uncached", _ingest_all(source_dir, weeks, tmp_path / "uncached.duckdb")
    monkeypatch.setenv(parse_cache.LIMIT_ENV, "4096")
    assert not parse_cache.cache_dir().exists() or not any(parse_cache.cache_dir().iterdir())
    yield "cold cache", _ingest_all(source_dir, weeks, tmp_path / "cold.duckdb")
    assert any(parse_cache.cache_dir().glob("*.arrow")), "the cache was not used"
    yield "warm cache", _ingest_all(source_dir, weeks, tmp_path / "warm.duckdb")


def _assert_identical(runs: Iterator[tuple[str, pd.DataFrame]]) -> int:
    (_, expected), *others = list(runs)
    assert len(expected) > 0
    for name, raw in others:
        pd.testing.assert_frame_equal(raw, expected, obj=name)
    return len(expected)


def test_cached_and_uncached_ingest_identical_on_the_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _assert_identical(_three_ways(SAMPLES, SAMPLE_WEEKS, tmp_path, monkeypatch))


def test_cached_and_uncached_ingest_identical_on_a_full_size_week(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spine_dagster.domains.finra_otc.generate import generate

    week = dt.date(2025, 12, 22)
    data = tmp_path / "week"
    generate(data, first_week=week, num_weeks=1, layouts=("full",), seed=1, scale=1.0)
    rows = _assert_identical(_three_ways(data, [week], tmp_path, monkeypatch))
    assert rows > 200_000  # a full-size week (about 265k rows, the market-wide ones in no tier)


def test_entries_are_bounded_and_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(SAMPLES.glob("finra_otc_weekly_2025-*.psv"))[:4]
    for path in files:
        read_source_file(path)
    entries = sorted(parse_cache.cache_dir().glob("*.arrow"))
    assert len(entries) == len(files)
    assert not list(parse_cache.cache_dir().glob(".tmp-*"))  # temp files are renamed into place
    sizes = [p.stat().st_size for p in entries]
    # A limit of about two entries keeps the two most recently used ones.
    for age, path in enumerate(sorted(entries, key=lambda p: p.stat().st_mtime)):
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    newest = sorted(entries, key=lambda p: p.stat().st_mtime)[-2:]
    removed = parse_cache.evict(parse_cache.cache_dir(), max(sizes) * 2 + 1)
    assert sorted(parse_cache.cache_dir().glob("*.arrow")) == sorted(newest)
    assert len(removed) == len(files) - 2


def test_a_hit_refreshes_the_entry_and_a_damaged_entry_is_parsed_again(tmp_path: Path) -> None:
    path = SAMPLES / "finra_otc_weekly_2025-11-17_pub20251222.psv"
    expected = read_source_file(path, "NMS_TIER_1", use_cache=False).rows
    read_source_file(path)
    (entry,) = parse_cache.cache_dir().glob("*.arrow")
    os.utime(entry, (1_000_000, 1_000_000))
    pd.testing.assert_frame_equal(read_source_file(path, "NMS_TIER_1").rows, expected)
    assert entry.stat().st_mtime > 1_000_000  # the hit made it the most recently used
    entry.write_bytes(b"not arrow")
    pd.testing.assert_frame_equal(read_source_file(path, "NMS_TIER_1").rows, expected)
    assert entry.stat().st_size > 100  # parsed again and stored again


def test_limit_zero_disables_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parse_cache.LIMIT_ENV, "0")
    read_source_file(SAMPLES / "finra_otc_weekly_2025-11-17_pub20251222.psv")
    assert not parse_cache.cache_dir().exists()


def test_routing_index_on_disk_gives_the_same_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """partitions_in from a fresh process (the per-process cache cleared) reads the stored routing index:
    the same (week, tier) pairs as a scan, for every sample file."""
    from spine_dagster.domains.finra_otc import sources

    paths = sorted(SAMPLES.glob("*.psv"))
    monkeypatch.setenv(parse_cache.LIMIT_ENV, "0")
    sources._partitions_in.cache_clear()
    scanned = {p: sources.partitions_in(p) for p in paths}
    monkeypatch.setenv(parse_cache.LIMIT_ENV, "64")
    for _ in ("cold", "warm"):
        sources._partitions_in.cache_clear()
        assert {p: sources.partitions_in(p) for p in paths} == scanned
    assert len(list((parse_cache.cache_dir() / "partitions").glob("*.json"))) == len(paths)
    sources._partitions_in.cache_clear()
