"""Import rules: the folders follow the data flow, and importing is cheap.

* ``spec/`` and ``plan/`` never import dagster, duckdb or psycopg (checked in a fresh interpreter);
* ``spec/``, ``plan/``, ``pipelines/`` never import dagster at all, even lazily (checked in the source);
* ``pipelines/`` never imports ``spec/``/``plan/`` (so a domain pipeline is testable with a warehouse alone);
* nothing in the framework imports ``domains/``: domains register through entry points (``pyproject.toml``);
* ``domains/`` never imports dagster (checked in the source): a domain is pipelines, checks and data, runnable
  and testable without Dagster;
* a private module (its name starts with ``_``) is imported only from its own package and that package's
  subpackages: ``spine_dagster/plan`` may not import ``spine_dagster.spec._errors``, while everything in
  ``spine_dagster`` may import ``spine_dagster._text`` (tests/ and bench/ may import anything).
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
        "from spine_dagster.pipelines import discover_pipelines\n"
        f"plan_group(load_group_file({str(group)!r}), discover_pipelines(), {{}})"
    )
    loaded = _imported_modules(code)
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(_resolve_from(path, node))
    return names


def _private_module_imports(path: Path, source: str | None = None) -> set[str]:
    """The spine_dagster modules ``path`` imports whose own name or a parent package's starts with ``_``
    (dunders aside), imported as ``import a._b``, ``from a._b import x`` or ``from a import _b``."""
    text = path.read_text(encoding="utf-8") if source is None else source
    candidates: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            candidates.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve_from(path, node)
            candidates.add(module)
            for alias in node.names:  # ``from a import _b`` imports the module a._b when there is one
                if _is_module(f"{module}.{alias.name}".split(".")):
                    candidates.add(f"{module}.{alias.name}")
    return {
        name
        for name in candidates
        if name.split(".")[0] == "spine_dagster" and any(_is_private(p) for p in name.split(".")[1:])
    }


def _resolve_from(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module name of ``from <module> import ...`` in ``path`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]).split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _is_module(parts: list[str]) -> bool:
    where = PACKAGE.parent.joinpath(*parts)
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _private_owner(module: str) -> str:
    """The package a private module belongs to: everything before its first private name part."""
    parts = module.split(".")
    first = next(i for i, p in enumerate(parts) if i and _is_private(p))
    return ".".join(parts[:first])


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


def test_no_framework_module_names_a_domain() -> None:
    offenders = [
        str(f.relative_to(PACKAGE))
        for f in PACKAGE.rglob("*.py")
        if "domains" not in f.parts and any(i.startswith("spine_dagster.domains") for i in _imports(f))
    ]
    assert offenders == []


def test_the_import_scanner_sees_relative_imports() -> None:
    # Guard the guard: the planner imports the registry through a relative import.
    assert "spine_dagster.pipelines.registry" in _imports(PACKAGE / "plan" / "planner.py")


def test_domains_never_import_dagster() -> None:
    offenders = {
        str(f.relative_to(PACKAGE)): sorted(
            i for i in _imports(f) if i.split(".")[0] == "dagster" or i.startswith("dagster_")
        )
        for f in _files("domains")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_private_modules_are_imported_only_inside_their_package() -> None:
    offenders: dict[str, list[str]] = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        importer = ".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
        bad = sorted(
            m
            for m in _private_module_imports(f)
            if not (importer == _private_owner(m) or importer.startswith(_private_owner(m) + "."))
        )
        if bad:
            offenders[str(f.relative_to(PACKAGE))] = bad
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "import spine_dagster.spec._yaml",
        "from spine_dagster.spec._yaml import parse_scalar",
        "from spine_dagster.spec import _yaml",
        "from ..spec._yaml import parse_scalar",
        "from ..spec import _yaml",
        "def f():\n    from ..spec._yaml import parse_scalar",
    ],
)
def test_the_private_import_scanner_sees_every_form(source: str) -> None:
    # Guard the guard: each form, absolute or relative, top-level or lazy, names the private module.
    assert _private_module_imports(PACKAGE / "plan" / "example.py", source) == {"spine_dagster.spec._yaml"}
    assert _private_owner("spine_dagster.spec._yaml") == "spine_dagster.spec"
    assert _private_owner("spine_dagster._text") == "spine_dagster"


def _non_docstring_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_framework_code_carries_no_domain_wording() -> None:
    # Descriptions shown in the UI come from what pipelines and tables declare, not from the framework.
    wording = ("(week, tier)", "_latest", "finra", "FINRA")
    offenders = {
        str(f.relative_to(PACKAGE)): hits
        for f in PACKAGE.rglob("*.py")
        if "domains" not in f.parts
        for hits in [[s for s in _non_docstring_strings(f) if any(w in s for w in wording)]]
        if hits
    }
    assert offenders == {}
