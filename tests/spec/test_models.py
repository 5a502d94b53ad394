"""Spec models: every field is exercised by a valid fixture, and typing is strict where it matters."""

from __future__ import annotations

import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from spine_dagster.errors import InvalidGroupSpecError
from spine_dagster.spec import PipelineGroupSpec, load_group_file, load_group_text
from spine_dagster.spec.models import SpecModel
from tests.conftest import GROUP_FIXTURES


def _spec_models(root: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()

    def visit(annotation: typing.Any) -> None:
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, SpecModel):
            if annotation not in found:
                found.add(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
        elif origin is not None or isinstance(annotation, types.UnionType):
            for arg in typing.get_args(annotation):
                visit(arg)

    visit(root)
    return found


def _fields_set(value: typing.Any, seen: set[tuple[str, str]]) -> None:
    if isinstance(value, BaseModel):
        for name in value.model_fields_set:
            seen.add((type(value).__name__, name))
        for name in type(value).model_fields:
            _fields_set(getattr(value, name), seen)
    elif isinstance(value, list | tuple):
        for item in value:
            _fields_set(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            _fields_set(item, seen)


def test_every_model_field_is_exercised_by_a_valid_fixture() -> None:
    seen: set[tuple[str, str]] = set()
    for path in sorted((GROUP_FIXTURES / "valid").rglob("*.y*ml")):
        _fields_set(load_group_file(path).spec, seen)
    expected = {(m.__name__, f) for m in _spec_models(PipelineGroupSpec) for f in m.model_fields}
    assert sorted(expected - seen) == []


def test_models_are_frozen() -> None:
    spec = load_group_text("name: g\nsteps: [{name: a, pipeline: spine.noop}]\n").spec
    with pytest.raises(Exception, match="frozen"):
        spec.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("policy: {max_concurrency: true}", "should be a valid integer"),
        ("policy: {timeout_minutes: true}", "expected a number, got bool True"),
        ("policy: {timeout_minutes: '30'}", "expected a number, got str '30'"),
        ("steps: [{name: a, pipeline: spine.noop, timeout_seconds: 0}]", "greater than 0"),
        ("steps: [{name: 5, pipeline: spine.noop}]", "should be a valid string"),
        ("steps: [{name: 'bad name', pipeline: spine.noop}]", "is not a valid name here"),
        ("steps: [{name: a, pipeline: spine.noop, retry: {max_retries: -1}}]", "greater than or equal to 0"),
    ],
)
def test_types_are_checked(snippet: str, message: str) -> None:
    with pytest.raises(InvalidGroupSpecError) as info:
        load_group_text(f"name: g\n{snippet}\n", "g.yaml")
    assert any(message in d.message for d in info.value.diagnostics), info.value.diagnostics


def test_loading_reports_all_problems_of_a_file_at_once(tmp_path: Path) -> None:
    text = "name: g\npolcy: {}\nsteps:\n  - {name: a, pipeline: spine.noop, depend_on: b}\n  - {name: a}\n"
    with pytest.raises(InvalidGroupSpecError) as info:
        load_group_text(text, "g.yaml")
    lines = [d.format() for d in info.value.diagnostics]
    assert lines == [
        "g.yaml:2:1: unknown key 'polcy' in the document (did you mean 'policy'?)",
        "g.yaml:4:37: unknown key 'depend_on' in steps[0] (did you mean 'depends_on'?)",
        "g.yaml:5:5: missing required key 'pipeline' in steps[1]",
        "g.yaml:5:12: Duplicate step names: {'a'}: step #2 reuses the name of step #1; step names must be "
        "unique within a group",
    ]
