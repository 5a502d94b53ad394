"""The `spine` command through a real subprocess: exit codes, JSON shapes, and never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GROUP_FIXTURES

GOOD = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: demo.good, domain: demo}
spec:
  defaults: {message: "{{ params.message }}"}
  pipelines:
    - {name: first, pipeline: spine.noop}
    - {name: second, pipeline: spine.fail, depends_on: first, params: {fail_times: 1}}
  schedules:
    - {cron: "0 6 * * 1", timezone: America/New_York}
"""
BAD = """\
name: demo.bad
steps:
  - {name: a, pipeline: spine.noop, depend_on: [b]}
"""


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "SPINE_DEBUG": "", **(env or {})}
    full_env.pop("SPINE_GROUPS_DIR", None)
    full_env.pop("SPINE_STRICT", None)
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "spine_dagster", *args], capture_output=True, text=True, cwd=cwd, env=full_env
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture(name="groups")
def groups_fixture(tmp_path: Path) -> Path:
    folder = tmp_path / "groups"
    (folder / "nested").mkdir(parents=True)
    (folder / "good.yaml").write_text(GOOD)
    (folder / "nested" / "bad.yml").write_text(BAD)
    (folder / ".hidden.yaml").write_text("not: [valid")
    return folder


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("spine")
    assert script.exists() or shutil.which("spine"), "pip install -e . should install the `spine` command"


def test_validate_lists_valid_groups_and_every_error(groups: Path) -> None:
    result = run("--groups-dir", str(groups), "validate")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == f"{groups}/nested/bad.yml:3:37: unknown key 'depend_on' in steps[0] (did you mean 'depends_on'?)"
    )
    assert f"ok  demo.good  ({groups}/good.yaml)" in lines
    assert lines[-1] == "1 valid group, 1 error in 1 file (2 files checked)"


def test_validate_json_shape(groups: Path) -> None:
    result = run("--groups-dir", str(groups), "validate", "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data == {
        "valid": ["demo.good"],
        "errors": [
            {
                "path": f"{groups}/nested/bad.yml",
                "line": 3,
                "column": 37,
                "message": "unknown key 'depend_on' in steps[0] (did you mean 'depends_on'?)",
                "kind": "InvalidGroupSpecError",
            }
        ],
        "shared_tables": [],
    }


def test_validate_good_files_exits_zero_and_checks_pipelines(groups: Path, tmp_path: Path) -> None:
    assert run("validate", str(groups / "good.yaml")).returncode == 0
    other = tmp_path / "other.yaml"
    other.write_text("name: x\nsteps: [{name: a, pipeline: elsewhere.thing}]\n")
    result = run("validate", str(other), "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"][0]["kind"] == "StepNotFoundError"
    assert run("validate", str(other), "--skip-pipeline-check").returncode == 0


SHARED_WRITER = """\
name: {name}
steps:
  - {{name: {first}, pipeline: finra.otc_transparency.ingest_week, params: {{week_ending: "2025-11-21", tier: OTC}}}}
  - {{name: {second}, pipeline: finra.otc_transparency.ingest_week, params: {{week_ending: "2025-11-28", tier: OTC}},
     depends_on: [{first}]}}
"""


def test_validate_says_which_group_produces_a_table_several_write(tmp_path: Path) -> None:
    """Two groups (two steps each) write finra_otc.raw_weekly: the first group by name produces its asset,
    from its last writer, whatever the file order; validate says so and still exits 0."""
    (tmp_path / "a.yaml").write_text(SHARED_WRITER.format(name="zeta.load", first="one", second="two"))
    (tmp_path / "b.yaml").write_text(SHARED_WRITER.format(name="alpha.load", first="early", second="late"))
    result = run("--groups-dir", str(tmp_path), "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "note  table finra_otc.raw_weekly is written by 4 steps: alpha.load (step late) produces its Dagster "
        "asset (first group by name, its last writer); alpha.load (step early), zeta.load (step one), "
        "zeta.load (step two) record materializations on it"
    ) in result.stdout
    data = json.loads(run("--groups-dir", str(tmp_path), "validate", "--format", "json").stdout)
    assert data["shared_tables"] == [
        {
            "table": "finra_otc.raw_weekly",
            "owner": {"group": "alpha.load", "step": "late"},
            "writers": [
                {"group": "alpha.load", "step": "early"},
                {"group": "alpha.load", "step": "late"},
                {"group": "zeta.load", "step": "one"},
                {"group": "zeta.load", "step": "two"},
            ],
        }
    ]


