"""The commands that run groups with Dagster: ``run``, ``rerun``, ``dev`` (partition keys: ``defs/partitions.py``)."""

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
from .inputs import find_group, parse_params, plan_for, warn_plugin_problems
from .output import dump_json, print_outcome


def _partitions_to_run(
    args: argparse.Namespace, spec: Any, translator: Any
) -> list[tuple[str | None, dict[str, Any]]]:
    """(Dagster partition key, params it fills) for each run ``spine run`` should make."""
    import datetime as dt

    from ..defs.partitions import PartitionKeys

    if not args.partition and not args.partition_range:
        if spec.partitions is not None:
            raise SpineError(
                f"group {spec.name!r} is partitioned: give --partition WEEK|VALUE or --partition-range FROM..TO"
            )
        return [(None, {})]
    if spec.partitions is None:
        raise SpineError(f"group {spec.name!r} is not partitioned: drop --partition/--partition-range")
    keys_of = PartitionKeys(spec.name, spec.partitions, translator)
    texts = list(args.partition or [])
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
        texts += [
            week if value is None else f"{week}|{value}"
            for week in keys_of.weeks_between(day, end)
            for value in keys_of.values
        ]
    unique: dict[str | None, dict[str, Any]] = {}
    for text in texts:
        try:
            key = keys_of.parse(text)
        except ValueError as exc:
            raise SpineError(f"--partition {text!r}: {exc}") from None
        unique.setdefault(key, keys_of.params(key))
    return list(unique.items())


def reap(err: TextIO) -> None:
    """Mark runs whose ``spine run`` process died failed and free stranded pool slots (spine_dagster.recovery),
    saying so on ``err``: a dead run's slot would otherwise make this command's run wait forever."""
    import dagster as dg

    from ..recovery import describe, reap_dead_runs

    with dg.DagsterInstance.get() as instance:
        for item in reap_dead_runs(instance):
            print(f"spine: recovered {describe(item)}", file=err, flush=True)


def open_location(settings: Any, err: TextIO) -> Any:
    """Prepare this CLI process to run groups, recover dead runs, then build the code location.

    Process-wide on purpose (this is the ``spine`` entry point, not library code): the step processes a run
    starts re-import the code location and inherit only the environment, so ``DAGSTER_HOME`` and
    ``SPINE_GROUPS_DIR`` must say what this process uses; Dagster's warning about its own internal copy of
    run-status sensors is not actionable by a user; and the cyclic GC is paused while the definitions are
    built (it rescanned the many new objects as they were made, bench/load.py).
    """
    import gc
    import warnings

    from ..composition import build_code_location
    from ..launch import prepare_dagster_home

    os.environ["DAGSTER_HOME"] = str(prepare_dagster_home(settings))
    os.environ["SPINE_GROUPS_DIR"] = str(settings.groups_dir)
    warnings.filterwarnings("ignore", message=r"Parameter `owners` of initializer `SensorDefinition")
    reap(err)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build_code_location(settings)
    finally:
        if enabled:
            gc.enable()


def run_settings(args: argparse.Namespace) -> Any:
    import dataclasses

    return dataclasses.replace(get_settings(), groups_dir=Path(args.groups_dir))


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine run``: run a group's Dagster job now, once per partition asked for; exit 0 if all completed."""
    from ..composition import get_translator
    from ..launch import hold_storage_connections, interrupted_by_signal, run_group

    run_params = parse_params(args.param)
    group = find_group(args, args.group)
    warn_plugin_problems(args, err)
    spec = group.spec
    settings = run_settings(args)
    runs = _partitions_to_run(args, spec, get_translator(settings))
    for _key, filled in runs:
        plan_for(args, group, {**run_params, **filled})  # bad params fail here, before any run is created
    location = open_location(settings, err)
    table = args.format == "table"

    def emit(line: str) -> None:
        print(line, file=out, flush=True)

    if args.queue:
        outcomes = _run_queued(
            location, settings, spec, run_params, [key for key, _ in runs], emit if table else None
        )
        return _report(args, settings, outcomes, out, emit, expected=len(runs))
    import dagster as dg

    from ..warehouse.session import warehouse_session

    outcomes = []
    # One Dagster instance and one warehouse connection for every run of the command, not one per run (or
    # per step): the runs execute here one after another (warehouse/session.py says what that costs).
    with dg.DagsterInstance.get() as instance, warehouse_session(settings.warehouse_url):
        hold_storage_connections(instance)
        for key, _filled in runs:
            if table:
                where = f", partition {key}" if key else ""
                emit(f"running {spec.name} ({len(spec.steps)} steps, {spec.policy.execution}{where})")
            try:
                outcome = run_group(
                    location, settings, spec.name, run_params, partition=key,
                    emit=emit if table else None, instance=instance,
                )  # fmt: skip
            except GroupNotFoundError:  # a file outside the groups dir, or a group the location dropped
                raise SpineError(
                    f"group {spec.name!r} is not in the Dagster code location (run `spine validate` to see why)"
                ) from None
            outcomes.append(outcome)
            if table:
                print_outcome(args.format, outcome, out)
            left = len(runs) - len(outcomes)
            if left and interrupted_by_signal(outcome.run_id, instance):
                print(f"spine: interrupted; {left} more run(s) not started", file=err, flush=True)
                break
    return _report(args, settings, outcomes, out, emit, expected=len(runs), printed=True)


