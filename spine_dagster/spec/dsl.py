"""The Python DSL: build a group in code, equivalent to a YAML file, and write it back as YAML.

group = (
    PipelineGroup("finra.weekly_refresh", domain="finra.otc_transparency",
                  defaults={"tier": "NMS_TIER_1", "week_ending": "{{ params.week_ending }}"})
    .add("ingest", "finra.otc_transparency.ingest_week")
    .add("normalize", "finra.otc_transparency.normalize_week", depends_on=["ingest"])
)
spec = group.build()            # PipelineGroupSpec, validated like a file
text = to_yaml(spec)            # nested spine.io/v1 YAML; load_group_text(text).spec == spec
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import Diagnostic, InvalidGroupSpecError
from ._errors import dotted, explain_all
from .models import API_VERSION, KIND, METADATA_KEYS, PipelineGroupSpec
from .semantics import check_group


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_unset=True) if isinstance(value, BaseModel) else value


def _located(path: tuple[str | int, ...], message: str) -> str:
    where = dotted(path)
    return message if where in message or not path else f"{where}: {message}"


class PipelineGroup:
    """A group under construction. ``add`` returns the builder, so calls chain."""

    def __init__(self, name: str, **group_fields: Any) -> None:
        self._fields: dict[str, Any] = {"name": name, **{k: _plain(v) for k, v in group_fields.items()}}
        self._steps: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        pipeline: str,
        *,
        depends_on: str | Iterable[str] | None = (),
        params: Mapping[str, Any] | None = None,
        **step_fields: Any,
    ) -> PipelineGroup:
        """Append a step (``retry``, ``timeout_seconds``, ``pool``, ``tags``, ``checks``... as keywords)."""
        step: dict[str, Any] = {"name": name, "pipeline": pipeline}
        step["depends_on"] = depends_on if isinstance(depends_on, str | None) else list(depends_on)
        step["params"] = dict(params or {})
        step.update({k: _plain(v) for k, v in step_fields.items()})
        self._steps.append(step)
        return self

    def build(self) -> PipelineGroupSpec:
        """Validate and return the spec; raise :class:`InvalidGroupSpecError` with every problem."""
        data = {**self._fields, "steps": self._steps}
        problems = []
        spec = None
        try:
            spec = PipelineGroupSpec.model_validate(data)
        except ValidationError as exc:
            problems.extend(explain_all(exc.errors(), PipelineGroupSpec, lambda p: p, data))
        problems.extend(check_group(data))
        if problems or spec is None:
            where = f"<dsl:{self._fields.get('name')}>"
            diags = [
                Diagnostic(_located(p.path, p.message), InvalidGroupSpecError.__name__, where)
                for p in problems
            ]
            raise InvalidGroupSpecError(diags[0].message, diagnostics=diags)
        return spec


def group_to_dict(spec: PipelineGroupSpec) -> dict[str, Any]:
    """The nested spine.io/v1 document for ``spec``, written the way spine-core writes it.

    Empty and default-valued keys are left out, except ``version`` and the spine-core policy keys.
    """
    data = spec.model_dump(mode="json", exclude_defaults=True)
    metadata: dict[str, Any] = {"name": spec.name, "domain": spec.domain, "version": spec.version}
    metadata.update({k: data[k] for k in METADATA_KEYS if k in data and k not in metadata})
    steps = []
    for step in data.get("steps", []):
        ordered = {"name": step.pop("name"), "pipeline": step.pop("pipeline")}
        ordered.update(step)
        steps.append(ordered)
    policy = spec.policy.model_dump(mode="json", exclude_none=True)
    if policy.get("retry"):
        policy["retry"] = spec.policy.retry.model_dump(mode="json", exclude_defaults=True)  # type: ignore[union-attr]
    body: dict[str, Any] = {"pipelines": steps, "policy": policy}
    for key in ("defaults", "schedules", "partitions", "sensors", "alerts"):
        if key in data:
            body[key] = data[key]
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": body}


def to_yaml(spec: PipelineGroupSpec) -> str:
    """YAML text that loads back to an equal spec (keys in spine-core's order, not sorted)."""
    return yaml.safe_dump(group_to_dict(spec), sort_keys=False, allow_unicode=True, width=110)
