"""The template language of parameter values: ``{{ params.NAME }}`` and ``{{ group.name|domain|version }}``.

That is all of it: no expressions, filters, attribute access, environment or code. Anything else between
``{{`` and ``}}`` is rejected when the file is loaded. Rendering is plain substitution (see ``plan/params.py``
for which values a reference sees).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

GROUP_FIELDS = ("name", "domain", "version")
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_REFERENCE = re.compile(r"^\s*(params|group)\.([A-Za-z_][A-Za-z0-9_]*)\s*$")


class TemplateSyntaxError(ValueError):
    """A ``{{ ... }}`` that is not one of the allowed references."""


@dataclass(frozen=True, slots=True)
class Reference:
    namespace: str  # "params" or "group"
    name: str

    def __str__(self) -> str:
        return f"{{{{ {self.namespace}.{self.name} }}}}"


def references(text: str) -> list[Reference]:
    """All references in ``text``; raise :class:`TemplateSyntaxError` for anything not allowed."""
    found: list[Reference] = []
    for match in _TEMPLATE.finditer(text):
        ref = _REFERENCE.match(match.group(1))
        if ref is None:
            inner = match.group(1).strip()
            raise TemplateSyntaxError(
                f"template {{{{ {inner} }}}} is not allowed: only {{{{ params.NAME }}}} and "
                "{{ group.name }}, {{ group.domain }}, {{ group.version }} are supported "
                "(no expressions, filters or environment access)"
            )
        namespace, name = ref.groups()
        if namespace == "group" and name not in GROUP_FIELDS:
            raise TemplateSyntaxError(
                f"template {{{{ group.{name} }}}} is not allowed: the group fields are "
                + ", ".join(GROUP_FIELDS)
            )
        found.append(Reference(namespace, name))
    rest = _TEMPLATE.sub("", text)
    if "{{" in rest:
        raise TemplateSyntaxError("unclosed template: '{{' without a matching '}}'")
    return found


def exact_param(value: Any) -> str | None:
    """``NAME`` when ``value`` is exactly ``{{ params.NAME }}`` (which declares a required run param)."""
    if not isinstance(value, str):
        return None
    match = _TEMPLATE.fullmatch(value.strip())
    if match is None:
        return None
    ref = _REFERENCE.match(match.group(1))
    if ref is None or ref.group(1) != "params":
        return None
    return ref.group(2)


def strings_in(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside a (nested) param value, with its path below the param."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(item, (*path, key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from strings_in(item, (*path, i))


def has_templates(value: Any) -> bool:
    """Whether any string in ``value`` (nested lists and mappings too) holds a ``{{ ... }}`` template."""
    return any("{{" in text for _, text in strings_in(value))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def render(value: Any, lookup: Callable[[Reference], Any]) -> Any:
    """Substitute references in ``value`` (recursively through lists and mappings).

    A string that is exactly one reference takes the referenced value with its type (``6`` stays an int);
    a reference inside a longer string is substituted as text.
    """
    if isinstance(value, str):
        refs = references(value)
        if not refs:
            return value
        match = _TEMPLATE.fullmatch(value.strip())
        if match is not None and len(refs) == 1:
            return lookup(refs[0])
        return _TEMPLATE.sub(lambda m: _as_text(lookup(references(m.group(0))[0])), value)
    if isinstance(value, dict):
        return {key: render(item, lookup) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, lookup) for item in value]
    return value
