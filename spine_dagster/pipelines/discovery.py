"""Pipeline discovery: every path builds its registry here, from plugins (no dagster import).

Two sources, in this order (the order decides which of two plugins naming the same pipeline wins):

1. installed packages' entry points in the group ``spine_dagster.pipelines`` (this package's own first, then
   by distribution and entry point name). An entry point names a :class:`Pipeline` subclass or a
   ``register(registry)`` callable. Its *name* is the namespace of the pipelines it provides, and it may
   provide no other: ``acme.prices`` provides ``acme.prices`` and ``acme.prices.*``. So another package
   cannot take over a name by sorting first, and a group can be told which plugin was meant to provide a
   pipeline even when that plugin failed to import;
2. the modules listed in ``SPINE_PIPELINE_MODULES`` (comma-separated, importable from the working directory
   or ``PYTHONPATH``): ``register(registry)`` if the module has one, else every named :class:`Pipeline`
   subclass it defines.

A plugin loads entirely or not at all: it registers into a registry of its own, merged into the result only
when every registration succeeded. One that fails to import, raises, registers a bad name or params model,
or a name another plugin already provides, becomes a :class:`PluginFailure` (entry point or module,
distribution, the error and its file:line); every other plugin still loads. The framework's own utility
pipelines and domains register through this same mechanism (``pyproject.toml``), so no framework module
names a domain.

Discovery reads package metadata and imports only each registering module; a plugin should keep heavy
imports (pandas, drivers) inside ``Pipeline.run`` so the code location, which Dagster re-imports in every
run and step process, stays fast.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Literal

from ..errors import Diagnostic
from .base import PIPELINE_NAME, Pipeline
from .registry import PipelineRegistry

ENTRY_POINT_GROUP = "spine_dagster.pipelines"
OWN_DISTRIBUTION = "spine-dagster"
MODULES_SETTING = "SPINE_PIPELINE_MODULES"  # read by spine_dagster.settings


@dataclass(frozen=True)
class PluginOrigin:
    """Where pipelines came from: an entry point (of a distribution) or a ``SPINE_PIPELINE_MODULES`` module."""

    kind: Literal["entry point", "module"]
    name: str  # the entry point's name, or the module's name
    target: str  # what it loads: "package.module:attr", or the module name
    distribution: str = ""  # "name version" of the distribution that declares the entry point

    @property
    def label(self) -> str:
        """``entry point 'acme.prices' (acme-pipelines 1.2.0)`` / ``module 'team_pipes' (SPINE_PIPELINE_MODULES)``."""
        if self.kind == "module":
            return f"module {self.name!r} ({MODULES_SETTING})"
        where = f" ({self.distribution})" if self.distribution else ""
        return f"entry point {self.name!r}{where}"

    def provides(self, pipeline_name: str) -> bool:
        """Whether ``pipeline_name`` lies in this entry point's namespace (its name)."""
        if self.kind != "entry point" or not PIPELINE_NAME.match(self.name):
            return False
        return pipeline_name == self.name or pipeline_name.startswith(self.name + ".")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that did not load: why, and where in its code (``path``/``line`` of the error)."""

    origin: PluginOrigin
    reason: str  # "ModuleNotFoundError: No module named 'requests'"
    path: str = ""
    line: int = 0
    pipelines: frozenset[str] = frozenset()  # names it registered (or tried to) before it failed

    def provides(self, pipeline_name: str) -> bool:
        return pipeline_name in self.pipelines or self.origin.provides(pipeline_name)

    @property
    def message(self) -> str:
        return f"pipeline plugin {self.origin.label} failed to load ({self.origin.target}): {self.reason}"

    def diagnostic(self) -> Diagnostic:
        """The problem as the CLI and the UI report it: at the error's file and line."""
        return Diagnostic(self.message, "PluginLoadError", self.path, self.line)


@dataclass
class _Plugin:
    origin: PluginOrigin
    load: Callable[[], object]  # the entry point's object, or the imported module


def discover_pipelines(modules: Sequence[str] = ()) -> PipelineRegistry:
    """A fresh registry of every installed plugin's pipelines plus those of ``modules``.

    Failures are kept on the registry (:attr:`PipelineRegistry.failures`), never raised.
    """
    registry = PipelineRegistry()
    plugins = [*_entry_point_plugins(), *(_module_plugin(m) for m in modules)]
    if not any(p.origin.distribution.startswith(OWN_DISTRIBUTION + " ") for p in plugins):
        registry.add_failure(_not_installed())
    for plugin in plugins:
        _load_into(registry, plugin)
    return registry


def _entry_point_plugins() -> list[_Plugin]:
    found = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        distribution = f"{dist.name} {dist.version}" if dist is not None else ""
        origin = PluginOrigin("entry point", entry_point.name, entry_point.value, distribution)
        found.append(_Plugin(origin, entry_point.load))
    own = OWN_DISTRIBUTION + " "
    found.sort(
        key=lambda p: (not p.origin.distribution.startswith(own), p.origin.distribution, p.origin.name)
    )
    return found


