"""How long a warehouse connection lives: one per ``spine run`` command, one per run elsewhere, a fresh one
after a failed step, and closed when the run ends (warehouse/session.py, warehouse/resource.py).

A probe pipeline leaves a DuckDB TEMP table on its connection (temp tables live as long as the connection)
and records whether the marker was already there: "shared" means the step got the connection an earlier
step used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.integration.conftest import Workspace

PROBE_MODULE = """
from spine_dagster.pipelines import Pipeline, PipelineParams, StepResult


class ProbeParams(PipelineParams):
    fail_first_attempt: bool = False
    week_ending: str | None = None


class Probe(Pipeline):
    name = "conn.probe"
    description = "Record whether this step's connection carries the marker an earlier step left on it."
    Params = ProbeParams
    writes = ("conn.marks",)

    def run(self, ctx, params):
        wh = ctx.warehouse
        found = wh.scalar(
            "SELECT COUNT(*) FROM duckdb_tables() WHERE temporary AND table_name = 'probe_marker'"
        )
        wh.execute("CREATE TEMP TABLE IF NOT EXISTS probe_marker (x INTEGER)")
        wh.execute("CREATE SCHEMA IF NOT EXISTS conn")
        wh.execute(
            "CREATE TABLE IF NOT EXISTS conn.marks (run_id VARCHAR, step VARCHAR, attempt INTEGER, shared BOOLEAN)"
        )
        wh.execute("INSERT INTO conn.marks VALUES (?, ?, ?, ?)", [ctx.run_id, ctx.step, ctx.attempt, found > 0])
        if params.fail_first_attempt and ctx.attempt == 1:
            raise RuntimeError("the first attempt fails")
        return StepResult(rows_written={"conn.marks": 1})
"""

GROUP = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: conn.weekly}
spec:
  defaults: {week_ending: "{{ params.week_ending }}"}
  pipelines:
    - {name: a, pipeline: conn.probe}
    - {name: b, pipeline: conn.probe, depends_on: [a], retry: {max_retries: 1}, params: {fail_first_attempt: true}}
    - {name: c, pipeline: conn.probe, depends_on: [b]}
  policy: {execution: sequential}
  partitions:
    weekly: {start: "2025-11-21", ends_on: friday, key_day: monday, param: week_ending}
"""

# Per run, in order: a, b's failing first attempt, b's retry (after the failure discarded the connection), c.
ONE_RUN = [("a", 1), ("b", 1), ("b", 2), ("c", 1)]


def _marks(path: Path) -> list[tuple[str, str, int, bool]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [tuple(r) for r in con.execute("SELECT * FROM conn.marks").fetchall()]  # insertion order


def _workspace(tmp_path: Path) -> tuple[Workspace, Path]:
    ws = Workspace(tmp_path)
    ws.groups.mkdir()
    ws.write("conn.yaml", GROUP)
    (tmp_path / "conn_probe.py").write_text(textwrap.dedent(PROBE_MODULE))
    return ws, tmp_path / "warehouse.duckdb"


def test_spine_run_shares_one_connection_across_its_runs(tmp_path: Path) -> None:
    ws, path = _workspace(tmp_path)
    env = ws.env(SPINE_PIPELINE_MODULES="conn_probe", SPINE_WAREHOUSE_URL=f"duckdb:///{path}")
    result = subprocess.run(
        [sys.executable, "-m", "spine_dagster", "run", "conn.weekly", "--partition-range",
         "2025-11-17..2025-11-24", "--format", "json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    marks = _marks(path)
    runs = list(dict.fromkeys(run_id for run_id, *_ in marks))
    assert len(runs) == 2
    assert [(step, attempt) for _run, step, attempt, _shared in marks] == ONE_RUN * 2
    # The first step of the command opens the connection; every later step of both runs finds it, except
    # the retry after b's failure, which starts on a fresh one (that c then shares).
    assert [shared for *_, shared in marks] == [False, True, False, True, True, True, False, True]


def test_a_dagster_run_shares_one_connection_and_closes_it_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spine_dagster.composition import build_code_location
    from spine_dagster.settings import get_settings

    ws, path = _workspace(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name, value in ws.env(
        SPINE_PIPELINE_MODULES="conn_probe", SPINE_WAREHOUSE_URL=f"duckdb:///{path}"
    ).items():
        monkeypatch.setenv(name, value)
    location = build_code_location(get_settings())
    assert not location.diagnostics, [d.message for d in location.diagnostics]
    job = location.definitions.resolve_job_def("conn__weekly")
    with dg.DagsterInstance.ephemeral() as instance:
        for key in ("2025-11-17", "2025-11-24"):
            assert job.execute_in_process(instance=instance, partition_key=key).success
            # The run's resources were torn down: another process can take the file's write lock now
            # (DuckDB refuses a second writer at once, it does not wait).
            subprocess.run(
                [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).close()"],
                check=True, timeout=60,
            )  # fmt: skip
    marks = _marks(path)
    assert [(step, attempt) for _run, step, attempt, _shared in marks] == ONE_RUN * 2
    # One connection per run: each run's first step opens its own.
    assert [shared for *_, shared in marks] == [False, True, False, True] * 2
