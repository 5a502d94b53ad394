"""spine-core's canonical group file (its fixture sample_group.yaml, verbatim) loads, plans and runs.

``week_ending: "{{ params.week_ending }}"`` makes week_ending a required run param. Before it is given
(``spine validate``, ``spine list``, the code location) the FINRA rule "give week_ending or week_start"
must treat it as given; once it is known (``spine plan``, ``spine run``, ``dagster job execute``) every
rule applies, with the same messages.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from spine_dagster.warehouse import open_warehouse
from tests.conftest import FIXTURES, build_location
from tests.integration.conftest import REPO, Workspace

CANONICAL = (FIXTURES / "spine_core" / "sample_group.yaml").read_text()
TIER_TEMPLATED = CANONICAL.replace("tier: NMS_TIER_1", 'tier: "{{ params.tier }}"')


@pytest.mark.parametrize("text", [CANONICAL, TIER_TEMPLATED], ids=["canonical", "tier_templated"])
def test_validate_list_and_plan(ws: Workspace, text: str) -> None:
    ws.write("sample_group.yaml", text)
    validated = ws.spine("validate")
    assert validated.returncode == 0, validated.stdout
    assert "ok  finra.weekly_refresh" in validated.stdout
    listed = ws.spine("list", "--strict")
    assert listed.returncode == 0 and "valid" in listed.stdout and "INVALID" not in listed.stdout
    missing = ws.spine("plan", "finra.weekly_refresh")
    assert missing.returncode == 1
    assert "missing required run param 'week_ending'" in missing.stderr
    params = ["--param", "week_ending=2025-12-26"] + (
        ["--param", "tier=OTC"] if "params.tier" in text else []
    )
    thursday = ws.spine("plan", "finra.weekly_refresh", "--param", "week_ending=2025-12-25", *params[2:])
    assert thursday.returncode == 1
    assert (
        "week_ending must be a Friday, got 2025-12-25 (Thursday); nearest Friday: 2025-12-26"
        in thursday.stderr
    )
    planned = ws.spine("plan", "finra.weekly_refresh", *params, "--format", "json")
    assert planned.returncode == 0, planned.stderr
    assert [s["name"] for s in yaml.safe_load(planned.stdout)["steps"]] == [
        "ingest",
        "normalize",
        "aggregate",
        "rolling",
    ]


def test_the_code_location_asks_for_the_required_param(tmp_path: Path) -> None:
    location = build_location(tmp_path, {"sample_group.yaml": CANONICAL}, strict=True)
    job = location.definitions.resolve_job_def("finra__weekly_refresh")
    with pytest.raises(dg.DagsterInvalidConfigError, match="week_ending"):
        dg.validate_run_config(job, {})
    # the typed Launchpad field carries the default of the file; each step receives it with the run param
    resolved = dg.validate_run_config(job, {"params": {"week_ending": "2025-12-26"}})
    assert resolved["ops"]["ingest"]["config"]["params"] == {
        "week_ending": "2025-12-26",
        "tier": "NMS_TIER_1",
    }


def test_spine_run_and_dagster_job_execute(ws: Workspace) -> None:
    ws.write("sample_group.yaml", CANONICAL)
    out = ws.run("finra.weekly_refresh", "--param", "week_ending=2025-12-26")
    assert out["status"] == "completed" and out["exit_code"] == 0, out
    assert [s["status"] for s in out["steps"]] == ["completed"] * 4
    config = ws.root / "run_config.yaml"
    config.write_text(yaml.safe_dump({"params": {"week_ending": "2025-12-19"}}))
    executed = ws.dagster(
        "job", "execute", "-m", "spine_dagster.definitions", "-j", "finra__weekly_refresh", "-c", str(config)
    )
    assert executed.returncode == 0, executed.stdout[-3000:] + executed.stderr[-3000:]
    runs = ws.instance().get_runs(dg.RunsFilter(job_name="finra__weekly_refresh"))
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.SUCCESS]


def test_spine_core_ingest_names_run_unchanged_and_explain_shows_them(ws: Workspace) -> None:
    sample = REPO / "data" / "samples" / "finra_otc" / "finra_otc_ats_T1_2025-12-22_pub20260112.psv"
    ws.write(
        "core_names.yaml",
        CANONICAL.replace(
            "      pipeline: finra.otc_transparency.ingest_week\n",
            "      pipeline: finra.otc_transparency.ingest_week\n"
            f"      params: {{file_path: {sample}, source_type: file}}\n",
        ),
    )
    explained = ws.spine("explain", "finra.weekly_refresh", "ingest", "--param", "week_ending=2025-12-26")
    assert explained.returncode == 0, explained.stderr
    assert "file_path (alias of source_path)" in explained.stdout
    assert "source_type (alias of source)" in explained.stdout
    out = ws.run("finra.weekly_refresh", "--param", "week_ending=2025-12-26")
    assert out["status"] == "completed", out
    warehouse = open_warehouse(f"duckdb:///{ws.root / 'spine_home' / 'warehouse.duckdb'}")
    try:
        sources = warehouse.query_df("SELECT source_kind, source FROM finra_otc.captures")
    finally:
        warehouse.close()
    assert sources.to_dict("records") == [{"source_kind": "path", "source": str(sample)}]  # from file_path