def _module_plugin(module_name: str) -> _Plugin:
    def load() -> object:
        # The documented promise is "importable from the working directory": a console script's sys.path
        # starts at its own bin directory instead, so the working directory is added (last, shadowing nothing).
        cwd = os.getcwd()
        if cwd not in sys.path and "" not in sys.path:
            sys.path.append(cwd)
        return importlib.import_module(module_name)

    return _Plugin(PluginOrigin("module", module_name, module_name), load)


class _Located(Exception):
    """A plugin's declaration error, located in the plugin's code (not in spine's frames)."""

    def __init__(self, error: Exception, where: tuple[str, int]) -> None:
        super().__init__(str(error))
        self.kind = type(error).__name__
        self.path, self.line = where


def _source_of(cls: type) -> tuple[str, int]:
    try:
        return inspect.getsourcefile(cls) or "", inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):  # a class made at run time has no source
        return "", 0


class _StagingRegistry(PipelineRegistry):
    """The registry one plugin registers into; remembers where in the plugin's code each name was registered."""

    def __init__(self) -> None:
        super().__init__()
        self.sites: dict[str, tuple[str, int]] = {}

    def register(
        self, pipeline: Pipeline | type[Pipeline], *, origin: PluginOrigin | None = None
    ) -> Pipeline | type[Pipeline]:
        cls = pipeline if isinstance(pipeline, type) else type(pipeline)
        caller = sys._getframe(1)  # the plugin's `registry.register(...)` line, or ours
        site = (caller.f_code.co_filename, caller.f_lineno)
        if site[0] in _OWN_FILES:
            site = _source_of(cls)
        try:
            super().register(pipeline, origin=origin)
        except (TypeError, ValueError) as exc:
            raise _Located(exc, site) from exc
        self.sites[getattr(pipeline, "name", "")] = site
        return pipeline


def _load_into(registry: PipelineRegistry, plugin: _Plugin) -> None:
    """Load one plugin into a registry of its own, then merge it, or record why it failed."""
    staged = _StagingRegistry()
    try:
        _register(staged, plugin.load())
        for name in staged.names():
            where = staged.sites[name]
            if plugin.origin.kind == "entry point" and not plugin.origin.provides(name):
                raise _Located(
                    ValueError(
                        f"pipeline {name!r} is outside the namespace of entry point {plugin.origin.name!r}: "
                        f"an entry point provides only pipelines named {plugin.origin.name!r} or "
                        f"{plugin.origin.name}.<name> (rename the pipeline or the entry point)"
                    ),
                    where,
                )
            if name in registry:
                owner = registry.origin(name)
                by = f" by {owner.label}" if owner else ""
                raise _Located(ValueError(f"pipeline {name!r} is already provided{by}"), where)
    except Exception as exc:  # a plugin's own code may raise anything; it must not stop the others
        registry.add_failure(_failure(plugin.origin, exc, staged.names()))
        return
    for pipeline in staged:
        registry.register(pipeline, origin=plugin.origin)


def _register(staged: _StagingRegistry, loaded: object) -> None:
    if isinstance(loaded, ModuleType):
        register = getattr(loaded, "register", None)
        if callable(register):
            register(staged)
            return
        defined = [
            cls
            for _, cls in inspect.getmembers(loaded, inspect.isclass)
            if issubclass(cls, Pipeline) and cls.__module__ == loaded.__name__ and "name" in vars(cls)
        ]
        if not defined:
            raise ValueError("the module has no register(registry) function and defines no named Pipeline")
        for cls in defined:
            staged.register(cls)
    elif isinstance(loaded, Pipeline) or (isinstance(loaded, type) and issubclass(loaded, Pipeline)):
        staged.register(loaded)
    elif callable(loaded):
        loaded(staged)
    else:
        raise TypeError(
            f"it names a {type(loaded).__name__}, expected a Pipeline subclass or a register(registry) function"
        )


def _failure(origin: PluginOrigin, exc: BaseException, staged: Iterable[str]) -> PluginFailure:
    if isinstance(exc, _Located):
        return PluginFailure(origin, f"{exc.kind}: {exc}", exc.path, exc.line, frozenset(staged))
    path, line = _where(exc)
    reason = f"{type(exc).__name__}: {exc}"
    return PluginFailure(origin, reason, path, line, frozenset(staged))


_OWN_FILES = frozenset({__file__, str(Path(__file__).with_name("registry.py"))})


def _where(exc: BaseException) -> tuple[str, int]:
    """The file and line in the plugin's code where ``exc`` arose (not in importlib or in this module)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno or 0
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename not in _OWN_FILES and not frame.filename.startswith("<frozen")
    ]
    if not frames:
        return "", 0
    return frames[-1].filename, frames[-1].lineno or 0


def _not_installed() -> PluginFailure:
    origin = PluginOrigin("entry point", "*", ENTRY_POINT_GROUP, OWN_DISTRIBUTION)
    return PluginFailure(
        origin,
        f"{OWN_DISTRIBUTION}'s own entry points are missing, so its pipelines are not registered: "
        "install the package (`pip install -e .` in a checkout) rather than running it from the source tree",
    )


__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginFailure",
    "PluginOrigin",
    "discover_pipelines",
]
