"""What the ``spine`` command prints: tables, JSON (with the NaN rule), diagnostics, a run's outcome."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..errors import Diagnostic
from . import EXIT_INVALID, EXIT_OK


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """``rows`` as a plain text table under ``headers`` (cells are never reformatted as numbers)."""
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def print_diagnostics(diags: Sequence[Diagnostic], out: TextIO, *, show_source: bool = False) -> None:
    """One ``path:line:col: message`` line per problem (``spine: error: message`` when there is no file).

    With ``show_source``, each located problem is followed by its source line with the problem underlined.
    """
    for diag in diags:
        print(diag.format() if diag.path else f"spine: error: {diag.message}", file=out)
        if show_source and diag.line and Path(diag.path).is_file():
            lines = Path(diag.path).read_text(encoding="utf-8", errors="replace").splitlines()
            if diag.line <= len(lines):
                text = lines[diag.line - 1]
                end = diag.end_column if diag.end_line == diag.line and diag.end_column > diag.column else 0
                width = max(1, (end or len(text) + 1) - diag.column)
                print(f"    {text}", file=out)
                print("    " + " " * (diag.column - 1) + "^" * width, file=out)


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: such floats are written as the strings "nan", "inf", "-inf"."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dump_json(data: Any, out: TextIO) -> None:
    """``data`` as indented JSON and a newline; NaN and infinities as strings, other objects as ``repr``."""
    json.dump(_finite(data), out, indent=2, default=repr, allow_nan=False)
    out.write("\n")


def print_outcome(fmt: str, outcome: Any, out: TextIO) -> int:
    """A group run's outcome (``json``, or a table of its steps and a summary line); its exit code."""
    if fmt == "json":
        dump_json(outcome.to_json(), out)
    else:
        rows = [
            [
                s.name,
                s.status,
                s.attempts,
                "-" if s.duration_seconds is None else f"{s.duration_seconds:.2f}",
                s.error or "",
            ]
            for s in outcome.steps
        ]
        print(table(rows, ["step", "status", "attempts", "seconds", "error"]), file=out)
        print(
            f"group {outcome.group}: {outcome.status}  (run {outcome.run_id}, batch {outcome.batch_id})",
            file=out,
        )
    return EXIT_OK if outcome.status == "completed" else EXIT_INVALID
