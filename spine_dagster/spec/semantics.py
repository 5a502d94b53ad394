"""Cross-field rules of a group that a single field cannot check (spec stage).

Each rule returns problems as (canonical path, message) so the loader can point into the file and the
Python DSL can raise with the same wording.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._text import plural
from ._errors import FieldProblem
from .templates import TemplateSyntaxError, references, strings_in


def _template_problems(value: Any, base: tuple[str | int, ...]) -> Iterator[FieldProblem]:
    for sub, text in strings_in(value):
        try:
            references(text)
        except TemplateSyntaxError as exc:
            yield FieldProblem((*base, *sub), str(exc))


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    return [item if isinstance(item, dict) else {} for item in value]


def check_group(data: dict[str, Any]) -> list[FieldProblem]:
    """All cross-field problems of a canonical group mapping (``PipelineGroupSpec.model_dump()`` shape).

    Works on unvalidated data too (anything malformed is skipped here and reported by the models), so a
    file with type errors still gets its duplicate names and template errors reported in the same pass.
    """
    return [
        *_duplicate_step_names(_items(data.get("steps"))),
        *_template_errors(data),
        *_trigger_names(data),
        *_partition_problems(data),
        *_self_triggers(data),
    ]


def _duplicate_step_names(steps: list[dict[str, Any]]) -> Iterator[FieldProblem]:
    """Each step that reuses an earlier step's name."""
    first_index: dict[str, int] = {}
    for i, step in enumerate(steps):
        name = step.get("name")
        if not isinstance(name, str):
            continue
        if name in first_index:
            yield FieldProblem(
                ("steps", i, "name"),
                f"Duplicate step names: {{{name!r}}}: step #{i + 1} reuses the name of step "
                f"#{first_index[name] + 1}; step names must be unique within a group",
            )
        else:
            first_index[name] = i


def _template_errors(data: dict[str, Any]) -> Iterator[FieldProblem]:
    """Template syntax errors in the defaults and step params, and templates in trigger params (run params
    are data: nothing resolves them)."""
    yield from _template_problems(data.get("defaults"), ("defaults",))
    for i, step in enumerate(_items(data.get("steps"))):
        yield from _template_problems(step.get("params"), ("steps", i, "params"))
    for kind in ("schedules", "sensors"):
        for i, item in enumerate(_items(data.get(kind))):
            for sub, text in strings_in(item.get("params")):
                if "{{" in text:
                    yield FieldProblem(
                        (kind, i, "params", *sub),
                        f"{kind[:-1]} params are run params, which are data: templates are not resolved here "
                        "(put the template in the group defaults or step params instead)",
                    )


def _trigger_names(data: dict[str, Any]) -> Iterator[FieldProblem]:
    """Schedule and sensor names are unique, and two or more of a kind need names to be told apart."""
    for kind in ("schedule", "sensor"):
        items = _items(data.get(f"{kind}s"))
        seen: set[str] = set()
        for i, item in enumerate(items):
            name = item.get("name")
            if name is None:
                continue
            if name in seen:
                yield FieldProblem((f"{kind}s", i, "name"), f"duplicate {kind} name {name!r}")
            seen.add(name)
        unnamed = sum(1 for item in items if item and item.get("name") is None)
        if unnamed > 1:
            yield FieldProblem(
                (f"{kind}s",),
                f"{plural(unnamed, kind)} without a name: give each a 'name' so they can be told apart",
            )


def _partition_problems(data: dict[str, Any]) -> Iterator[FieldProblem]:
    """A partitioned group has no cron schedule, and a file_arrival sensor has ``partition_pattern``
    exactly when its group is partitioned."""
    partitioned = isinstance(data.get("partitions"), dict)
    if partitioned and _items(data.get("schedules")):
        yield FieldProblem(
            ("schedules",),
            "a partitioned group is scheduled by partitions.schedule (each tick runs the newest partition); "
            "a plain cron schedule would not know which partition to run",
        )
    for i, sensor in enumerate(_items(data.get("sensors"))):
        if sensor.get("type") == "file_arrival" and partitioned and not sensor.get("partition_pattern"):
            yield FieldProblem(
                ("sensors", i),
                "a file_arrival sensor of a partitioned group needs partition_pattern, a regular expression "
                "with (?P<week>YYYY-MM-DD) that finds the week in the file name",
            )
        if sensor.get("type") == "file_arrival" and not partitioned and sensor.get("partition_pattern"):
            yield FieldProblem(
                ("sensors", i, "partition_pattern"), "partition_pattern needs a partitioned group"
            )


def _self_triggers(data: dict[str, Any]) -> Iterator[FieldProblem]:
    """An after_group sensor on the group's own successful runs would launch it forever."""
    for i, sensor in enumerate(_items(data.get("sensors"))):
        if (
            sensor.get("type") == "after_group"
            and sensor.get("group") == data.get("name")
            and sensor.get("status", "completed") == "completed"
        ):
            yield FieldProblem(
                ("sensors", i, "group"),
                f"sensor would launch group {data.get('name')!r} after each of its own successful runs, "
                "forever",
            )
