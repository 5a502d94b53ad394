"""The example plugin package (examples/team_pipelines, docs/pipelines.md) installed as a team installs it,
then driven through the real ``spine`` console script: listed with its distribution, validated, run, its
materialization and check evaluation found in the Dagster instance and its rows in the warehouse (DuckDB and
Postgres); and beside it, broken plugins (import error, duplicate name, bad params model) as users see them.

The package is installed with pip into a directory of its own (``pip install --no-deps --target``), which
the ``spine`` subprocesses get on ``PYTHONPATH``: pip writes the package, its shipped CSV and its
dist-info (with the entry point) there as it would into site-packages.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from pydantic import ValidationError

from spine_dagster.errors import BadConfigError, BadDataError
from spine_dagster.pipelines import StepContext
from spine_dagster.warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "team_pipelines"
SPINE = str(Path(sys.executable).with_name("spine"))
ASSET = dg.AssetKey(["acme_prices", "daily_close"])
CHECK = dg.AssetCheckKey(ASSET, "close_positive")
TABLE = "acme_prices.daily_close"
# 2026-01-09 in the package's sample CSV (src/acme_prices/data/daily_close.csv)
CLOSES_0109 = [
    ("AAPL", 242.64, 37716100),
    ("MSFT", 434.70, 20512300),
    ("NVDA", 130.66, 216251500),
    ("SPY", 584.20, 59802800),
    ("TSLA", 399.17, 80535400),
]
BAD_CSV = "trade_date,symbol,close,volume\n2026-01-12,AAPL,244.10,30000000\n2026-01-12,MSFT,-1.0,100\n2026-01-12,NVDA,,100\n"


def _builds_without_downloads() -> bool:
    """Whether this environment can build a setuptools wheel by itself (setuptools >= 70.1 has
    bdist_wheel; older ones need the ``wheel`` package). Then pip needs no build isolation, so no index."""
    import setuptools

    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed into a directory of its own, from a copy (pip builds in the source tree)."""
    root = tmp_path_factory.mktemp("example")
    source = root / "team_pipelines"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site)]
    if _builds_without_downloads():
        command.append("--no-build-isolation")
    # Else pip fetches setuptools for an isolated build from its configured index, as `pip install -e .` did.
    installed = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (site / "acme_prices" / "data" / "daily_close.csv").is_file()  # package data shipped
    return site


