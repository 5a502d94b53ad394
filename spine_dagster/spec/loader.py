"""Load PipelineGroup files: YAML text -> :class:`LoadedGroup` (spec stage; no dagster).

Both spine-core shapes are accepted:

* nested: ``apiVersion``, ``kind``, ``metadata`` (name, domain, version, description, tags, owners) and
  ``spec`` (defaults, pipelines|steps, policy, schedules, partitions, sensors);
* flat (no ``metadata`` key): the same keys at the top level.

Every problem of a file is reported in one pass, each located at ``path:line:col``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._text import hint
from ..errors import Diagnostic, DuplicateGroupError, InvalidGroupSpecError
from ._errors import FieldProblem, explain_all
from ._yaml import Span, YamlDocument, YamlSyntaxError, parse_yaml
from .models import API_VERSION, KIND, METADATA_KEYS, SPEC_KEYS, PipelineGroupSpec
from .semantics import check_group

GROUP_FILE_SUFFIXES = (".yaml", ".yml")
_KIND = InvalidGroupSpecError.__name__


@dataclass(frozen=True)
class SourceInfo:
    """Where a group came from, and how to find a canonical path in that file."""

    path: str
    doc: YamlDocument | None = None
    nested: bool = False
    steps_key: str = "steps"

    def raw_path(self, path: tuple[str | int, ...]) -> tuple[str | int, ...]:
        """Canonical path (``steps``, ``name``, ...) -> the keys actually written in the file."""
        if not path:
            return ()
        head, rest = path[0], path[1:]
        if head == "steps":
            head = self.steps_key
        if self.nested:
            return ("metadata" if head in METADATA_KEYS else "spec", head, *rest)
        return (head, *rest)

    def span(self, path: tuple[str | int, ...], *, key: bool = False) -> Span | None:
        """Where a canonical path's value (or with ``key`` its key) is in the file; None for DSL groups."""
        if self.doc is None:
            return None
        return self.doc.span_for(self.raw_path(path), key=key)

    def diagnostic(
        self, path: tuple[str | int, ...], message: str, kind: str = _KIND, *, key: bool = False
    ) -> Diagnostic:
        """A diagnostic about a canonical path, pointing into the file where it can."""
        span = self.span(path, key=key)
        if span is None:
            return Diagnostic(message=message, kind=kind, path=self.path)
        return Diagnostic(
            message=message,
            kind=kind,
            path=self.path,
            line=span.line,
            column=span.column,
            end_line=span.end_line,
            end_column=span.end_column,
        )


@dataclass(frozen=True)
class LoadedGroup:
    """A validated group spec and where it came from (``source.path`` is ``""`` for DSL groups)."""

    spec: PipelineGroupSpec
    source: SourceInfo = SourceInfo(path="")

    @property
    def name(self) -> str:
        """The group's name."""
        return self.spec.name


