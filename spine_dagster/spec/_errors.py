"""Turn pydantic validation errors into messages for people, with did-you-mean hints (spec stage)."""

from __future__ import annotations

import re
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
    union_path: Path | None = None  # set when the error is about one branch of a union
    branch: str | None = None


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> tuple[Any, ...]:
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(_unwrap(a) for a in typing.get_args(annotation))
    return (annotation,)


def _branch_name(member: Any) -> str:
    origin = typing.get_origin(member) or member
    return getattr(origin, "__name__", str(origin))


def _walk(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[Path, Any, Path | None, str | None]:
    """Follow a pydantic ``loc`` through the model annotations.

    Returns the data path (union branch names removed), the annotation found at the end of it, and, when
    the loc went through one branch of a plain union, the data path of that union and the branch name.
    """
    data_path: list[str | int] = []
    annotation: Any = model
    union_path: Path | None = None
    branch: str | None = None
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
        if len(members) > 1 and len(models) <= 1 and isinstance(part, str):
            # a plain union: pydantic names the branch (`int`, `dict[str,str]`, `StepSpec`, ...)
            chosen = next((m for m in members if part.split("[")[0] == _branch_name(m)), None)
            if chosen is not None:
                union_path, branch = tuple(data_path), part
                annotation = chosen
                i += 1
                continue
        field = _field_named(models[0], part) if len(models) == 1 and isinstance(part, str) else None
        if field is not None:
            annotation = field.annotation
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
        # Something we do not model (an Any value): keep the rest as data path.
        data_path.extend(p for p in loc[i:] if not (isinstance(p, str) and p.startswith(("function-", "["))))
        return tuple(data_path), None, union_path, branch
    return tuple(data_path), annotation, union_path, branch


def _field_named(model: type[BaseModel], name: str) -> Any:
    """The field called ``name``, or accepted under ``name`` as a ``validation_alias`` (None otherwise)."""
    if name in model.model_fields:
        return model.model_fields[name]
    for info in model.model_fields.values():
        alias = info.validation_alias
        choices = getattr(alias, "choices", [alias])
        if name in choices:
            return info
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _field_names(annotation: Any) -> list[str]:
    """The keys a model accepts, as written in a file (a field's alias when it has one: ``from``)."""
    model = _model_of(annotation)
    if model is None:
        return []
    return [
        info.validation_alias if isinstance(info.validation_alias, str) else name
        for name, info in model.model_fields.items()
    ]


def _unknown_key_help(key: object, annotation: Any, allowed: list[str]) -> str:
    """What to write instead of an unknown key: a secret's ``*_env`` key, the closest key, or the model's
    own note (``unknown_key_note``)."""
    if isinstance(key, str) and f"{key}_env" in allowed:
        return f": secrets come only from the environment, write {key}_env: VARIABLE_NAME"
    suggested = hint(key, allowed)
    if suggested:
        return suggested
    model = _model_of(annotation)
    note = getattr(model, "unknown_key_note", "") if model is not None else ""
    return f": {note}" if note else ""


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
        parent_path, parent_ann, _, _ = _walk(model, loc[:-1])
        key = loc[-1]
        path = (*parent_path, key)
        allowed = _field_names(parent_ann)
        help_ = _unknown_key_help(key, parent_ann, allowed)
        return FieldProblem(path, f"unknown key {key!r} in {dotted(rename(parent_path))}{help_}", at_key=True)
    path, annotation, union_path, branch = _walk(model, loc)
    problem = _explain(error, kind, loc, path, annotation, rename)
    if branch is not None:
        return FieldProblem(problem.path, problem.message, problem.at_key, union_path, branch)
    return problem


_EXPECTED = {
    "int": "an integer",
    "str": "a string",
    "float": "a number",
    "bool": "true or false",
    "dict": "a mapping",
    "tuple": "a list",
    "list": "a list",
}


def _wanted(branch: str) -> str:
    base = branch.split("[")[0]
    return _EXPECTED.get(base, "a mapping")


def explain_all(
    errors: list[ErrorDetails], model: type[BaseModel], rename: typing.Callable[[Path], Path], data: Any
) -> list[FieldProblem]:
    """All errors of one validation, with the noise of unions removed.

    When a value fails every branch of a union, only the branch matching the value's shape is reported
    (a mapping given for ``tags`` is checked as a mapping); if none matches, one message says what was
    expected.
    """
    problems = [explain(e, model, rename) for e in errors]
    plain = [p for p in problems if p.branch is None]
    by_union: dict[Path, list[FieldProblem]] = {}
    for problem in problems:
        if problem.branch is not None and problem.union_path is not None:
            by_union.setdefault(problem.union_path, []).append(problem)
    for union_path, group in by_union.items():
        value = data
        for part in union_path:
            value = value[part] if isinstance(value, dict | list) else None
        shape = "dict" if isinstance(value, dict) else ("tuple" if isinstance(value, list | tuple) else None)
        matching = [p for p in group if shape is not None and _wanted(p.branch or "") == _wanted(shape)]
        if matching:
            plain.extend(matching)
            continue
        wanted = sorted({_wanted(p.branch or "") for p in group})
        plain.append(
            FieldProblem(
                union_path,
                f"{dotted(rename(union_path))} should be {' or '.join(wanted)}, got {_describe(value)}",
            )
        )
    return plain


def _explain(
    error: ErrorDetails,
    kind: str,
    loc: tuple[str | int, ...],
    path: Path,
    annotation: Any,
    rename: typing.Callable[[Path], Path],
) -> FieldProblem:
    where = dotted(rename(path))
    value = error.get("input")
    if kind == "missing":
        # Point at the key's parent mapping; say where the key belongs in the file's own terms.
        return FieldProblem(path, f"missing required key {path[-1]!r} in {dotted(rename(path)[:-1])}")
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
        last = next((p for p in reversed(path) if isinstance(p, str)), "")
        if last in _NOT_NAMES:
            return FieldProblem(path, f"{where}: {value!r} is not {_NOT_NAMES[last]}")
        return FieldProblem(
            path,
            f"{where}: {value!r} is not a valid name here ({_pattern_help(path)})",
            at_key=loc[-1] == "[key]",
        )
    message = re.sub(r"^(Input|String|Value|List|Tuple|Dictionary) should", "should", error["msg"])
    message = re.sub(r"should be a valid dictionary or instance of \w+", "should be a mapping", message)
    message = message.replace("should be a valid tuple", "should be a list")
    message = message.replace("should be a valid dictionary", "should be a mapping")
    if message.startswith("Input"):
        message = message[len("Input") :].strip()
    return FieldProblem(path, f"{where} {message}, got {_describe(value)}")


# Pattern-checked values that are not names: what each must be.
_NOT_NAMES = {
    "to": "an email address",
    "from": "an email address",
    "channel": "a Slack channel name such as '#market-data' or a channel ID such as 'C0123456789'",
    "smtp_host": "a host name or IP address",
}


def _pattern_help(path: Path) -> str:
    if "values" in path:
        return "letters, digits, '_', '.', '-'"
    if "tags" in path:
        return "tag keys: letters, digits, '_', '.', '-', at most 63 characters, optionally with a 'prefix/'"
    last = next((p for p in reversed(path) if isinstance(p, str)), "")
    if last in ("name", "depends_on", "group"):
        return "letters, digits, '_', '.', '-'; not starting with '.' or '-'"
    if last == "pipeline":
        return "a registered pipeline name such as 'spine.noop'"
    if last == "owners":
        return "an email address or 'team:name'"
    if last == "pool":
        return "letters, digits, '_', '.', '-', '/'"
    if last.endswith("_env"):
        return "an environment variable name: letters, digits and '_', not starting with a digit"
    return "parameter and trigger names are identifiers: letters, digits and '_', not starting with a digit"
