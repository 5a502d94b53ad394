"""Turn pydantic validation errors into messages for people, with did-you-mean hints (spec stage)."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from .._text import hint

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One validation problem at a data path (no pydantic union-branch names in it)."""

    path: Path
    message: str
    at_key: bool = False


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> tuple[Any, ...]:
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(_unwrap(a) for a in typing.get_args(annotation))
    return (annotation,)


def _walk(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[Path, Any]:
    """Follow a pydantic ``loc`` through the model annotations.

    Returns the data path (union tags removed) and the annotation found at the end of it.
    """
    data_path: list[str | int] = []
    annotation: Any = model
    i = 0
    while i < len(loc):
        part = loc[i]
        members = [m for m in _members(annotation) if m is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(models) > 1:  # a discriminated union: the next loc item is the tag
            tagged = {
                typing.get_args(_unwrap(m.model_fields["type"].annotation))[0]: m
                for m in models
                if "type" in m.model_fields
            }
            if part in tagged:
                annotation = tagged[part]
                i += 1
                continue
        if len(models) == 1 and isinstance(part, str) and part in models[0].model_fields:
            annotation = models[0].model_fields[part].annotation
            data_path.append(part)
            i += 1
            continue
        containers = [m for m in members if typing.get_origin(m) in (tuple, list, dict)]
        if containers:
            container = containers[0]
            args = typing.get_args(container)
            annotation = args[-1] if typing.get_origin(container) is dict else args[0]
            data_path.append(part)
            i += 1
            continue
        # Something we do not model (an Any value, a union branch name): keep the rest as data path.
        data_path.extend(p for p in loc[i:] if not (isinstance(p, str) and p.startswith(("function-", "["))))
        return tuple(data_path), None
    return tuple(data_path), annotation


def _field_names(annotation: Any) -> list[str]:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return list(member.model_fields)
    return []


def _literal_values(annotation: Any) -> list[str]:
    for member in _members(annotation):
        if typing.get_origin(member) is typing.Literal:
            return [str(v) for v in typing.get_args(member)]
    return []


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def explain(
    error: ErrorDetails, model: type[BaseModel], rename: typing.Callable[[Path], Path]
) -> FieldProblem:
    """One pydantic error as a :class:`FieldProblem`; ``rename`` maps canonical paths to what the file says."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent_path, parent_ann = _walk(model, loc[:-1])
        key = loc[-1]
        path = (*parent_path, key)
        allowed = _field_names(parent_ann)
        return FieldProblem(
            path, f"unknown key {key!r} in {dotted(rename(parent_path))}{hint(key, allowed)}", at_key=True
        )
    path, annotation = _walk(model, loc)
    where = dotted(rename(path))
    value = error.get("input")
    if kind == "missing":
        return FieldProblem(path[:-1], f"missing required key {path[-1]!r} in {dotted(rename(path[:-1]))}")
    if kind == "literal_error":
        allowed = _literal_values(annotation)
        return FieldProblem(
            path,
            f"invalid value {value!r} for {where}: expected one of "
            + ", ".join(repr(a) for a in allowed)
            + hint(value, allowed),
        )
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        return FieldProblem(
            (*path, "type"),
            f"unknown type {ctx.get('tag')!r} for {where}: expected one of {', '.join(map(repr, tags))}"
            + hint(ctx.get("tag"), tags),
        )
    if kind == "union_tag_not_found":
        return FieldProblem(path, f"{where} needs a 'type' key")
    if kind in ("value_error", "assertion_error"):
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return FieldProblem(path, f"{where}: {message}")
    if kind == "string_pattern_mismatch":
        return FieldProblem(
            path,
            f"{where}: {value!r} is not a valid name here ({_pattern_help(path)})",
            at_key=loc[-1] == "[key]",
        )
    message = error["msg"].replace("Input should be", "should be")
    if message.startswith("Input"):
        message = message[len("Input") :].strip()
    return FieldProblem(path, f"{where} {message}, got {_describe(value)}")


def _pattern_help(path: Path) -> str:
    last = next((p for p in reversed(path) if isinstance(p, str)), "")
    if last in ("name", "depends_on", "group"):
        return "letters, digits, '_', '.', '-'; not starting with '.' or '-'"
    if last == "pipeline":
        return "a registered pipeline name such as 'spine.noop'"
    if last == "owners":
        return "an email address or 'team:name'"
    if last == "pool":
        return "letters, digits, '_', '.', '-', '/'"
    return "parameter and trigger names are identifiers: letters, digits and '_', not starting with a digit"