@dataclass
class LoadResult:
    """Every valid group found, and every problem, of one directory or list of files."""

    groups: list[LoadedGroup] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem was found."""
        return not self.diagnostics

    @property
    def bad_files(self) -> list[str]:
        """The files with a problem, sorted."""
        return sorted({d.path for d in self.diagnostics})

    def by_name(self) -> dict[str, LoadedGroup]:
        """The valid groups by name."""
        return {g.name: g for g in self.groups}


def _span_diag(path: str, span: Span, message: str, kind: str = _KIND) -> Diagnostic:
    return Diagnostic(message, kind, path, span.line, span.column, span.end_line, span.end_column)


def _section(
    data: dict[str, Any], allowed: tuple[str, ...], other: dict[str, str], where: str
) -> list[tuple[str, str]]:
    """Unknown keys of one mapping, as (key, message) pairs."""
    problems = []
    for key in data:
        if key in allowed:
            continue
        if key in other:
            problems.append((key, f"key {key!r} belongs under {other[key]}: in the nested shape"))
        else:
            problems.append((key, f"unknown key {key!r} in {where}{hint(key, allowed)}"))
    return problems


def _canonical(
    root: dict[str, Any], source_path: str, doc: YamlDocument
) -> tuple[dict[str, Any], SourceInfo, list[Diagnostic]]:
    """Flatten either shape into the canonical mapping; report keys that have no place in it."""
    diags: list[Diagnostic] = []

    def at(raw: tuple[str | int, ...], message: str, *, key: bool = True) -> None:
        span = doc.span_for(raw, key=key) or Span(1, 1, 1, 1)
        diags.append(_span_diag(source_path, span, message))

    for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
        if root.get(key) and root[key] != expected:  # spine-core checks them only when truthy
            value = root[key]
            if key == "apiVersion":
                message = f"Unsupported apiVersion: {value}. Supported: {API_VERSION}"
            else:
                message = f"Expected kind {KIND!r}, got {value!r}{hint(value, [KIND])}"
            at((key,), message, key=False)

    nested = "metadata" in root
    canonical: dict[str, Any] = {}
    if nested:
        where_spec = {k: "spec" for k in SPEC_KEYS}
        where_meta = {k: "metadata" for k in METADATA_KEYS}
        for key, message in _section(
            root, ("apiVersion", "kind", "metadata", "spec"), {**where_spec, **where_meta}, "the document"
        ):
            at((key,), message)
        metadata, spec = root.get("metadata"), root.get("spec", {})
        if not isinstance(metadata, dict):
            at(
                ("metadata",),
                f"metadata must be a mapping with at least 'name', got {type(metadata).__name__}",
                key=False,
            )
            metadata = {}
        if not isinstance(spec, dict):
            at(("spec",), f"spec must be a mapping, got {type(spec).__name__}", key=False)
            spec = {}
        for key, message in _section(metadata, METADATA_KEYS, where_spec, "metadata"):
            at(("metadata", key), message)
        for key, message in _section(spec, SPEC_KEYS, where_meta, "spec"):
            at(("spec", key), message)
        canonical.update({k: v for k, v in metadata.items() if k in METADATA_KEYS})
        body, prefix = spec, ("spec",)
    else:
        for key, message in _section(
            root, ("apiVersion", "kind", *METADATA_KEYS, *SPEC_KEYS), {}, "the document"
        ):
            if key == "spec":
                message += " (the nested shape needs 'metadata:' with at least 'name')"
            at((key,), message)
        canonical.update({k: v for k, v in root.items() if k in METADATA_KEYS})
        body, prefix = root, ()

    canonical.update({k: v for k, v in body.items() if k in SPEC_KEYS and k not in ("pipelines", "steps")})
    steps_key = "steps" if "steps" in body else "pipelines"
    if "steps" in body and "pipelines" in body:
        # spine-core silently ignored `pipelines` here; we say so instead.
        at((*prefix, "pipelines"), "both 'steps' and 'pipelines' are given: they are the same list, keep one")
    if steps_key in body:
        canonical["steps"] = body[steps_key]
    return canonical, SourceInfo(source_path, doc, nested, steps_key), diags


def _problem_diag(source: SourceInfo, problem: FieldProblem) -> Diagnostic:
    return source.diagnostic(problem.path, problem.message, key=problem.at_key)


def load_group_text(text: str, path: str = "<string>") -> LoadedGroup:
    """Load one group from YAML text; raise :class:`InvalidGroupSpecError` carrying every problem."""
    try:
        doc = parse_yaml(text)
    except YamlSyntaxError as exc:
        diag = _span_diag(path, exc.span, exc.message)
        raise InvalidGroupSpecError(f"Invalid YAML in {path}: {exc.message}", diagnostics=[diag]) from None
    diags = [_span_diag(path, p.span, p.message) for p in doc.problems]
    root = doc.data
    if not isinstance(root, dict):
        got = type(root).__name__
        message = (
            f"Expected dict, got {got}: a group file is a mapping with 'name' and 'steps' (or the nested "
            "'apiVersion/kind/metadata/spec' shape)"
        )
        if root is None:
            message += "; the file is empty"
        diags.append(_span_diag(path, doc.spans.get((), Span(1, 1, 1, 1)), message))
        raise InvalidGroupSpecError(diags[0].message, field="root", diagnostics=diags)

    canonical, source, shape_diags = _canonical(root, path, doc)
    diags.extend(shape_diags)
    spec: PipelineGroupSpec | None = None
    try:
        spec = PipelineGroupSpec.model_validate(canonical)
    except ValidationError as exc:
        for problem in explain_all(exc.errors(), PipelineGroupSpec, source.raw_path, canonical):
            if problem.path == ("name",) and source.nested and not isinstance(root.get("metadata"), dict):
                continue  # already reported: metadata is not a mapping
            diags.append(_problem_diag(source, problem))
    diags.extend(_problem_diag(source, p) for p in check_group(canonical))
    if diags or spec is None:
        diags.sort(key=lambda d: (d.line, d.column))
        raise InvalidGroupSpecError(diags[0].message, diagnostics=diags)
    return LoadedGroup(spec, source)


def load_group_file(path: str | os.PathLike[str]) -> LoadedGroup:
    """Load one group file (``.yaml`` or ``.yml``)."""
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"Group file not found: {file_path}")
    try:
        text = file_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        diag = Diagnostic(f"not UTF-8 text ({exc.reason} at byte {exc.start})", _KIND, str(file_path))
        raise InvalidGroupSpecError(diag.message, diagnostics=[diag]) from None
    return load_group_text(text, str(file_path))


def group_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` under ``directory`` (recursively; hidden files and folders skipped)."""
    root = Path(directory)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.endswith(GROUP_FILE_SUFFIXES) and not name.startswith("."):
                found.append(Path(dirpath) / name)
    return sorted(found)


def load_groups(paths: Iterable[str | os.PathLike[str]]) -> LoadResult:
    """Load every group in the given files and directories; never raise for bad input.

    Group names must be unique across all files: two files defining one name are both reported
    (naming each other) and neither group is loaded, rather than silently picking one.
    """
    result = LoadResult()
    files: list[Path] = []
    for entry in paths:
        entry_path = Path(entry)
        if entry_path.is_dir():
            files.extend(group_files(entry_path))
        elif entry_path.is_file():
            files.append(entry_path)
        else:
            result.diagnostics.append(
                Diagnostic(f"no such file or directory: {entry_path}", _KIND, str(entry_path))
            )
    loaded: list[LoadedGroup] = []
    for file_path in files:
        result.files.append(str(file_path))
        try:
            loaded.append(load_group_file(file_path))
        except InvalidGroupSpecError as exc:
            result.diagnostics.extend(exc.diagnostics)
        except OSError as exc:
            result.diagnostics.append(Diagnostic(f"cannot read file: {exc.strerror}", _KIND, str(file_path)))

    by_name: dict[str, list[LoadedGroup]] = {}
    for group in loaded:
        by_name.setdefault(group.name, []).append(group)
    for name, same in sorted(by_name.items()):
        if len(same) == 1:
            result.groups.append(same[0])
            continue
        for group in same:
            others = ", ".join(o.source.path for o in same if o is not group)
            result.diagnostics.append(
                group.source.diagnostic(
                    ("name",),
                    f"group name {name!r} is also defined in {others}: group names must be unique "
                    "across files (neither is loaded until one is renamed)",
                    DuplicateGroupError.__name__,
                )
            )
    result.diagnostics.sort(key=lambda d: (d.path, d.line, d.column))
    return result
