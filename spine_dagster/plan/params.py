"""Parameter merge and template resolution, with provenance (plan stage; pure Python).

Merge (spine-core, shallow): group ``defaults`` < run params < step ``params``.

Templates (``{{ params.NAME }}``, ``{{ group.name|domain|version }}``), resolved per step:

* A value that is exactly ``{{ params.NAME }}`` declares NAME a **required run param** (unless the group
  defaults give NAME a plain value); planning without it fails and names every missing one (spine-core
  passed the literal string through).
* ``{{ params.NAME }}`` sees NAME's merged value for that step. Inside the value of NAME itself (for
  example the default ``week_ending: "{{ params.week_ending }}"``) it sees the layer below: the run
  params for a default, the run params or defaults for a step param.
* A whole-value reference keeps the type (``6`` stays an int); inside a longer string it becomes text.
* Run params are data, never templates. References that loop are an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .._text import hint
from ..spec.models import PipelineGroupSpec, StepSpec
from ..spec.templates import Reference, exact_param, has_templates, render, strings_in

Layer = Literal["default", "run", "step"]
LAYERS: tuple[Layer, ...] = ("default", "run", "step")


class _Unresolved:
    """Stands for a value that needs a run param that was not given (``spine validate`` plans without any)."""

    _instance: _Unresolved | None = None

    def __new__(cls) -> _Unresolved:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<needs run params>"


UNRESOLVED: Any = _Unresolved()


@dataclass(frozen=True, slots=True)
class ParamSource:
    """Where a step's final param value came from.

    ``layer`` is ``default``, ``run`` or ``step``, or ``template`` when the value was rendered from a
    template; ``origin`` is then the layer holding the template and ``expression`` its text.
    """

    layer: Literal["default", "run", "step", "template"]
    origin: Layer
    expression: str | None = None

    def describe(self) -> str:
        if self.layer != "template":
            return {"default": "group defaults", "run": "run params", "step": "step params"}[self.layer]
        where = {"default": "group default", "run": "run param", "step": "step param"}[self.origin]
        return f"template in {where}: {self.expression}"


class ParamResolutionError(ValueError):
    """A template cannot be resolved; ``path`` is the canonical path of the value that holds it."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


def _walk_values(spec: PipelineGroupSpec) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    for key, value in spec.defaults.items():
        yield ("defaults", key), value
    for i, step in enumerate(spec.steps):
        for key, value in step.params.items():
            yield ("steps", i, "params", key), value


def required_params(spec: PipelineGroupSpec) -> dict[str, tuple[str | int, ...]]:
    """Required run params -> where each is first declared.

    A whole-value ``{{ params.NAME }}`` declares NAME required, unless the defaults give NAME a plain
    (template-free) value to fall back on.
    """
    found: dict[str, tuple[str | int, ...]] = {}
    for path, value in _walk_values(spec):
        for sub, text in strings_in(value):
            name = exact_param(text)
            if name is None or name in found:
                continue
            if name in spec.defaults and not has_templates(spec.defaults[name]):
                continue
            found[name] = (*path, *sub)
    return found


class _StepResolver:
    def __init__(
        self,
        spec: PipelineGroupSpec,
        step: StepSpec,
        step_index: int,
        run_params: Mapping[str, Any],
        partial: bool,
        expected: frozenset[str],
    ) -> None:
        self.spec = spec
        self.step_index = step_index
        self.partial = partial
        self.expected = expected
        self.layers: dict[Layer, Mapping[str, Any]] = {
            "default": spec.defaults,
            "run": run_params,
            "step": step.params,
        }
        self.cache: dict[tuple[str, int], Any] = {}
        self.stack: list[tuple[str, int]] = []

    def path_of(self, name: str, layer: Layer) -> tuple[str | int, ...]:
        if layer == "default":
            return ("defaults", name)
        if layer == "step":
            return ("steps", self.step_index, "params", name)
        return ()

    def find(self, name: str, top: int) -> tuple[int, Any] | None:
        """The highest layer at or below ``top`` that sets ``name``."""
        for index in range(top, -1, -1):
            layer = self.layers[LAYERS[index]]
            if name in layer:
                return index, layer[name]
        return None

    def value(self, name: str, top: int = 2, *, referrer: tuple[str | int, ...] = ()) -> Any:
        found = self.find(name, top)
        if found is None:
            if self.partial and name in self.expected:
                return UNRESOLVED
            known = sorted(
                {k for layer in self.layers.values() for k in layer} - ({name} if top < 2 else set())
            )
            below = " below its own layer" if top < 2 else ""
            raise ParamResolutionError(
                f"{{{{ params.{name} }}}} refers to a param that is not set{below}: pass it as a run "
                f"param (--param {name}=...) or add it to the group defaults{hint(name, known)}",
                referrer,
            )
        index, raw = found
        if LAYERS[index] == "run":
            return raw
        key = (name, index)
        if key in self.cache:
            return self.cache[key]
        if key in self.stack:
            loop = " -> ".join(f"params.{n}" for n, _ in [*self.stack[self.stack.index(key) :], key])
            raise ParamResolutionError(f"templates refer to each other in a loop: {loop}", referrer)
        self.stack.append(key)
        try:
            rendered = self.render(raw, name, index)
        finally:
            self.stack.pop()
        self.cache[key] = rendered
        return rendered

    def render(self, raw: Any, name: str, index: int) -> Any:
        path = self.path_of(name, LAYERS[index])

        def lookup(ref: Reference) -> Any:
            if ref.namespace == "group":
                return getattr(self.spec, ref.name)
            if ref.name == name:  # a value referring to its own name sees the layer below
                return self.value(name, index - 1, referrer=path)
            return self.value(ref.name, referrer=path)

        rendered = render(raw, lookup)
        if _contains_unresolved(rendered):
            return UNRESOLVED
        return rendered


def _contains_unresolved(value: Any) -> bool:
    if value is UNRESOLVED:
        return True
    if isinstance(value, dict):
        return any(_contains_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unresolved(v) for v in value)
    return isinstance(value, str) and repr(UNRESOLVED) in value


def resolve_step_params(
    spec: PipelineGroupSpec,
    step_index: int,
    run_params: Mapping[str, Any],
    *,
    partial: bool = False,
    expected: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], dict[str, ParamSource]]:
    """Final params of one step and where each came from.

    With ``partial`` (not all run params known yet), values that need one of the ``expected`` run params
    (required ones, or those a partition fills) become :data:`UNRESOLVED` instead of raising; a
    reference to any other missing name is still an error (a typo).
    """
    step = spec.steps[step_index]
    resolver = _StepResolver(spec, step, step_index, run_params, partial, expected)
    params: dict[str, Any] = {}
    sources: dict[str, ParamSource] = {}
    names = dict.fromkeys([*spec.defaults, *run_params, *step.params])
    for name in names:
        index, raw = resolver.find(name, 2)  # type: ignore[misc]  # every name is set somewhere
        origin = LAYERS[index]
        params[name] = resolver.value(name)
        templated = origin != "run" and any("{{" in text for _, text in strings_in(raw))
        expression = (raw if isinstance(raw, str) else repr(raw)) if templated else None
        sources[name] = ParamSource("template" if templated else origin, origin, expression)
    return params, sources
