"""The pipeline registry: an instance (never a module global), so tests and code locations stay apart."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydantic import BaseModel

from .._text import did_you_mean
from ..errors import PipelineNotFoundError
from .base import PIPELINE_NAME, Pipeline


class PipelineRegistry:
    """Registered pipelines by name.

    >>> registry = PipelineRegistry()
    >>> registry.register(Noop)          # a class (instantiated once) or an instance
    >>> registry.get("spine.noop")
    """

    def __init__(self, pipelines: Iterable[Pipeline | type[Pipeline]] = ()) -> None:
        self._by_name: dict[str, Pipeline] = {}
        for pipeline in pipelines:
            self.register(pipeline)

    def register(self, pipeline: Pipeline | type[Pipeline]) -> Pipeline | type[Pipeline]:
        """Add a pipeline; usable as a class decorator. Raises ValueError/TypeError for a bad declaration."""
        instance = pipeline() if isinstance(pipeline, type) else pipeline
        if not isinstance(instance, Pipeline):
            raise TypeError(f"Expected a Pipeline, got {type(instance).__name__}")
        name = getattr(instance, "name", None)
        if not isinstance(name, str) or not PIPELINE_NAME.match(name):
            raise ValueError(f"Pipeline {type(instance).__name__} needs a dotted `name`, got {name!r}")
        if name in self._by_name:
            raise ValueError(f"Pipeline '{name}' is already registered")
        if not (isinstance(instance.Params, type) and issubclass(instance.Params, BaseModel)):
            raise TypeError(f"Pipeline '{name}': Params must be a pydantic model class")
        check_names = [c.name for c in instance.checks]
        if len(set(check_names)) != len(check_names):
            raise ValueError(f"Pipeline '{name}' declares the same check name twice: {check_names}")
        self._by_name[name] = instance
        return pipeline

    def get(self, name: str) -> Pipeline:
        try:
            return self._by_name[name]
        except KeyError:
            best = did_you_mean(name, self._by_name)
            raise PipelineNotFoundError(name, suggestions=[best] if best else []) from None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def suggest(self, name: str) -> str | None:
        return did_you_mean(name, self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Pipeline]:
        return iter(self._by_name[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._by_name)
