"""The pipeline registry: an instance (never a module global), so tests and code locations stay apart."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel

from .._text import did_you_mean, suggestion
from ..errors import PipelineNotFoundError
from .base import PIPELINE_NAME, Pipeline

if TYPE_CHECKING:
    from .discovery import PluginFailure, PluginOrigin


class PipelineRegistry:
    """Registered pipelines by name.

    >>> registry = PipelineRegistry()
    >>> registry.register(Noop)          # a class (instantiated once) or an instance
    >>> registry.get("spine.noop")

    A registry built by :func:`~spine_dagster.pipelines.discovery.discover_pipelines` also knows where each
    pipeline came from (:meth:`origin`) and which plugins failed to load (:attr:`failures`).
    """

    def __init__(self, pipelines: Iterable[Pipeline | type[Pipeline]] = ()) -> None:
        self._by_name: dict[str, Pipeline] = {}
        self._origins: dict[str, PluginOrigin] = {}
        self._failures: list[PluginFailure] = []
        for pipeline in pipelines:
            self.register(pipeline)

    def register(
        self, pipeline: Pipeline | type[Pipeline], *, origin: PluginOrigin | None = None
    ) -> Pipeline | type[Pipeline]:
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
        if origin is not None:
            self._origins[name] = origin
        return pipeline

    def origin(self, name: str) -> PluginOrigin | None:
        """The plugin that registered ``name`` (None when it was registered directly)."""
        return self._origins.get(name)

    def add_failure(self, failure: PluginFailure) -> None:
        self._failures.append(failure)

    @property
    def failures(self) -> tuple[PluginFailure, ...]:
        """The plugins that failed to load, in discovery order."""
        return tuple(self._failures)

    def unavailable(self, name: str) -> str:
        """Why unregistered pipeline ``name`` is missing, when a failed plugin explains it; else "".

        The plugin that was to provide it (by the names it registered, or its entry point's namespace) is
        named. When no failed plugin claims the name but some failed, they are listed as a note.
        """
        if name in self._by_name or not self._failures:
            return ""
        failure = next((f for f in self._failures if f.provides(name)), None)
        if failure is not None:
            return f"pipeline {name!r} is provided by {failure.origin.label}, which failed to load: {failure.reason}"
        labels = "; ".join(f"{f.origin.label}: {f.reason}" for f in self._failures)
        hint = suggestion(did_you_mean(name, self._by_name))
        return f"unknown pipeline {name!r}{hint}; these pipeline plugins failed to load and may provide it: {labels}"

    def get(self, name: str) -> Pipeline:
        try:
            return self._by_name[name]
        except KeyError:
            best = did_you_mean(name, self._by_name)
            unavailable = self.unavailable(name)
            raise PipelineNotFoundError(
                name, suggestions=[best] if best else [], unavailable=unavailable
            ) from None

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
