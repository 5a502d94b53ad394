"""Safe YAML reading with source positions (spec stage; stdlib + PyYAML only).

Why not ``yaml.safe_load``: we need the line and column of every key and value to point errors into the
file, duplicate keys must be errors (PyYAML keeps the last one silently), and two YAML 1.1 resolutions
surprise people writing market-data params:

* ``week_ending: 2026-01-02`` would become a ``datetime.date``; here it stays the string ``"2026-01-02"``
  (a pipeline's pydantic model turns it into a date when it declares one).
* ``symbol: ON`` / ``NO`` / ``yes`` would become booleans; here only ``true``/``false`` (any case) are booleans,
  as in YAML 1.2. pydantic still accepts ``yes``/``on`` for a field declared ``bool``.

Only the standard scalar, sequence and mapping tags are allowed: ``!!python/...`` and custom tags are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]

_ALLOWED_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")
)
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
# YAML 1.2 core schema: no sexagesimal (16:00 -> 960), no leading-zero octal (0123 -> 83), no 0b or `_`.
_YAML12 = {
    _BOOL_TAG: re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    _INT_TAG: re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    _FLOAT_TAG: re.compile(
        # a dot or an exponent is required here: PyYAML tries the float resolver before the int one
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
}
# A hostile file can expand aliases exponentially ("billion laughs"); a group file is never this big.
_MAX_NODES = 200_000


class _SpineLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars: no timestamps, true/false booleans, decimal/0o/0x ints."""


_SpineLoader.yaml_implicit_resolvers = {}
for _first, _resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():
    _SpineLoader.yaml_implicit_resolvers[_first] = [
        (tag, _YAML12.get(tag, regexp)) for tag, regexp in _resolvers if tag != "tag:yaml.org,2002:timestamp"
    ]
# A YAML 1.2 float may start with a digit, a sign or a dot: make sure those first characters are looked up.
for _first in "-+0123456789.":
    entries = _SpineLoader.yaml_implicit_resolvers.setdefault(_first, [])
    for _tag in (_INT_TAG, _FLOAT_TAG):
        if all(tag != _tag for tag, _ in entries):
            entries.append((_tag, _YAML12[_tag]))


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    text = loader.construct_scalar(node)
    assert isinstance(text, str)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


_SpineLoader.add_constructor(_INT_TAG, _construct_int)

# libyaml's C scanner and composer, with our resolvers and constructors: about 4x faster on large
# directories. Errors are re-parsed with the pure-Python loader so messages and positions never change.
_CSpineLoader: type[yaml.SafeLoader] | None = None
if hasattr(yaml, "CSafeLoader"):

    class _CLoader(yaml.CSafeLoader):  # type: ignore[misc, valid-type]
        pass

    _CLoader.yaml_implicit_resolvers = _SpineLoader.yaml_implicit_resolvers
    _CLoader.add_constructor(_INT_TAG, _construct_int)
    _CSpineLoader = _CLoader


@dataclass(frozen=True, slots=True)
class Span:
    """1-based start and end position of a node in the file."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class YamlProblem:
    message: str
    span: Span


@dataclass
class YamlDocument:
    """Plain Python data plus the span of every value (``spans``) and every mapping key (``key_spans``)."""

    data: Any
    spans: dict[Path, Span] = field(default_factory=dict)
    key_spans: dict[Path, Span] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)

    def span_for(self, path: Path, *, key: bool = False) -> Span | None:
        """The span of ``path`` (its key when ``key``), else of its nearest located ancestor."""
        if key and path in self.key_spans:
            return self.key_spans[path]
        for end in range(len(path), -1, -1):
            span = self.spans.get(path[:end])
            if span is not None:
                return span
        return None


class YamlSyntaxError(Exception):
    """The text is not valid YAML (or not exactly one document)."""

    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def _span(node: Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _tag_name(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


class _Builder:
    def __init__(self, loader: _SpineLoader, doc: YamlDocument) -> None:
        self.loader = loader
        self.doc = doc
        self.count = 0
        self.active: set[int] = set()

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise YamlSyntaxError(
                f"document too large (more than {_MAX_NODES} nodes; aliases expanding?)", _span(node)
            )
        self.doc.spans[path] = _span(node)
        if node.tag not in _ALLOWED_TAGS:
            self.doc.problems.append(
                YamlProblem(
                    f"YAML tag {_tag_name(node.tag)} is not allowed (safe YAML only: plain scalars, "
                    "lists and mappings)",
                    _span(node),
                )
            )
            return None
        if id(node) in self.active:
            raise YamlSyntaxError("recursive alias: a node contains itself", _span(node))
        if isinstance(node, ScalarNode):
            return self.loader.construct_object(node, deep=True)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, path: Path) -> dict[Any, Any]:
        explicit = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor`: merged entries come first
        merged = len(node.value) - explicit
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Span] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _ALLOWED_TAGS:
                self.doc.problems.append(YamlProblem("mapping keys must be plain scalars", _span(key_node)))
                continue
            key = self.loader.construct_object(key_node, deep=True)
            key_span = _span(key_node)
            if index >= merged:  # an explicit key: may override a merged one, never another explicit one
                if key in first_seen:
                    prev = first_seen[key]
                    self.doc.problems.append(
                        YamlProblem(
                            f"duplicate key {key!r} (first defined at line {prev.line}); remove one of them",
                            key_span,
                        )
                    )
                    continue
                first_seen[key] = key_span
            self.doc.key_spans[(*path, key)] = key_span
            result[key] = self.build(value_node, (*path, key))
        return result


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document safely, recording spans; raise :class:`YamlSyntaxError` on bad syntax.

    Problems that do not stop parsing (duplicate keys, forbidden tags) are collected in ``problems``.
    """
    if _CSpineLoader is not None and text.isascii():  # libyaml counts columns in bytes: ASCII only
        try:
            doc = _parse_with(_CSpineLoader, text)
        except YamlSyntaxError:
            doc = None
        if doc is not None and not doc.problems:
            return doc
    return _parse_with(_SpineLoader, text)


def _parse_with(loader_class: type[yaml.SafeLoader], text: str) -> YamlDocument:
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
            raise YamlSyntaxError(f"invalid YAML: {problem}", Span(line, col, line, col)) from None
        except yaml.YAMLError as exc:  # e.g. ReaderError for control characters
            raise YamlSyntaxError(f"invalid YAML: {exc}", Span(1, 1, 1, 1)) from None
        except RecursionError:
            raise YamlSyntaxError("invalid YAML: nested too deeply", Span(1, 1, 1, 1)) from None
        doc = YamlDocument(data=None)
        if node is None:
            return doc
        try:
            doc.data = _Builder(loader, doc).build(node, ())
        except RecursionError:
            raise YamlSyntaxError("invalid YAML: nested too deeply", Span(1, 1, 1, 1)) from None
        except yaml.constructor.ConstructorError as exc:
            mark = exc.problem_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            raise YamlSyntaxError(f"invalid YAML value: {exc.problem}", Span(line, col, line, col)) from None
        return doc
    finally:
        loader.dispose()


def parse_scalar(text: str) -> Any:
    """Parse a command-line value as a YAML scalar/flow value (``true`` -> bool, ``6`` -> int, dates stay str)."""
    doc = parse_yaml(text)
    if doc.problems:
        raise YamlSyntaxError(doc.problems[0].message, doc.problems[0].span)
    return "" if doc.data is None and text.strip() == "" else doc.data
