"""pyproject.toml declares what spine_dagster/ imports, and nothing it does not need.

A package that only arrives through another one (``tabulate`` through dagster, ``python-dateutil`` through
pandas) disappears the day that other package drops it: every third-party module spine_dagster/ imports,
even lazily or for type checking only, must come from a declared distribution.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spine_dagster"

# Declared but never imported by spine_dagster/: each needs a reason (pyproject.toml says it too).
NOT_IMPORTED = {
    "dagster-webserver": "`spine dev` runs `dagster dev`, which serves the UI from it",
    "dagster-postgres": "Dagster loads it by name for a Postgres-backed instance (dagster.yaml storage)",
    "tzdata": "zoneinfo's time zone database where the system has none",
    "adbc-driver-manager": "adbc_driver_postgresql.dbapi imports it; pinned to the driver's release",
}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_normalize(re.split(r"[\s;\[<>=!~]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module name -> the spine_dagster/ files importing it (stdlib and relative imports left out)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "spine_dagster":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared() -> None:
    declared = _declared()
    distributions = importlib.metadata.packages_distributions()
    imports = _third_party_imports()
    unknown = {top: sorted(files) for top, files in imports.items() if top not in distributions}
    assert unknown == {}, "imported modules that no installed distribution provides"
    undeclared = {
        top: (distributions[top], sorted(files))
        for top, files in imports.items()
        if not any(_normalize(dist) in declared for dist in distributions[top])
    }
    assert undeclared == {}


def test_every_declared_package_is_imported_or_has_a_reason() -> None:
    distributions = importlib.metadata.packages_distributions()
    imported = {_normalize(dist) for top in _third_party_imports() for dist in distributions.get(top, ())}
    unused = sorted(_declared() - imported - set(NOT_IMPORTED))
    assert unused == []
    stale = sorted(name for name in NOT_IMPORTED if name in imported or name not in _declared())
    assert stale == []


def test_the_scanner_sees_lazy_and_type_checking_imports() -> None:
    # Guard the guard: tabulate is imported inside a function, pandas under TYPE_CHECKING in warehouse/.
    imports = _third_party_imports()
    assert "tabulate" in imports
    assert "spine_dagster/warehouse/base.py" in imports["pandas"]
