"""The contract a step runs: :class:`Pipeline`, its params model, checks and result (no dagster).

A pipeline is a small class. Its name is what group files reference; ``Params`` is the pydantic model
every step's merged params are validated against when the group is planned (before anything runs)::

    class Greet(Pipeline):
        name = "demo.greet"
        description = "Say hello."

        class Params(PipelineParams):
            who: str = "world"

        def run(self, ctx: StepContext, params: Greet.Params) -> StepResult:
            ctx.log.info("hello %s", params.who)
            return StepResult(metrics={"greeted": params.who})
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, ValidationInfo

if TYPE_CHECKING:
    from .context import CheckContext, StepContext

PIPELINE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")


class PipelineParams(BaseModel):
    """Base of pipeline params models: frozen, and unknown params are errors (typos fail at plan time)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


PENDING_CONTEXT = "spine_pending"


def pending_params(info: ValidationInfo) -> frozenset[str]:
    """Params that are given but whose value is not known yet, for a ``model_validator`` of a params model.

    When a group is validated without run params (``spine validate``, the Dagster definitions), a value
    that a ``{{ params.X }}`` template or a partition key will supply is left out of the data being
    validated. A rule across params must treat such a param as *given*: for example "give week_ending or
    week_start" holds when ``week_ending`` is pending. When the run params are known (``spine plan``,
    ``spine run``, each step) nothing is pending and every rule sees every value::

        @model_validator(mode="after")
        def _one_week(self, info: ValidationInfo) -> Self:
            pending = pending_params(info)
            if self.week_ending is None and "week_ending" not in pending:
                raise ValueError("give week_ending")
            return self
    """
    context = info.context if isinstance(info.context, dict) else {}
    return frozenset(context.get(PENDING_CONTEXT, ()))


class NoParams(PipelineParams):
    """A pipeline that takes no params."""


@dataclass(frozen=True)
class CheckOutcome:
    """The result of evaluating one quality check."""

    passed: bool
    message: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityCheck:
    """A data-quality check a pipeline declares on a table it writes.

    ``evaluate`` receives a :class:`~spine_dagster.pipelines.context.CheckContext`: the warehouse and the
    scope to look at (the data a step just wrote, or the whole table when the check runs alone) and returns
    a :class:`CheckOutcome`. ``severity``/``blocking`` are defaults a group step may override. The
    ``description`` is shown on the asset check in the UI: say what it checks in each scope.
    """

    name: str
    table: str
    description: str
    evaluate: Callable[[CheckContext], CheckOutcome]
    severity: Literal["warn", "error"] = "error"
    blocking: bool = False


@dataclass(frozen=True)
class StepResult:
    """What a pipeline reports back: rows written per table (one materialization each), metrics, a message."""

    rows_written: Mapping[str, int] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    previews: Mapping[str, str] = field(default_factory=dict)  # table -> a small markdown table


class Pipeline(ABC):
    """A registered unit of work that a group step runs.

    Class attributes describe it (the registry and the Dagster definitions read them without running it):

    * ``name``: the registry name group files use, e.g. ``finra.otc_transparency.ingest_week``;
    * ``description``: one line for people;
    * ``Params``: a :class:`PipelineParams` subclass; merged step params are validated against it;
    * ``reads`` / ``writes``: warehouse tables (``schema.table``), used for asset lineage;
    * ``table_descriptions``: what each table it writes holds (the asset's description in the UI);
    * ``checks``: the :class:`QualityCheck`s evaluated after the pipeline writes its tables.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[PipelineParams]] = NoParams
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    table_descriptions: ClassVar[Mapping[str, str]] = {}
    checks: ClassVar[tuple[QualityCheck, ...]] = ()

    @abstractmethod
    def run(self, ctx: StepContext, params: Any) -> StepResult:
        """Do the work for one step; raise :class:`~spine_dagster.errors.StepRunError` subclasses on failure."""

    @classmethod
    def param_names(cls) -> list[str]:
        return list(cls.Params.model_fields)

    @classmethod
    def param_aliases(cls) -> dict[str, str]:
        """Other names a param is accepted under (alias -> param), from the params model's
        ``validation_alias=AliasChoices(...)``. Example: FINRA ingest takes spine-core's ``file_path`` for
        ``source_path``."""
        aliases: dict[str, str] = {}
        for name, info in cls.Params.model_fields.items():
            alias = info.validation_alias
            choices = alias.choices if isinstance(alias, AliasChoices) else [alias] if alias else []
            aliases.update({c: name for c in choices if isinstance(c, str) and c != name})
        return aliases

    @classmethod
    def accepted_param_names(cls) -> list[str]:
        """Every name a group file may use for this pipeline's params: the params and their aliases."""
        return [*cls.param_names(), *cls.param_aliases()]

    @classmethod
    def accepts_any_param(cls) -> bool:
        return cls.Params.model_config.get("extra") == "allow"
