"""The commands that run groups with Dagster: ``run``, ``rerun``, ``dev``; and ``--partition`` arithmetic."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..errors import GroupNotFoundError, SpineError
from ..settings import get_settings
from . import EXIT_INVALID, EXIT_OK
from .inputs import find_group, parse_params, plan_for
from .output import dump_json, print_outcome


def _partitions_to_run(args: argparse.Namespace, spec: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """(Dagster partition key, params it fills) for each run ``spine run`` should make."""
    import datetime as dt

    if not args.partition and not args.partition_range:
        if spec.partitions is not None:
            raise SpineError(
                f"group {spec.name!r} is partitioned: give --partition WEEK|VALUE or --partition-range FROM..TO"
            )
        return [(None, {})]
    if spec.partitions is None:
        raise SpineError(f"group {spec.name!r} is not partitioned: drop --partition/--partition-range")
    found = [_partition_key(spec, key) for key in args.partition or []]
    if args.partition_range:
        first, sep, last = args.partition_range.partition("..")
        try:
            day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        except ValueError:
            raise SpineError(
                f"--partition-range {args.partition_range!r}: expected FROM..TO, two YYYY-MM-DD dates"
            ) from None
        if not sep or day > end:
            raise SpineError(f"--partition-range {args.partition_range!r}: expected FROM..TO with FROM <= TO")
        values = list(spec.partitions.static.values) if spec.partitions.static else [None]
        # Step from the window holding FROM to the window holding TO (windows are 7 days long).
        end_window = dt.date.fromisoformat(_week_window(spec, end))
        window = dt.date.fromisoformat(_week_window(spec, day))
        while window <= end_window:
            for value in values:
                found.append(
                    _partition_key(spec, window.isoformat() if value is None else f"{window}|{value}")
                )
            window += dt.timedelta(days=7)
    unique: dict[str | None, dict[str, Any]] = {}
    for key, filled in found:
        unique.setdefault(key, filled)
    return list(unique.items())


def _week_window(spec: Any, day: Any) -> str:
    """The key (first day) of the weekly partition window holding ``day``."""
    import datetime as dt

    from ..defs.translator import SpineDagsterTranslator

    week_def = SpineDagsterTranslator().get_week_partitions_def(spec.partitions.weekly)
    return week_def.get_partition_key_for_timestamp(
        dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC).timestamp()
    )


def _partition_key(spec: Any, key: str) -> tuple[str, dict[str, Any]]:
    """Dagster's partition key for ``--partition`` (``WEEK`` or ``WEEK|VALUE`` in either order) and the
    params it fills. WEEK is the week's first day (Dagster's key), or any day of that week."""
    import datetime as dt

    from ..defs.translator import SpineDagsterTranslator

    parts = spec.partitions
    pieces = key.split("|")
    dates, others = [], []
    for piece in pieces:
        try:
            dates.append(dt.date.fromisoformat(piece))
        except ValueError:
            others.append(piece)
    if len(dates) != 1 or len(pieces) != (2 if parts.static else 1):
        shape = f"WEEK|{parts.static.name.upper()}" if parts.static else "WEEK"
        raise SpineError(f"--partition {key!r}: expected {shape} with WEEK a date YYYY-MM-DD")
    translator = SpineDagsterTranslator()
    window = _week_window(spec, dates[0])
    week_def = translator.get_week_partitions_def(parts.weekly)
    if not week_def.has_partition_key(window):
        first = week_def.get_first_partition_key()
        last = week_def.get_last_partition_key()
        raise SpineError(
            f"--partition {key!r}: week {window} is not a partition of {spec.name!r} (weeks {first} .. {last}; "
            "partitions.weekly.start sets the first, the last is the newest complete week)"
        )
    if parts.static is None:
        return window, translator.get_partition_params(parts, window)
    if others[0] not in parts.static.values:
        raise SpineError(
            f"--partition {key!r}: {others[0]!r} is not one of " + ", ".join(parts.static.values)
        )
    import dagster as dg

    multi = dg.MultiPartitionKey({"week": window, parts.static.name: others[0]})
    return str(multi), translator.get_partition_params(parts, multi)


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine run``: run a group's Dagster job now, once per partition asked for; exit 0 if all completed."""
    import dataclasses

    from ..launch import run_group

    run_params = parse_params(args.param)
    group = find_group(args, args.group)
    spec = group.spec
    runs = _partitions_to_run(args, spec)
    for _key, filled in runs:
        plan_for(args, group, {**run_params, **filled})  # bad params fail here, before any run is created
    settings = dataclasses.replace(get_settings(), groups_dir=Path(args.groups_dir))
    table = args.format == "table"

    def emit(line: str) -> None:
        print(line, file=out, flush=True)

    outcomes = []
    for key, _filled in runs:
        if table:
            where = f", partition {key}" if key else ""
            emit(f"running {spec.name} ({len(spec.steps)} steps, {spec.policy.execution}{where})")
        try:
            outcome = run_group(settings, spec.name, run_params, partition=key, emit=emit if table else None)
        except (GroupNotFoundError, KeyError):  # TODO(core): launch raises GroupNotFoundError
            raise SpineError(
                f"group {spec.name!r} is not in the Dagster code location (run `spine validate` to see why)"
            ) from None
        outcomes.append(outcome)
        if table:
            print_outcome(args.format, outcome, out)
    if not table:
        data = outcomes[0].to_json() if len(outcomes) == 1 else {"runs": [o.to_json() for o in outcomes]}
        dump_json(data, out)
    else:
        if len(outcomes) > 1:
            done = sum(o.status == "completed" for o in outcomes)
            emit(f"{done} of {len(outcomes)} runs completed")
        _where_to_look(settings, emit)
    return EXIT_OK if all(o.status == "completed" for o in outcomes) else EXIT_INVALID