def _run_queued(
    location: Any,
    settings: Any,
    spec: Any,
    run_params: dict[str, Any],
    keys: list[str | None],
    emit: Callable[[str], None] | None,
) -> list[Any]:
    """``spine run --queue``: one queued run, or a Dagster backfill of several partitions (spine_dagster.queue)."""
    from ..queue import submit_backfill, submit_group

    where = f", {len(keys)} partitions" if len(keys) > 1 else (f", partition {keys[0]}" if keys[0] else "")
    if emit is not None:
        emit(f"queueing {spec.name} ({len(spec.steps)} steps, {spec.policy.execution}{where})")
    if len(keys) > 1 and run_params:
        # Dagster gives each run of a job backfill its partition's config (the group's defaults): a backfill
        # cannot carry other run params.
        raise SpineError(
            f"--queue with {len(keys)} partitions submits one Dagster backfill, whose runs take each "
            f"partition's config, so --param {', '.join(sorted(run_params))} would be ignored: queue the "
            "partitions one at a time (--partition KEY --queue), or put the values in the group's defaults"
        )
    if len(keys) > 1:
        _backfill, outcomes = submit_backfill(
            location, settings, spec.name, run_params, [k for k in keys if k is not None], emit=emit
        )
        return outcomes
    return [submit_group(location, settings, spec.name, run_params, partition=keys[0], emit=emit)]


def _report(
    args: argparse.Namespace,
    settings: Any,
    outcomes: list[Any],
    out: TextIO,
    emit: Callable[[str], None],
    *,
    expected: int,
    printed: bool = False,
) -> int:
    """The outcome(s) of ``spine run`` and its exit code: 0 only if all ``expected`` runs ran and completed.

    ``printed``: each run's table was already printed as it ended (in-process runs).
    """
    table = args.format == "table"
    if not table:
        data = (
            outcomes[0].to_json()
            if expected == 1 == len(outcomes)
            else {"runs": [o.to_json() for o in outcomes]}
        )
        dump_json(data, out)
    else:
        if not printed:
            for outcome in outcomes:
                print_outcome(args.format, outcome, out)
        if len(outcomes) > 1:
            done = sum(o.status == "completed" for o in outcomes)
            emit(f"{done} of {len(outcomes)} runs completed")
        _where_to_look(settings, emit)
    ok = len(outcomes) == expected and all(o.status == "completed" for o in outcomes)
    return EXIT_OK if ok else EXIT_INVALID


def _where_to_look(settings: Any, emit: Callable[[str], None]) -> None:
    """The closing lines of ``spine run``: where the warehouse and the Dagster runs are."""
    from ..warehouse.connect import redact_url

    home = os.environ.get("DAGSTER_HOME") or str(settings.dagster_home.resolve())
    emit(f"warehouse: {redact_url(settings.warehouse_url)}  (each domain's tables in its own schema)")
    emit(f"runs:      spine dev   (dagster dev with DAGSTER_HOME={home}), then open http://127.0.0.1:3000")


def cmd_rerun(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine rerun``: re-execute a failed run from its failure; exit 0 if the group then completed."""
    from ..launch import rerun_from_failure

    settings = run_settings(args)
    location = open_location(settings, err)
    table = args.format == "table"
    try:
        outcome = rerun_from_failure(
            location,
            settings,
            args.run_id,
            emit=(lambda line: print(line, file=out, flush=True)) if table else None,
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
    import shutil

    from ..launch import prepare_dagster_home

    settings = run_settings(args)
    home = prepare_dagster_home(settings)
    # dagster dev (exec'd below) and its code servers inherit this environment: the same instance and groups.
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["SPINE_GROUPS_DIR"] = str(settings.groups_dir)
    reap(err)
    dagster = str(Path(sys.executable).with_name("dagster"))
    if not Path(dagster).exists():
        dagster = shutil.which("dagster") or "dagster"
    workspace = Path("workspace.yaml")
    if not workspace.is_file():  # the location name spine run attributes its runs to (spine_dagster.origin)
        from ..origin import workspace_yaml

        workspace = home / "workspace.yaml"
        workspace.write_text(workspace_yaml(Path.cwd().resolve()))
    target = ["-w", str(workspace)]
    command = [dagster, "dev", *target, "-h", args.host, "-p", str(args.port)]
    print(
        f"DAGSTER_HOME={home}  groups: {settings.groups_dir}  UI: http://{args.host}:{args.port}",
        file=out,
        flush=True,
    )
    os.execv(command[0], command)
    return EXIT_OK  # not reached: exec replaces this process
