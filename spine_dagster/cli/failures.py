"""``spine failures``: the failure queue (a view of Dagster's run storage) and its ``retry``/``resolve``."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any, TextIO

from ..errors import SpineError
from . import EXIT_INVALID, EXIT_OK
from .output import dump_json, print_outcome, table
from .runs import open_location, run_settings


def _since(args: argparse.Namespace) -> dt.date | None:
    if not args.since:
        return None
    try:
        return dt.date.fromisoformat(args.since)
    except ValueError:
        raise SpineError(f"--since {args.since!r}: expected a date, YYYY-MM-DD") from None


def _rows(entries: list[Any]) -> list[list[Any]]:
    rows = []
    for e in entries:
        steps = e.failed_steps or ()
        first = steps[0] if steps else None
        rows.append(
            [
                e.run_id,
                e.group,
                e.partition or "-",
                e.outcome,
                e.ended_at.strftime("%Y-%m-%d %H:%M") if e.ended_at else "-",
                ", ".join(s.name for s in steps) or "-",
                (first.error[:100] if first else "") or "-",
            ]
        )
    return rows


def cmd_failures(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine failures``: group runs that failed or ended partial and were neither re-executed to success
    nor resolved."""
    import dagster as dg

    from ..failures import failure_queue

    location = open_location(run_settings(args), err)
    with dg.DagsterInstance.get() as instance:
        entries = failure_queue(location, instance, group=args.group, since=_since(args))
    if args.format == "json":
        dump_json({"failures": [e.to_json() for e in entries]}, out)
        return EXIT_OK
    if not entries:
        print("no failures waiting", file=out)
        return EXIT_OK
    headers = ["run", "group", "partition", "outcome", "ended (UTC)", "failed steps", "first error"]
    print(table(_rows(entries), headers), file=out)
    print(
        f"\n{len(entries)} waiting: `spine failures retry RUN_ID` (or --all) re-executes from the failure; "
        "`spine failures resolve RUN_ID --note TEXT` marks one handled",
        file=out,
    )
    return EXIT_OK


def cmd_failures_retry(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine failures retry RUN_ID | --all``: re-execute each from its failure; exit 0 if all completed."""
    import dagster as dg

    from ..failures import failure_queue
    from ..launch import rerun_from_failure

    if bool(args.run_id) == bool(args.all):
        raise SpineError("give one RUN_ID or --all")
    settings = run_settings(args)
    location = open_location(settings, err)
    with dg.DagsterInstance.get() as instance:
        queued = failure_queue(location, instance, group=args.group)
    if args.run_id:
        queued = [e for e in queued if e.run_id == args.run_id]
        if not queued:
            raise SpineError(f"run {args.run_id} is not in the failure queue (see `spine failures`)")
    table_format = args.format == "table"
    outcomes = []
    for entry in queued:
        if table_format:
            print(f"retrying {entry.group} run {entry.run_id} from its failure", file=out, flush=True)
        outcome = rerun_from_failure(
            location,
            settings,
            entry.run_id,
            emit=(lambda line: print(line, file=out, flush=True)) if table_format else None,
        )
        outcomes.append(outcome)
        if table_format:
            print_outcome("table", outcome, out)
    if not table_format:
        dump_json({"runs": [o.to_json() for o in outcomes]}, out)
    elif not outcomes:
        print("no failures waiting", file=out)
    return EXIT_OK if all(o.status == "completed" for o in outcomes) else EXIT_INVALID


def cmd_failures_resolve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine failures resolve RUN_ID --note TEXT``: mark one failure handled without re-running it."""
    import dagster as dg

    from ..failures import resolve_failure

    location = open_location(run_settings(args), err)
    with dg.DagsterInstance.get() as instance:
        try:
            entry = resolve_failure(location, instance, args.run_id, args.note)
        except LookupError as exc:
            raise SpineError(str(exc)) from None
    print(f"resolved {entry.group} run {entry.run_id}: {args.note.strip()}", file=out)
    return EXIT_OK
