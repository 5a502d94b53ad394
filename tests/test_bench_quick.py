"""Smoke test of the benchmarks: ``--quick`` runs exit 0 and write their JSON. Nothing about speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"

MACHINE_KEYS = {"date", "nproc", "mem_total_gib", "python", "packages"}


def _run(script: str, out_dir: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--out-dir", str(out_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{script} --quick exited {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    )
    name = script.removesuffix(".py")
    path = out_dir / f"{name}-quick.json"
    assert path.is_file(), proc.stdout
    data = json.loads(path.read_text())
    assert data["benchmark"] == f"{name}-quick"
    assert data["quick"] is True
    assert set(data["machine"]) >= MACHINE_KEYS
    assert {"dagster", "pydantic", "PyYAML"} <= set(data["machine"]["packages"])
    return data


@pytest.mark.parametrize("script", ["load.py", "overhead.py", "finra.py"])
def test_bench_quick(script: str, tmp_path: Path) -> None:
    data = _run(script, tmp_path)
    if script == "load.py":
        (size,) = data["sizes"]
        assert {"n_groups", "m_steps", "ours_wall_s", "bare_wall_s", "ratio_wall", "ours_phases_s"} <= set(
            size
        )
        assert size["n_groups"] == 10 and size["m_steps"] == 5
        assert {"import_build_s", "process_wall_s", "import_dagster_s", "target_s"} <= set(data["shipped"])
        assert {"ours_per_step_s", "bare_per_step_s", "ratio_per_step", "ours_step_start_gap_s"} <= set(
            data["multiprocess"]
        )
        assert "targets" in data
    elif script == "finra.py":
        duckdb = [c for c in data["cases"] if c["backend"] == "duckdb"]  # Postgres too when its URL is set
        assert [c["case"] for c in duckdb] == [
            "1 week",
            "2 weeks",
        ]
        first = duckdb[0]
        assert set(first["results"]) == {"ours", "plain", "naive"}
        assert set(first["results"]["ours"]["seconds"]) == {
            "ingest",
            "normalize",
            "aggregate",
            "rolling",
            "close",
        }
        assert first["ours_over_plain"] > 0 and first["naive_over_ours"] > 0
    else:
        assert {"ours_per_step_ms", "bare_per_step_ms", "ratio", "overhead_per_step_ms"} <= set(
            data["in_process"]
        )
        assert {"ours_wall_s", "bare_wall_s", "ratio_wall", "ours_run_s", "ratio_run"} <= set(
            data["subprocess"]
        )