def test_validate_every_invalid_fixture_fails_cleanly() -> None:
    result = run("validate", str(GROUP_FIXTURES / "invalid"), "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert {e["kind"] for e in data["errors"]} >= {"InvalidGroupSpecError"}
    # Fixtures whose problem needs run params (a `# run-params:` header) are valid for `spine validate`.
    invalid_files = {
        str(p) for p in (GROUP_FIXTURES / "invalid").rglob("*.y*ml") if "# run-params:" not in p.read_text()
    }
    reported = {e["path"] for e in data["errors"]}
    every_file = {str(p) for p in (GROUP_FIXTURES / "invalid").rglob("*.y*ml")}
    assert invalid_files <= reported <= every_file
    assert len(data["valid"]) == len(every_file - reported)


def test_plan_json_matches_the_golden_plan() -> None:
    sample = GROUP_FIXTURES / "valid" / "spine_core" / "sample_group.yaml"
    result = run(
        "plan", str(sample), "--param", "week_ending=2026-01-03", "--format", "json", "--skip-pipeline-check"
    )
    assert result.returncode == 0, result.stderr
    params = {"tier": "NMS_TIER_1", "week_ending": "2026-01-03"}
    assert json.loads(result.stdout) == {
        "group": "finra.weekly_refresh",
        "version": 1,
        "domain": "finra.otc_transparency",
        "policy": {
            "execution": "sequential",
            "max_concurrency": 4,
            "on_failure": "stop",
            "timeout_minutes": None,
        },
        "params": {"week_ending": "2026-01-03"},
        "steps": [
            {
                "name": "ingest",
                "pipeline": "finra.otc_transparency.ingest_week",
                "depends_on": [],
                "params": params,
                "order": 0,
                "level": 0,
            },
            {
                "name": "normalize",
                "pipeline": "finra.otc_transparency.normalize_week",
                "depends_on": ["ingest"],
                "params": params,
                "order": 1,
                "level": 1,
            },
            {
                "name": "aggregate",
                "pipeline": "finra.otc_transparency.aggregate_week",
                "depends_on": ["normalize"],
                "params": params,
                "order": 2,
                "level": 2,
            },
            {
                "name": "rolling",
                "pipeline": "finra.otc_transparency.compute_rolling",
                "depends_on": ["aggregate"],
                "params": params,
                "order": 3,
                "level": 3,
            },
        ],
    }


def test_plan_by_name_with_typed_params(groups: Path) -> None:
    result = run(
        "--groups-dir",
        str(groups),
        "plan",
        "demo.good",
        "--param",
        "message=hi",
        "--param",
        "force=true",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["params"] == {"message": "hi", "force": True}
    assert plan["steps"][1]["params"] == {"message": "hi", "force": True, "fail_times": 1}
    table = run("--groups-dir", str(groups), "plan", "demo.good", "--param", "message=hi")
    assert table.returncode == 0
    step_rows = [line.split()[:4] for line in table.stdout.splitlines() if line.startswith(("0 ", "1 "))]
    assert step_rows == [["0", "0", "first", "spine.noop"], ["1", "1", "second", "spine.fail"]]


def test_plan_errors_exit_one(groups: Path) -> None:
    missing = run("--groups-dir", str(groups), "plan", "demo.good")
    assert missing.returncode == 1
    assert "missing required run param 'message'" in missing.stderr
    unknown = run("--groups-dir", str(groups), "plan", "demo.god")
    assert unknown.returncode == 1
    assert "Pipeline group not found: demo.god (did you mean 'demo.good'?)" in unknown.stderr
    assert "1 bad file" in unknown.stderr
    assert run("plan", "no/such/file.yaml").returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["plan"],
        ["validate", "--format", "xml"],
        ["plan", "g", "--param", "novalue"],
        ["frobnicate"],
        ["plan", "g", "--param", "a=1", "--param", "a=2"],
    ],
)
def test_usage_errors_exit_two(args: list[str]) -> None:
    assert run(*args).returncode == 2


def test_list_reports_bad_files_and_strict_makes_them_fatal(groups: Path) -> None:
    result = run("--groups-dir", str(groups), "list", "--format", "json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["groups"] == [
        {
            "name": "demo.good",
            "domain": "demo",
            "steps": 2,
            "schedules": ["0 6 * * 1"],
            "partitioned": False,
            "path": f"{groups}/good.yaml",
            "valid": True,
        }
    ]
    assert [e["path"] for e in data["errors"]] == [f"{groups}/nested/bad.yml"]
    assert run("--groups-dir", str(groups), "list", "--strict").returncode == 1
    assert run("--groups-dir", str(groups), "list", env={"SPINE_STRICT": "1"}).returncode == 1
    table = run("--groups-dir", str(groups), "list")
    assert "demo.good" in table.stdout and "bad.yml" in table.stderr


