"""The spine error tree (pure Python: importable from every stage, never imports dagster).

The class names are spine-core's, so code written against spine-core keeps catching the same things::

    SpineError
    ├── GroupError
    │   ├── InvalidGroupSpecError   a file or Python DSL group is malformed (YAML, keys, types, templates)
    │   ├── GroupNotFoundError      no group with that name in the groups dir
    │   ├── DuplicateGroupError     two files define one group name
    │   └── PlanResolutionError     the group is well formed but cannot be planned
    │       ├── StepNotFoundError   a step names a pipeline that is not registered
    │       ├── DependencyError     a step depends on a step that does not exist
    │       ├── CycleDetectedError  the depends_on edges form a cycle (with the path)
    │       └── ParamError          a run parameter is missing, or merged params fail the pipeline's model
    ├── PipelineNotFoundError       registry lookup of an unknown pipeline name
    └── StepRunError                a pipeline failed at run time (retryable unless a subclass says not)
        ├── BadDataError            the data is wrong; retrying cannot help
        └── BadConfigError          the params or environment are wrong; retrying cannot help

Every error carries ``diagnostics``: one :class:`Diagnostic` per problem found, with the file position when
the group came from a file. A check that finds several problems raises once, with all of them, as the class
of the first problem (spine-core's validation order decides which is first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._text import suggestion


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, located in a source file when there is one.

    ``kind`` is the name of the error class that describes the problem (``InvalidGroupSpecError``, ...).
    ``line``/``column`` are 1-based; 0 means "the file as a whole" (or no file at all).
    """

    message: str
    kind: str
    path: str = ""
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0

    def format(self) -> str:
        """``path:line:col: message`` (the form editors and CI problem matchers understand)."""
        where = self.path or "<group>"
        return f"{where}:{self.line}:{self.column}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "kind": self.kind,
        }


class SpineError(Exception):
    """Base class of every error raised by spine_dagster for bad input."""

    def __init__(self, message: str, *, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics) or (
            Diagnostic(message=message, kind=type(self).__name__),
        )


class GroupError(SpineError):
    """Something is wrong with a pipeline group (spine-core's base class for group errors)."""


class InvalidGroupSpecError(GroupError):
    """The group document is malformed: YAML syntax, unknown keys, wrong types, bad templates."""

    def __init__(
        self, message: str, *, field: str | None = None, diagnostics: Sequence[Diagnostic] = ()
    ) -> None:
        super().__init__(message, diagnostics=diagnostics)
        self.field = field


class GroupNotFoundError(GroupError):
    """No group of that name is known."""

    def __init__(self, group_name: str, *, suggestions: Sequence[str] = ()) -> None:
        hint = suggestion(suggestions[0] if suggestions else None)
        super().__init__(f"Pipeline group not found: {group_name}{hint}")
        self.group_name = group_name


class DuplicateGroupError(GroupError):
    """Two group files define the same group name."""


class PlanResolutionError(GroupError):
    """A well-formed group that cannot be turned into a plan."""


class StepNotFoundError(PlanResolutionError):
    """A step references a pipeline that is not registered."""

    def __init__(
        self,
        step_name: str,
        pipeline_name: str,
        *,
        suggestions: Sequence[str] = (),
        diagnostics: Sequence[Diagnostic] = (),
        unavailable: str = "",
    ) -> None:
        hint = suggestion(suggestions[0] if suggestions else None) or (
            " (is the package that provides it installed? `spine pipelines` lists what is registered)"
        )
        message = f"Step '{step_name}' references unknown pipeline: {pipeline_name}{hint}"
        if unavailable:  # the registry knows why it is missing: a plugin failed to load
            message = f"Step '{step_name}': {unavailable}"
        super().__init__(message, diagnostics=diagnostics)
        self.step_name = step_name
        self.pipeline_name = pipeline_name


class DependencyError(PlanResolutionError):
    """A step depends on steps that do not exist in the group."""

    def __init__(
        self, step_name: str, missing_deps: Sequence[str], *, diagnostics: Sequence[Diagnostic] = ()
    ) -> None:
        super().__init__(
            f"Step '{step_name}' depends on unknown steps: {', '.join(missing_deps)}", diagnostics=diagnostics
        )
        self.step_name = step_name
        self.missing_deps = list(missing_deps)


class CycleDetectedError(PlanResolutionError):
    """The ``depends_on`` edges form a cycle; ``cycle`` reads "depends on" from left to right."""

    def __init__(self, cycle: Sequence[str], *, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(f"Cycle detected in dependency graph: {' -> '.join(cycle)}", diagnostics=diagnostics)
        self.cycle = list(cycle)


class ParamError(PlanResolutionError):
    """Run parameters are missing, or a step's merged parameters fail its pipeline's parameter model."""


class PipelineNotFoundError(SpineError):
    """The pipeline registry has no pipeline of that name."""

    def __init__(self, name: str, *, suggestions: Sequence[str] = (), unavailable: str = "") -> None:
        hint = suggestion(suggestions[0] if suggestions else None)
        super().__init__(unavailable or f"Pipeline not found: {name}{hint}")
        self.name = name


class StepRunError(SpineError):
    """A pipeline failed while running. ``retryable`` tells the runtime whether a retry can help.

    Raise :class:`BadDataError` or :class:`BadConfigError` for failures a retry cannot fix (the runtime
    maps them to ``dagster.Failure(allow_retries=False)``); any other exception counts as retryable.
    """

    retryable: bool = True


class BadDataError(StepRunError):
    """The input data is wrong (a blocking quality check failed, a source file is unusable)."""

    retryable = False


class BadConfigError(StepRunError):
    """The step's params or environment are wrong in a way a retry cannot fix."""

    retryable = False
