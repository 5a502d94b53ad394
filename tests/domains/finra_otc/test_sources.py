"""Reading source files: Arrow's one-pass reader and the line-by-line reader agree on every row, and a
capture's tier cut keeps exactly the rows routing gives that tier."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spine_dagster.domains.finra_otc.layouts import SOURCE_FIELDS
from spine_dagster.domains.finra_otc.sources import (
    _read_general,
    _read_simple_pipe,
    read_source_file,
    route,
)

SAMPLES = sorted(Path(__file__).resolve().parents[3].joinpath("data/samples/finra_otc").glob("*.psv"))
TIERS = ("NMS_TIER_1", "NMS_TIER_2", "OTC")


def _both_readers(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    data = path.read_bytes()
    first, _, body = data.partition(b"\n")
    header = [h.strip() for h in first.decode().rstrip("\r").split("|")]
    layout = read_source_file(path).layout
    fields = SOURCE_FIELDS[layout]
    general = _read_general(data.decode().splitlines(), header, "|", fields).to_pandas()
    simple = _read_simple_pipe(body, header, fields, None)
    return general, None if simple is None else simple[0].to_pandas()


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_bulk_reader_matches_the_line_reader(path: Path) -> None:
    general, simple = _both_readers(path)
    assert simple is not None, "shipped samples are plain pipe files: the bulk reader must take them"
    assert len(general) > 0
    pd.testing.assert_frame_equal(simple[general.columns], general, check_dtype=False)


@pytest.mark.parametrize(
    "body, reason",
    [
        ("A|B\n\nC|D\n", "blank line"),
        ("A|B\n  \nC|D\n", "whitespace-only line"),
        ('"A"|B\n', "quotes"),
        ("A|B|C\nC|D\n", "wrong width"),
        ("A|B\rC|D\r", "old Mac line ends"),
        ("\nA|B\n", "leading blank line"),
    ],
)
def test_unusual_files_go_to_the_line_reader(body: str, reason: str) -> None:
    assert (
        _read_simple_pipe(body.encode(), ["x", "y"], {"symbol": "x", "tier_description": "y"}, None) is None
    )


def test_crlf_file_row_numbers_and_raw_lines(tmp_path: Path) -> None:
    source = SAMPLES[0].read_text()
    path = tmp_path / SAMPLES[0].name
    path.write_bytes(source.replace("\n", "\r\n").encode())
    crlf = read_source_file(path).rows
    plain = read_source_file(SAMPLES[0]).rows
    assert crlf["raw"].tolist() == plain["raw"].tolist()
    assert crlf["row_number"].tolist() == plain["row_number"].tolist() == list(range(2, len(plain) + 2))


@pytest.mark.parametrize("path", [p for p in SAMPLES if "weekly" in p.name][:2], ids=lambda p: p.name)
def test_tier_cut_keeps_exactly_the_rows_routing_gives_the_tier(path: Path) -> None:
    routed = route(read_source_file(path))
    total = 0
    for tier in TIERS:
        cut = read_source_file(path, tier)
        expected = routed[routed["route_tier"].isna() | (routed["route_tier"] == tier)]
        assert cut.rows["raw"].tolist() == expected["raw"].tolist()
        assert cut.rows_elsewhere == len(routed) - len(expected)
        total += len(cut.rows)
    other = int((routed["route_tier"] == "other").sum())
    assert total + other == len(routed)  # every row lands in one tier's capture or is market-wide


def test_tier_cut_of_a_file_the_line_reader_takes(tmp_path: Path) -> None:
    lines = SAMPLES[-1].read_text().splitlines()
    path = tmp_path / "with_blank.psv"
    path.write_text("\n".join([lines[0], lines[1], "", *lines[2:]]) + "\n")
    routed = route(read_source_file(path))
    cut = read_source_file(path, "NMS_TIER_1")
    expected = routed[routed["route_tier"].isna() | (routed["route_tier"] == "NMS_TIER_1")]
    assert cut.rows["row_number"].tolist() == expected["row_number"].tolist()
    assert 3 not in routed["row_number"].tolist()  # the blank line 3 is not a row, and numbering skips it