class Workspace:
    """A working directory with its own SPINE_HOME (so DAGSTER_HOME is $SPINE_HOME/dagster, as for a user),
    a groups dir holding the example's group, and the plugin directories on PYTHONPATH."""

    def __init__(self, root: Path, sites: Sequence[Path], warehouse_url: str | None = None) -> None:
        self.root = root
        self.groups = root / "groups"
        self.groups.mkdir(parents=True)
        shutil.copy(EXAMPLE / "groups" / "acme_prices.yaml", self.groups)
        self.sites = list(sites)
        self.warehouse_url = warehouse_url or f"duckdb:///{root / 'home' / 'warehouse.duckdb'}"

    @property
    def dagster_home(self) -> Path:
        return self.root / "home" / "dagster"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPINE_", "DAGSTER_"))}
        env.update(
            PYTHONPATH=os.pathsep.join(map(str, self.sites)),
            SPINE_HOME=str(self.root / "home"),
            SPINE_GROUPS_DIR=str(self.groups),
            SPINE_WAREHOUSE_URL=self.warehouse_url,
        )
        env.update(extra)
        return env

    def spine(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [SPINE, *args], cwd=self.root, env=self.env(**env), capture_output=True, text=True, timeout=300
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
        return result

    def run(self, trade_date: str, *params: str) -> tuple[int, dict[str, Any]]:
        """``spine run acme.prices.daily --param trade_date=... --format json``: exit code and outcome."""
        args = ["--param", f"trade_date={trade_date}", *(a for p in params for a in ("--param", p))]
        result = self.spine("run", "acme.prices.daily", *args, "--format", "json")
        assert result.stdout.strip(), result.stderr
        return result.returncode, json.loads(result.stdout)

    def rows(self) -> list[tuple[str, float | None, int]]:
        """(symbol, close, volume) of the table, ordered (the connection is closed again: DuckDB locks)."""
        warehouse = open_warehouse(self.warehouse_url)
        try:
            frame = warehouse.query_df(
                f"SELECT symbol, close, volume FROM {TABLE} ORDER BY trade_date, symbol"
            )
        finally:
            warehouse.close()
        closes = [None if pd.isna(c) else round(float(c), 2) for c in frame["close"]]
        return list(zip(frame["symbol"], closes, [int(v) for v in frame["volume"]], strict=True))

    def check_alone(self) -> dict[str, Any]:
        """The asset check run on its own (what "Execute" on the asset's Checks tab runs): Dagster's asset job
        with only this check selected, on the same instance, in a process that discovers the plugin."""
        script = textwrap.dedent(
            """
            import json, sys
            import dagster as dg
            from spine_dagster.composition import build_definitions
            from spine_dagster.settings import get_settings

            key = dg.AssetCheckKey(dg.AssetKey(["acme_prices", "daily_close"]), "close_positive")
            job = build_definitions(get_settings()).resolve_implicit_global_asset_job_def()
            job = job.get_subset(asset_check_selection={key}, asset_selection=set())
            with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
                result = job.execute_in_process(instance=instance, raise_on_error=False)
            (evaluation,) = [
                e.event_specific_data for e in result.all_events
                if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ]
            print(json.dumps({"passed": evaluation.passed, "description": evaluation.description}))
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", script, str(self.dagster_home)],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.dagster_home))


def _latest_check(instance: dg.DagsterInstance) -> tuple[str, bool, str]:
    """(run id, passed, description) of the check's latest evaluation."""
    (record,) = instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=1)
    evaluation = record.event.dagster_event.event_specific_data  # type: ignore[union-attr]
    return record.run_id, evaluation.passed, evaluation.description


def test_installed_example_is_listed_validated_run_and_recorded(example_site: Path, tmp_path: Path) -> None:
    ws = Workspace(tmp_path, [example_site])

    listed = ws.spine("pipelines", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (pipeline,) = [p for p in json.loads(listed.stdout)["pipelines"] if p["name"].startswith("acme.")]
    assert pipeline["name"] == "acme.prices.daily_close"
    assert pipeline["origin"] == {
        "distribution": "acme-prices 0.1.0",
        "module": "acme_prices.daily_close",
        "registered_by": "entry point 'acme.prices'",
    }
    assert {k: (v["type"], v["required"]) for k, v in pipeline["params"].items()} == {
        "trade_date": ("date", True),
        "source_path": ("str | None", False),
    }
    assert all(v["description"] for v in pipeline["params"].values())
    assert pipeline["writes"] == [TABLE]
    assert [(c["name"], c["table"], c["severity"], c["blocking"]) for c in pipeline["checks"]] == [
        ("close_positive", TABLE, "error", True)
    ]
    text = ws.spine("pipelines").stdout
    assert (
        "  from     acme-prices 0.1.0, module acme_prices.daily_close; registered by entry point 'acme.prices'"
        in text.splitlines()
    )

    validated = ws.spine("validate")
    assert (validated.returncode, validated.stdout) == (
        0,
        f"ok  acme.prices.daily  ({ws.groups / 'acme_prices.yaml'})\n1 valid group, 0 errors (1 file checked)\n",
    )

    code, outcome = ws.run("2026-01-09")
    assert code == 0, outcome
    assert (outcome["status"], [s["status"] for s in outcome["steps"]]) == ("completed", ["completed"])
    run_id = outcome["run_id"]
    assert ws.rows() == CLOSES_0109
    with ws.instance() as instance:
        event = instance.get_latest_materialization_event(ASSET)
        assert event is not None and event.run_id == run_id
        metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
        assert (metadata["rows"].value, metadata["trade_date"].value) == (5, "2026-01-09")
        assert metadata["spine/step"].value == "load_closes"
        assert _latest_check(instance) == (run_id, True, "5 closes, all positive")

    # Idempotent per day: a re-run replaces the day's rows (the next test shows other days stay).
    assert ws.run("2026-01-09")[0] == 0
    assert ws.rows() == CLOSES_0109


def test_a_bad_price_fails_the_step_on_its_check_and_the_check_alone_finds_it(
    example_site: Path, tmp_path: Path
) -> None:
    ws = Workspace(tmp_path, [example_site])
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV)
    assert ws.run("2026-01-09")[0] == 0

    code, outcome = ws.run("2026-01-12", f"source_path={bad}")
    assert (code, outcome["status"]) == (1, "failed")
    (step,) = outcome["steps"]
    assert step["attempts"] == 1  # bad data is not retried, whatever the group's retry policy
    failed = "blocking quality check(s) failed in step 'load_closes': close_positive (2 of 3 closes are not positive)"
    assert failed in step["error"]
    with ws.instance() as instance:
        assert _latest_check(instance) == (outcome["run_id"], False, "2 of 3 closes are not positive")
    # The step wrote before its check ran: the rows stay until the day is loaded again from good data;
    # the other day's rows are untouched.
    assert ws.rows() == [
        *CLOSES_0109,
        ("AAPL", 244.1, 30000000),
        ("MSFT", -1.0, 100),
        ("NVDA", None, 100),
    ]
    assert ws.check_alone() == {"passed": False, "description": "2 of 8 closes are not positive"}


def test_the_example_on_postgres(example_site: Path, tmp_path: Path, pg_database: str) -> None:
    ws = Workspace(tmp_path, [example_site], warehouse_url=pg_database)
    code, outcome = ws.run("2026-01-09")
    assert code == 0, outcome
    assert ws.rows() == CLOSES_0109
    code, outcome = ws.run("2026-01-09")
    assert code == 0, outcome
    assert ws.rows() == CLOSES_0109
    with ws.instance() as instance:
        assert instance.get_latest_materialization_event(ASSET).run_id == outcome["run_id"]  # type: ignore[union-attr]
        assert _latest_check(instance) == (outcome["run_id"], True, "5 closes, all positive")


@pytest.fixture
def daily_close(example_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The installed example's module, imported in this process (and forgotten afterwards)."""
    monkeypatch.syspath_prepend(str(example_site))
    yield importlib.import_module("acme_prices.daily_close")
    # Only the example's own modules: a C extension first imported meanwhile (duckdb) cannot be imported
    # twice in one process (it aborts), so it stays.
    for name in [n for n in sys.modules if n == "acme_prices" or n.startswith("acme_prices.")]:
        del sys.modules[name]


def test_the_pipeline_refuses_bad_params_and_sources_without_retries(
    daily_close: ModuleType, tmp_path: Path
) -> None:
    pipeline = daily_close.DailyClose()
    with pytest.raises(ValidationError, match="trade_date"):
        pipeline.Params.model_validate({"trade_date": "2026-02-30"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        pipeline.Params.model_validate({"trade_date": "2026-01-09", "source": "x.csv"})
    (tmp_path / "no_close.csv").write_text("trade_date,symbol,volume\n2026-01-09,AAPL,1\n")
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    try:
        for params, error, message in [
            ({"trade_date": "2026-01-13"}, BadDataError, r"^no closes for 2026-01-13 in .*daily_close\.csv$"),
            ({"source_path": str(tmp_path / "nope.csv")}, BadConfigError, r"nope\.csv does not exist$"),
            ({"source_path": str(tmp_path / "no_close.csv")}, BadDataError, r"lacks the column\(s\) close$"),
        ]:
            params = {"trade_date": "2026-01-09", **params}
            ctx = StepContext("g", "s", "run", "batch", params=params, warehouse=warehouse)
            with pytest.raises(error, match=message) as caught:
                pipeline.run(ctx, pipeline.Params.model_validate(params))
            assert not caught.value.retryable
    finally:
        warehouse.close()


# --- broken plugins beside the example -------------------------------------------------------------------

BROKEN = {
    # import error: a module-level import of something not installed (keep such imports inside run)
    "acme_risk": '''
        """Value at risk per desk."""

        import acme_risk_models  # the risk team's library, not installed here


        def register(registry):
            registry.register(acme_risk_models.DeskVar)
        ''',
    # another package's name: started as a copy of the example and registers its pipeline too
    "desk_tools": """
        from acme_prices.daily_close import DailyClose
        from spine_dagster.pipelines import Pipeline, StepResult


        class Vwap(Pipeline):
            name = "desk.tools.vwap"

            def run(self, ctx, params):
                return StepResult(message="vwap")


        def register(registry):
            registry.register(Vwap)
            registry.register(DailyClose)  # provided by acme-prices already
        """,
    # bad params model: a dataclass where a pydantic model is needed
    "acme_fx": """
        from dataclasses import dataclass

        from spine_dagster.pipelines import Pipeline, StepResult


        @dataclass
        class RatesParams:
            currency: str = "EUR"


        class Rates(Pipeline):
            name = "acme.fx.rates"
            Params = RatesParams

            def run(self, ctx, params):
                return StepResult(metrics={"currency": params.currency})


        def register(registry):
            registry.register(Rates)
        """,
}
DISTRIBUTIONS = {"acme-risk": "acme.risk", "desk-tools": "desk.tools", "acme-fx": "acme.fx"}
DESK_GROUP = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: desk.tools.intraday}
spec:
  pipelines:
    - name: vwap
      pipeline: desk.tools.vwap
"""


@pytest.fixture
def broken_site(tmp_path: Path) -> Path:
    """Three installed distributions (a module and a dist-info each, as pip lays them out) that fail to load."""
    site = tmp_path / "broken"
    site.mkdir()
    for dist, namespace in DISTRIBUTIONS.items():
        module = dist.replace("-", "_")
        (site / f"{module}.py").write_text(textwrap.dedent(BROKEN[module]).lstrip())
        info = site / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            f"[spine_dagster.pipelines]\n{namespace} = {module}:register\n"
        )
    return site


def test_broken_plugins_are_reported_and_the_example_still_runs(
    example_site: Path, broken_site: Path, tmp_path: Path
) -> None:
    ws = Workspace(tmp_path / "ws", [example_site, broken_site])
    (ws.groups / "desk_tools.yaml").write_text(DESK_GROUP.lstrip())
    bad_params = (
        "pipeline plugin entry point 'acme.fx' (acme-fx 1.0) failed to load (acme_fx:register): "
        "TypeError: Pipeline 'acme.fx.rates': Params must be a pydantic model class"
    )
    import_error = (
        "pipeline plugin entry point 'acme.risk' (acme-risk 1.0) failed to load (acme_risk:register): "
        "ModuleNotFoundError: No module named 'acme_risk_models'"
    )
    clash = (
        "ValueError: pipeline 'acme.prices.daily_close' is outside the namespace of entry point 'desk.tools': "
        "an entry point provides only pipelines named 'desk.tools' or desk.tools.<name> (rename the pipeline "
        "or the entry point)"
    )
    duplicate = f"pipeline plugin entry point 'desk.tools' (desk-tools 1.0) failed to load (desk_tools:register): {clash}"
    fx, risk, desk = (broken_site / f"{m}.py" for m in ("acme_fx", "acme_risk", "desk_tools"))

    validated = ws.spine("validate")
    assert validated.returncode == 1
    lines = validated.stdout.splitlines()
    assert lines[:3] == [
        f"{fx}:20:0: {bad_params}",  # the register() line that registered the bad model
        f"{risk}:3:0: {import_error}",  # the failing import
        f"{desk}:14:0: {duplicate}",  # the register() line that registered another package's pipeline
    ]
    assert (
        f"{ws.groups / 'desk_tools.yaml'}:7:17: Step 'vwap': pipeline 'desk.tools.vwap' is provided by entry "
        f"point 'desk.tools' (desk-tools 1.0), which failed to load: {clash}"
    ) in lines
    assert f"ok  acme.prices.daily  ({ws.groups / 'acme_prices.yaml'})" in lines

    listed = ws.spine("pipelines", "--format", "json")
    assert listed.returncode == 1  # the pipelines that loaded are listed; the failures make it exit 1
    names = {p["name"] for p in json.loads(listed.stdout)["pipelines"]}
    assert "acme.prices.daily_close" in names
    assert not {"acme.risk.desk_var", "desk.tools.vwap", "acme.fx.rates"} & names  # all or nothing

    ran = ws.spine("run", "acme.prices.daily", "--param", "trade_date=2026-01-09")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "group acme.prices.daily: completed" in ran.stdout
    assert [line for line in ran.stderr.splitlines() if line.startswith("spine: warning: ")] == [
        f"spine: warning: {fx}:20: {bad_params}",
        f"spine: warning: {risk}:3: {import_error}",
        f"spine: warning: {desk}:14: {duplicate}",
    ]
    assert ws.rows() == CLOSES_0109

    strict = ws.spine("run", "acme.prices.daily", "--param", "trade_date=2026-01-08", SPINE_STRICT="1")
    assert (strict.returncode, strict.stdout) == (1, "")
    assert f"{risk}:3:0: {import_error}" in strict.stderr.splitlines()
    with ws.instance() as instance:
        assert len(instance.get_run_records()) == 1  # the strict run never started


# --- docs/pipelines.md shows the example's files as they are ----------------------------------------------


@pytest.mark.parametrize(
    ("intro", "path"),
    [
        ("`src/acme_prices/daily_close.py`, in full:", "src/acme_prices/daily_close.py"),
        ("`pyproject.toml`:", "pyproject.toml"),
        ("`groups/acme_prices.yaml`:", "groups/acme_prices.yaml"),
    ],
)
def test_the_walkthrough_shows_the_example_files_verbatim(intro: str, path: str) -> None:
    doc = (REPO / "docs" / "pipelines.md").read_text()
    block = re.search(re.escape(intro) + r"\n\n```\w+\n(.*?)```", doc, re.DOTALL)
    assert block is not None, intro
    assert block.group(1) == (EXAMPLE / path).read_text()