def test_groups_dir_comes_from_the_environment(groups: Path, tmp_path: Path) -> None:
    result = run("list", "--format", "json", cwd=tmp_path, env={"SPINE_GROUPS_DIR": str(groups)})
    assert [g["name"] for g in json.loads(result.stdout)["groups"]] == ["demo.good"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = run("list", cwd=elsewhere)
    assert missing.returncode == 1
    assert "groups directory not found: groups" in missing.stderr


def test_explain_shows_layers(groups: Path) -> None:
    result = run("--groups-dir", str(groups), "explain", "demo.good", "second", "--param", "message=hi")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[3:]}
    assert rows["message"][1:3] == ['"hi"', "run"]
    assert rows["fail_times"][1:3] == ["1", "step"]
    one = run("--groups-dir", str(groups), "explain", "demo.good", "second", "message")
    assert "<needs run param>" in one.stdout and "template" in one.stdout
    bad = run("--groups-dir", str(groups), "explain", "demo.good", "secnd")
    assert bad.returncode == 1 and "did you mean 'second'" in bad.stderr


def test_schema_is_json_with_both_shapes() -> None:
    result = run("schema")
    schema = json.loads(result.stdout)
    nested, flat = schema["oneOf"]
    assert set(nested["properties"]) == {"apiVersion", "kind", "metadata", "spec"}
    assert {"name", "steps", "pipelines", "policy", "defaults"} <= set(flat["properties"])
    assert "StepSpec" in schema["$defs"]


def test_pipelines_json() -> None:
    data = json.loads(run("pipelines", "--format", "json").stdout)
    by_name = {p["name"]: p for p in data["pipelines"]}
    assert {"spine.fail", "spine.noop", "spine.sleep", "finra.otc_transparency.ingest_week"} <= set(by_name)
    assert by_name["finra.otc_transparency.aggregate_week"]["writes"] == [
        "finra_otc.symbol_week",
        "finra_otc.venue_week",
    ]
    assert {c["name"] for c in by_name["finra.otc_transparency.normalize_week"]["checks"]} == {
        "unique_natural_keys",
        "smbl_reconciliation",
        "reject_rate",
    }
    assert by_name["spine.fail"]["params"]["fail_times"] == {
        "type": "int",
        "required": False,
        "default": 0,
        "description": "Attempts that fail before one succeeds (0: every attempt fails).",
    }
    assert by_name["spine.fail"]["origin"] == {
        "distribution": by_name["spine.fail"]["origin"]["distribution"],
        "module": "spine_dagster.pipelines.builtin",
        "registered_by": "entry point 'spine'",
    }
    assert by_name["spine.fail"]["origin"]["distribution"].startswith("spine-dagster ")
    assert by_name["finra.otc_transparency.ingest_week"]["origin"]["registered_by"] == (
        "entry point 'finra.otc_transparency'"
    )
    assert data["errors"] == []
    assert by_name["spine.noop"]["accepts_any_param"] is True


def test_garbage_input_never_crashes(tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"\x00\xff\xfe garbage \x89PNG")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "empty.yml").write_text("")
    result = run("validate", str(tmp_path), "--format", "json")
    assert result.returncode == 1
    assert len(json.loads(result.stdout)["errors"]) == 3


def test_plan_of_a_partitioned_group_shows_unresolved_partition_params() -> None:
    repo_groups = str(GROUP_FIXTURES.parents[2] / "groups")
    table = run("--groups-dir", repo_groups, "plan", "finra.weekly_refresh")
    assert table.returncode == 0, table.stderr
    assert "<needs run params>" in table.stdout
    config = run(
        "--groups-dir", repo_groups, "plan", "finra.weekly_refresh", "--format", "dagster-run-config"
    )
    import yaml

    data = yaml.safe_load(config.stdout)
    assert set(data["ops"]) == {"ingest", "normalize", "aggregate", "rolling"}
    # each op gets the params its pipeline takes (its config schema refuses the others)
    assert data["ops"]["ingest"]["config"]["params"] == {"force": False}
    assert data["ops"]["rolling"]["config"]["params"] == {"force": False, "window_weeks": 6}
    assert "&id" not in config.stdout


def test_explain_shows_each_checks_effective_policy(tmp_path: Path) -> None:
    group = tmp_path / "strict.yaml"
    group.write_text(
        'name: demo.strict\ndefaults: {week_ending: "{{ params.week_ending }}", tier: "{{ params.tier }}"}\n'
        "steps:\n  - name: normalize\n    pipeline: finra.otc_transparency.normalize_week\n"
        "    checks: {reject_rate: {severity: error, blocking: true}}\n"
    )
    result = run("explain", str(group), "normalize")
    assert result.returncode == 0, result.stderr
    checks = result.stdout.split("\n\n", 1)[1].splitlines()[2:]
    rows = {line.split()[0]: line.split(maxsplit=4)[1:] for line in checks}
    assert rows["reject_rate"] == ["finra_otc.rejects", "error", "yes", "the step's checks:"]
    assert rows["unique_natural_keys"] == ["finra_otc.weekly_volume", "error", "yes", "the pipeline"]
    # one param only: just that param's row, no check table
    one = run("explain", str(group), "normalize", "tier")
    assert "check" not in one.stdout
