"""Import rules: the folders follow the data flow, and importing is cheap.

* ``spec/`` and ``plan/`` never import dagster, duckdb or psycopg (checked in a fresh interpreter);
* ``spec/``, ``plan/``, ``pipelines/`` never import dagster at all, even lazily (checked in the source);
* ``pipelines/`` never imports ``spec/``/``plan/`` (so a domain pipeline is testable with a warehouse alone);
* nothing in the framework imports ``domains/`` except ``pipelines/catalog.py``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "spine_dagster"
HEAVY = ("dagster", "duckdb", "psycopg2", "psycopg", "pandas", "httpx", "sqlalchemy")


def _imported_modules(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize(
    "module",
    [
        "spine_dagster",
        "spine_dagster.spec",
        "spine_dagster.plan",
        "spine_dagster.pipelines",
        "spine_dagster.cli",
    ],
)
def test_pure_stages_do_not_import_heavy_packages(module: str) -> None:
    loaded = _imported_modules(f"import {module}")
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_planning_a_file_imports_no_heavy_package(tmp_path: Path) -> None:
    group = tmp_path / "g.yaml"
    group.write_text("name: g\nsteps: [{name: a, pipeline: spine.sleep, params: {seconds: 0}}]\n")
    code = (
        "from spine_dagster.spec import load_group_file\n"
        "from spine_dagster.plan import plan_group\n"
        "from spine_dagster.pipelines import build_default_registry\n"
        f"plan_group(load_group_file({str(group)!r}), build_default_registry(), {{}})"
    )
    loaded = _imported_modules(code)
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            else:
                names.add(node.module or "")
    return names


def _files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["spec", "plan", "pipelines"])
def test_pure_folders_never_import_dagster(folder: str) -> None:
    offenders = {
        f.name: sorted(i for i in _imports(f) if i.split(".")[0] in ("dagster", "duckdb", "psycopg2"))
        for f in _files(folder)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_pipelines_do_not_import_spec_or_plan() -> None:
    offenders = {
        f.name: sorted(i for i in _imports(f) if i.startswith(("spine_dagster.spec", "spine_dagster.plan")))
        for f in _files("pipelines")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_catalog_names_domains() -> None:
    offenders = [
        str(f.relative_to(PACKAGE))
        for f in PACKAGE.rglob("*.py")
        if "domains" not in f.parts
        and f.name != "catalog.py"
        and any(i.startswith("spine_dagster.domains") for i in _imports(f))
    ]
    assert offenders == []


def test_the_import_scanner_sees_relative_imports() -> None:
    # Guard the guard: the planner imports the registry through a relative import.
    assert "spine_dagster.pipelines.registry" in _imports(PACKAGE / "plan" / "planner.py")
