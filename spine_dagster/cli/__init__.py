"""The ``spine`` command: validate, plan, list, explain, schema, pipelines, run, rerun, dev.

Exit codes: 0 success, 1 invalid input (or a failed run), 2 usage error. Bad input never prints a
Python traceback: every problem is one ``path:line:col: message`` line on stderr (set ``SPINE_DEBUG=1``
to see tracebacks of internal errors). ``--format json`` output is stable and documented in the README.

The modules: :mod:`.parser` (the argparse tree), :mod:`.inputs` (``--param``, finding and planning a group),
:mod:`.output` (tables, JSON, diagnostics), and one module per command family: :mod:`.groups` (validate, plan,
list, explain), :mod:`.reference` (schema, pipelines), :mod:`.runs` (run, rerun, dev). Importing this package
imports neither dagster nor a database driver: every heavy import happens inside the command that needs it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

from ..errors import SpineError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "UsageError", "main"]


class UsageError(Exception):
    """Bad command-line usage (exit 2)."""


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI; return the exit code."""
    # Imported here, not above: the submodules import the exit codes and UsageError from this module.
    from .output import print_diagnostics
    from .parser import build_parser

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        return args.func(args, out, err)
    except UsageError as exc:
        print(f"spine: error: {exc}", file=err)
        return EXIT_USAGE
    except SpineError as exc:
        print_diagnostics(exc.diagnostics, err)
        return EXIT_INVALID
    except FileNotFoundError as exc:
        print(f"spine: {exc}", file=err)
        return EXIT_INVALID
    except ModuleNotFoundError as exc:
        if exc.name == "psycopg":  # SQLAlchemy 2.1 maps a bare postgresql:// URL to psycopg 3
            print(
                "spine: error: a Postgres URL for Dagster's storage needs the psycopg2 driver: write "
                "postgresql+psycopg2://... (e.g. in SPINE_DAGSTER_PG_URL)",
                file=err,
            )
            return EXIT_INVALID
        raise
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run turns it into a FAILURE and returns normally)
        print("spine: interrupted", file=err)
        return EXIT_INVALID
    except BrokenPipeError:  # `spine schema | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep Python's exit flush quiet
        return EXIT_OK
    except Exception as exc:  # a bug, not bad input: say so without a wall of traceback
        if os.environ.get("SPINE_DEBUG"):
            raise
        print(f"spine: internal error (please report it): {type(exc).__name__}: {exc}", file=err)
        print("spine: set SPINE_DEBUG=1 to see the traceback", file=err)
        return EXIT_INVALID