def _where_to_look(settings: Any, emit: Callable[[str], None]) -> None:
    """The closing lines of ``spine run``: where the warehouse and the Dagster runs are."""
    from ..warehouse.connect import redact_url

    home = os.environ.get("DAGSTER_HOME") or str(settings.dagster_home.resolve())
    emit(f"warehouse: {redact_url(settings.warehouse_url)}  (tables and *_latest views per domain schema)")
    emit(f"runs:      spine dev   (dagster dev with DAGSTER_HOME={home}), then open http://127.0.0.1:3000")


def cmd_rerun(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine rerun``: re-execute a failed run from its failure; exit 0 if the group then completed."""
    import dataclasses

    from ..launch import rerun_from_failure

    settings = dataclasses.replace(get_settings(), groups_dir=Path(args.groups_dir))
    table = args.format == "table"
    try:
        outcome = rerun_from_failure(
            settings, args.run_id, emit=(lambda line: print(line, file=out, flush=True)) if table else None
        )
    except LookupError as exc:
        raise SpineError(str(exc)) from None
    except Exception as exc:  # Dagster refuses, e.g. "Cannot reexecute from failure a run that is not failed"
        if type(exc).__module__.startswith("dagster"):
            raise SpineError(f"cannot re-execute run {args.run_id}: {exc}") from None
        raise
    return print_outcome(args.format, outcome, out)


def cmd_dev(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``dagster dev`` on the same instance as ``spine run`` (prepared first), bound to localhost by default."""
    import dataclasses
    import shutil

    from ..launch import prepare_dagster_home

    settings = dataclasses.replace(get_settings(), groups_dir=Path(args.groups_dir))
    home = prepare_dagster_home(settings)
    os.environ["SPINE_GROUPS_DIR"] = str(settings.groups_dir)
    dagster = str(Path(sys.executable).with_name("dagster"))
    if not Path(dagster).exists():
        dagster = shutil.which("dagster") or "dagster"
    target = (
        ["-w", "workspace.yaml"] if Path("workspace.yaml").is_file() else ["-m", "spine_dagster.definitions"]
    )
    command = [dagster, "dev", *target, "-h", args.host, "-p", str(args.port)]
    print(
        f"DAGSTER_HOME={home}  groups: {settings.groups_dir}  UI: http://{args.host}:{args.port}",
        file=out,
        flush=True,
    )
    os.execv(command[0], command)
    return EXIT_OK  # not reached: exec replaces this process
