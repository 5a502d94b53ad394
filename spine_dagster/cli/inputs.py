"""What the commands read: ``--param`` values, a group by name or file, the groups dir, and its plans."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .._text import did_you_mean, plural
from ..errors import Diagnostic, GroupNotFoundError, SpineError
from . import UsageError


def parse_params(pairs: Sequence[str] | None) -> dict[str, Any]:
    """``--param KEY=VALUE`` pairs as run params (VALUE read as a YAML scalar); UsageError if malformed."""
    from ..spec import YamlSyntaxError, parse_scalar

    params: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"--param expects KEY=VALUE with an identifier KEY, got {pair!r}")
        if key in params:
            raise UsageError(f"--param {key} given twice")
        try:
            params[key] = parse_scalar(raw)
        except YamlSyntaxError as exc:
            raise UsageError(f"--param {key}: {exc.message}") from None
    return params


def default_registry(args: argparse.Namespace) -> Any:
    """The registry discovery builds (installed plugins and ``SPINE_PIPELINE_MODULES``), once per command."""
    from ..pipelines.discovery import discover_pipelines
    from ..settings import get_settings

    # Memoized on the command's own namespace: one discovery per command, none shared between commands.
    if "_registry" not in vars(args):
        args._registry = discover_pipelines(get_settings().pipeline_modules)
    return args._registry


def plugin_problems(args: argparse.Namespace) -> list[Diagnostic]:
    """The pipeline plugins that failed to load, as diagnostics."""
    return [failure.diagnostic() for failure in default_registry(args).failures]


def warn_plugin_problems(args: argparse.Namespace, err: TextIO) -> None:
    """Say on stderr which pipeline plugins failed to load (the commands that are not ``validate``).

    Not under ``SPINE_STRICT``: the code location then refuses to load and reports them as errors."""
    from ..settings import get_settings

    if get_settings().strict:
        return
    for diag in plugin_problems(args):
        where = f"{diag.path}:{diag.line}: " if diag.path else ""
        print(f"spine: warning: {where}{diag.message}", file=err)


def load_dir(args: argparse.Namespace) -> Any:
    """Every group file of ``--groups-dir`` (a ``LoadResult``); SpineError if the directory is missing."""
    from ..spec import load_groups

    groups_dir = Path(args.groups_dir)
    if not groups_dir.is_dir():
        raise SpineError(
            f"groups directory not found: {groups_dir} (use --groups-dir DIR or set SPINE_GROUPS_DIR)"
        )
    return load_groups([groups_dir])


def find_group(args: argparse.Namespace, target: str) -> Any:
    """A group by file path, or by name in the groups dir; GroupNotFoundError if there is no such group."""
    from ..spec import load_group_file

    path = Path(target)
    if path.is_file():
        return load_group_file(path)
    if target.endswith((".yaml", ".yml")):
        raise SpineError(f"Group file not found: {target}")
    result = load_dir(args)
    groups = result.by_name()
    if target in groups:
        return groups[target]
    best = did_you_mean(target, groups)
    error = GroupNotFoundError(target, suggestions=[best] if best else [])
    if result.diagnostics:
        bad = ", ".join(result.bad_files)
        error.message += f" ({plural(len(result.bad_files), 'bad file')} in {args.groups_dir}: {bad}; run `spine validate`)"
        error.diagnostics = (Diagnostic(error.message, GroupNotFoundError.__name__),)
    raise error


def plan_for(args: argparse.Namespace, group: Any, params: dict[str, Any] | None, **kwargs: Any) -> Any:
    """The plan of ``group`` for these run params, against the default registry (unless the command's
    ``--skip-pipeline-check`` is set); ``kwargs`` go to ``plan_group``."""
    from ..plan.planner import plan_group

    return plan_group(
        group, default_registry(args), params, check_pipelines=not args.skip_pipeline_check, **kwargs
    )
