"""Every fixture group file: YAML -> spec -> plan, checked against the expectations written in its header.

Header lines (YAML comments at the top of a fixture):

    # expect: <ErrorKind> <line>:<col> <text the message contains>   (invalid fixtures; one per problem)
    # run-params: {week_ending: "2026-01-03"}                          (plan with these run params)
    # skip-pipeline-check                                              (plan without the registry check)
    # expect-order: a, b, c                                            (plan order, valid fixtures)
    # expect-levels: a=0, b=1, c=1
    # expect-params: <step> {"k": "v"}                                 (a step's final params, JSON)

An invalid fixture must produce exactly its expected problems: no more, no fewer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from spine_dagster.errors import Diagnostic, SpineError
from spine_dagster.plan import plan_group
from spine_dagster.spec import load_groups
from spine_dagster.spec._yaml import parse_scalar
from tests.conftest import GROUP_FIXTURES, make_test_registry

VALID = sorted((GROUP_FIXTURES / "valid").rglob("*.y*ml"))
INVALID = sorted((GROUP_FIXTURES / "invalid").rglob("*.y*ml"))
_EXPECT = re.compile(r"^#\s*expect:\s*(\w+)\s+(\d+):(\d+)\s+(.*?)\s*$")


@dataclass
class Header:
    expects: list[tuple[str, int, int, str]] = field(default_factory=list)
    run_params: dict[str, Any] | None = None
    check_pipelines: bool = True
    order: list[str] | None = None
    levels: dict[str, int] | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_header(path: Path) -> Header:
    header = Header()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if match := _EXPECT.match(line):
            kind, row, col, text = match.groups()
            header.expects.append((kind, int(row), int(col), text))
        elif body.startswith("run-params:"):
            header.run_params = parse_scalar(body.split(":", 1)[1])
        elif body == "skip-pipeline-check":
            header.check_pipelines = False
        elif body.startswith("expect-order:"):
            header.order = [s.strip() for s in body.split(":", 1)[1].split(",")]
        elif body.startswith("expect-levels:"):
            pairs = [p.split("=") for p in body.split(":", 1)[1].split(",")]
            header.levels = {k.strip(): int(v) for k, v in pairs}
        elif body.startswith("expect-params:"):
            step, _, raw = body.split(":", 1)[1].strip().partition(" ")
            header.params[step] = json.loads(raw)
    return header


def problems_of(path: Path, header: Header) -> tuple[list[Diagnostic], Any]:
    result = load_groups([path])
    diags = list(result.diagnostics)
    plan = None
    for group in result.groups:
        try:
            plan = plan_group(
                group, make_test_registry(), header.run_params, check_pipelines=header.check_pipelines
            )
        except SpineError as exc:
            diags.extend(exc.diagnostics)
    return diags, plan


def test_corpus_is_not_empty() -> None:
    assert len(VALID) >= 10 and len(INVALID) >= 10


@pytest.mark.parametrize("path", VALID, ids=[p.relative_to(GROUP_FIXTURES).as_posix() for p in VALID])
def test_valid_fixture_plans(path: Path) -> None:
    header = read_header(path)
    assert not header.expects, "valid fixtures declare no expected errors"
    diags, plan = problems_of(path, header)
    assert [d.format() for d in diags] == []
    assert plan is not None
    if header.order is not None:
        assert [s.name for s in plan.steps] == header.order
        assert [s.order for s in plan.steps] == list(range(len(plan.steps)))
    if header.levels is not None:
        assert {s.name: s.level for s in plan.steps} == header.levels
    for step, params in header.params.items():
        assert dict(plan.step(step).params) == params


@pytest.mark.parametrize("path", INVALID, ids=[p.relative_to(GROUP_FIXTURES).as_posix() for p in INVALID])
def test_invalid_fixture_reports_exactly_its_problems(path: Path) -> None:
    header = read_header(path)
    assert header.expects, "invalid fixtures declare their expected errors"
    diags, _ = problems_of(path, header)
    got = sorted((d.kind, d.line, d.column, d.message) for d in diags)
    unmatched = list(got)
    for kind, line, col, text in header.expects:
        match = next(
            (g for g in unmatched if g[0] == kind and g[1] == line and g[2] == col and text in g[3]), None
        )
        assert match is not None, f"expected {kind} at {line}:{col} containing {text!r}; got {got}"
        unmatched.remove(match)
    assert unmatched == [], f"unexpected problems: {unmatched}"
    for diag in diags:
        assert diag.path == str(path)
