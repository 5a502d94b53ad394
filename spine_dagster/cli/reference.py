"""The commands about what this code base offers: ``schema`` (the group language) and ``pipelines``."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from . import EXIT_OK
from .inputs import default_registry
from .output import dump_json, table


def cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine schema``: the JSON Schema of the group language."""
    from ..spec.schema import group_json_schema

    dump_json(group_json_schema(), out)
    return EXIT_OK


def _field_text(name: str, field: Any) -> str:
    """One pydantic field as ``name: type (required)`` or ``name: type = default``."""
    annotation = getattr(field.annotation, "__name__", None) or str(field.annotation).replace("typing.", "")
    if field.is_required():
        return f"{name}: {annotation} (required)"
    return f"{name}: {annotation} = {field.default!r}"


def _pipeline_entry(pipeline: Any) -> dict[str, Any]:
    """The ``spine pipelines --format json`` entry of one registered pipeline."""
    fields = pipeline.Params.model_fields
    return {
        "name": pipeline.name,
        "description": pipeline.description,
        "params": {
            name: {
                "type": str(f.annotation).replace("typing.", "")
                if not isinstance(f.annotation, type)
                else f.annotation.__name__,
                "required": f.is_required(),
                "default": None if f.is_required() else f.default,
            }
            for name, f in fields.items()
        },
        "aliases": pipeline.param_aliases(),
        "accepts_any_param": pipeline.accepts_any_param(),
        "reads": list(pipeline.reads),
        "writes": list(pipeline.writes),
        "checks": [
            {"name": c.name, "table": c.table, "severity": c.severity, "blocking": c.blocking}
            for c in pipeline.checks
        ],
    }


def cmd_pipelines(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine pipelines``: the registered pipelines with their params, tables and checks."""
    registry = default_registry()
    entries = [_pipeline_entry(pipeline) for pipeline in registry]
    if args.format == "json":
        dump_json({"pipelines": entries}, out)
        return EXIT_OK
    rows = []
    for pipeline, entry in zip(registry, entries, strict=True):
        params = "; ".join(_field_text(n, f) for n, f in pipeline.Params.model_fields.items())
        if entry["aliases"]:
            params += "; also: " + ", ".join(f"{a} for {n}" for a, n in entry["aliases"].items())
        if entry["accepts_any_param"]:
            params = (params + "; " if params else "") + "any other param (ignored)"
        rows.append(
            [
                entry["name"],
                params or "-",
                ", ".join(entry["reads"]) or "-",
                ", ".join(entry["writes"]) or "-",
                entry["description"],
            ]
        )
    print(table(rows, ["pipeline", "params", "reads", "writes", "description"]), file=out)
    return EXIT_OK
