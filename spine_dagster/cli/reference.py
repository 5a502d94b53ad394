"""The commands about what this code base offers: ``schema`` (the group language) and ``pipelines``."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from . import EXIT_INVALID, EXIT_OK
from .inputs import default_registry, plugin_problems
from .output import dump_json, print_diagnostics


def cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine schema``: the JSON Schema of the group language."""
    from ..spec.schema import group_json_schema

    dump_json(group_json_schema(), out)
    return EXIT_OK


def _type_text(annotation: Any) -> str:
    """A readable type: ``int``, ``datetime.date | None``, ``one of 'a', 'b'`` for a Literal."""
    import typing

    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(annotation))
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _origin(registry: Any, name: str) -> dict[str, str]:
    """Where a pipeline comes from: its distribution, module and the entry point or module that registered it."""
    origin = registry.origin(name)
    registered_by = ""
    if origin is not None:
        registered_by = f"entry point {origin.name!r}" if origin.kind == "entry point" else origin.label
    return {
        "distribution": origin.distribution if origin else "",
        "module": type(registry.get(name)).__module__,
        "registered_by": registered_by,
    }


def _pipeline_entry(registry: Any, pipeline: Any) -> dict[str, Any]:
    """The ``spine pipelines --format json`` entry of one registered pipeline."""
    fields = pipeline.Params.model_fields
    return {
        "name": pipeline.name,
        "description": pipeline.description,
        "origin": _origin(registry, pipeline.name),
        "params": {
            name: {
                "type": _type_text(f.annotation),
                "required": f.is_required(),
                "default": None if f.is_required() else f.default,
                "description": f.description or "",
            }
            for name, f in fields.items()
        },
        "aliases": pipeline.param_aliases(),
        "accepts_any_param": pipeline.accepts_any_param(),
        "reads": list(pipeline.reads),
        "writes": list(pipeline.writes),
        "checks": [
            {
                "name": c.name,
                "table": c.table,
                "severity": c.severity,
                "blocking": c.blocking,
                "description": c.description,
            }
            for c in pipeline.checks
        ],
    }


def _entry_text(entry: dict[str, Any]) -> list[str]:
    """One pipeline as an indented block of ``spine pipelines`` (the table form was too wide to read)."""
    origin = entry["origin"]
    where = ", ".join(x for x in (origin["distribution"], f"module {origin['module']}") if x)
    lines = [f"{entry['name']}  {entry['description']}".rstrip(), f"  from     {where}"]
    if origin["registered_by"]:
        lines[-1] += f"; registered by {origin['registered_by']}"
    aliases = {n: a for a, n in entry["aliases"].items()}
    params = []
    for name, p in entry["params"].items():
        text = f"{name}: {p['type']}" + (" (required)" if p["required"] else f" = {p['default']!r}")
        if name in aliases:
            text += f"; also accepted as {aliases[name]}"
        params.append(text + (f"  -- {p['description']}" if p["description"] else ""))
    if entry["accepts_any_param"]:
        params.append("any other param (ignored)")
    for label, values in (
        ("params", params),
        ("reads", entry["reads"]),
        ("writes", entry["writes"]),
        (
            "checks",
            [
                f"{c['name']} on {c['table']} ({c['severity']}{', blocking' if c['blocking'] else ''})"
                + (f"  -- {c['description']}" if c["description"] else "")
                for c in entry["checks"]
            ],
        ),
    ):
        for i, value in enumerate(values or ["-"]):
            lines.append(f"  {label if i == 0 else '':<8} {value}")
    return lines


def cmd_pipelines(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine pipelines``: the registered pipelines with their origin, params, tables and checks; then the
    pipeline plugins that failed to load (exit 1 if any did)."""
    registry = default_registry(args)
    entries = [_pipeline_entry(registry, pipeline) for pipeline in registry]
    problems = plugin_problems(args)
    if args.format == "json":
        dump_json({"pipelines": entries, "errors": [d.to_json() for d in problems]}, out)
    else:
        blocks = ["\n".join(_entry_text(entry)) for entry in entries]
        print("\n\n".join(blocks), file=out)
        print_diagnostics(problems, err)
    return EXIT_INVALID if problems else EXIT_OK
