"""JSON Schema of the group language, for editors (``spine schema > spine-group.schema.json``).

Generated from the pydantic models, then arranged into spine's two document shapes: nested
(``apiVersion``/``kind``/``metadata``/``spec``) and flat. Cross-field rules (unique step names, known
pipelines, acyclic ``depends_on``) are beyond JSON Schema: ``spine validate`` checks them.
"""

from __future__ import annotations

from typing import Any

from .models import API_VERSION, KIND, METADATA_KEYS, SPEC_KEYS, PipelineGroupSpec


def group_json_schema() -> dict[str, Any]:
    """The JSON Schema of a group file (either shape: flat, or nested ``metadata``/``spec``)."""
    base = PipelineGroupSpec.model_json_schema(mode="validation")
    defs = base.pop("$defs", {})
    props: dict[str, Any] = base["properties"]
    # A single step name is accepted for depends_on, as in spine-core.
    step = defs["StepSpec"]["properties"]
    step["depends_on"] = {"anyOf": [{"type": "string"}, step["depends_on"]], "default": []}
    # So are a single alert condition and a single email recipient.
    for model, key in (("AlertSpec", "on"), ("EmailAlertSpec", "to")):
        listed = defs[model]["properties"][key]
        defs[model]["properties"][key] = {"anyOf": [listed["items"], listed], "title": listed["title"]}
    props["pipelines"] = props["steps"]
    header = {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": KIND},
    }
    metadata = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {k: props[k] for k in METADATA_KEYS},
    }
    spec = {"type": "object", "additionalProperties": False, "properties": {k: props[k] for k in SPEC_KEYS}}
    nested = {
        "type": "object",
        "additionalProperties": False,
        "required": ["metadata"],
        "properties": {**header, "metadata": metadata, "spec": spec},
    }
    flat = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "not": {"required": ["metadata"]},
        "properties": {**header, **{k: props[k] for k in (*METADATA_KEYS, *SPEC_KEYS)}},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "spine.io/v1 PipelineGroup",
        "description": "A pipeline group for spine-dagster: named steps, depends_on edges, defaults and a policy.",
        "oneOf": [nested, flat],
        "$defs": defs,
    }
