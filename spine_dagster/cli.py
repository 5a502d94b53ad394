"""The ``spine`` command: validate, plan, list, explain, schema, pipelines.

Exit codes: 0 success, 1 invalid input (or a failed run), 2 usage error. Bad input never prints a
Python traceback: every problem is one ``path:line:col: message`` line on stderr (set ``SPINE_DEBUG=1``
to see tracebacks of internal errors). ``--format json`` output is stable and documented in the README.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ._text import did_you_mean, plural
from .errors import Diagnostic, GroupNotFoundError, SpineError
from .settings import get_settings

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage (exit 2)."""


# --- helpers ---------------------------------------------------------------------------------------------


def _table(rows: list[list[Any]], headers: list[str]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def _print_diagnostics(diags: Sequence[Diagnostic], out: TextIO, *, show_source: bool = False) -> None:
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


def _parse_params(pairs: Sequence[str] | None) -> dict[str, Any]:
    from .spec._yaml import YamlSyntaxError, parse_scalar

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


def _registry(args: argparse.Namespace) -> Any:
    from .pipelines.catalog import build_default_registry

    return build_default_registry()


def _load_dir(args: argparse.Namespace) -> Any:
    from .spec.loader import load_groups

    groups_dir = Path(args.groups_dir)
    if not groups_dir.is_dir():
        raise SpineError(
            f"groups directory not found: {groups_dir} (use --groups-dir DIR or set SPINE_GROUPS_DIR)"
        )
    return load_groups([groups_dir])


def _find_group(args: argparse.Namespace, target: str) -> Any:
    """A group by file path, or by name in the groups dir."""
    from .spec.loader import load_group_file

    path = Path(target)
    if path.is_file():
        return load_group_file(path)
    if target.endswith((".yaml", ".yml")):
        raise SpineError(f"Group file not found: {target}")
    result = _load_dir(args)
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


def _plan(args: argparse.Namespace, group: Any, params: dict[str, Any] | None, **kwargs: Any) -> Any:
    from .plan.planner import plan_group

    return plan_group(group, _registry(args), params, check_pipelines=not args.skip_pipeline_check, **kwargs)


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: such floats are written as the strings "nan", "inf", "-inf"."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _dump_json(data: Any, out: TextIO) -> None:
    json.dump(_finite(data), out, indent=2, default=repr, allow_nan=False)
    out.write("\n")


# --- commands --------------------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .spec.loader import load_groups

    targets = args.paths or [args.groups_dir]
    result = load_groups(targets)
    diags = list(result.diagnostics)
    valid: list[Any] = []
    for group in result.groups:
        try:
            _plan(args, group, None)
            valid.append(group)
        except SpineError as exc:
            diags.extend(exc.diagnostics)
    if args.format == "json":
        _dump_json({"valid": [g.name for g in valid], "errors": [d.to_json() for d in diags]}, out)
    else:
        _print_diagnostics(diags, out, show_source=args.show_source)
        for group in valid:
            print(f"ok  {group.name}  ({group.source.path})", file=out)
        files = {d.path for d in diags}
        print(
            f"{plural(len(valid), 'valid group')}, {plural(len(diags), 'error')}"
            + (f" in {plural(len(files), 'file')}" if diags else "")
            + f" ({plural(len(result.files), 'file')} checked)",
            file=out,
        )
    return EXIT_INVALID if diags else EXIT_OK


def _run_config(group: Any, plan: Any, run_params: dict[str, Any]) -> dict[str, Any]:
    """The Dagster run config for these run params: defaults filled in, placeholders for required ones."""
    from .plan.planner import partition_params
    from .spec.templates import has_templates

    spec = group.spec
    filled = partition_params(spec)
    params = {k: v for k, v in spec.defaults.items() if not has_templates(v) and k not in filled}
    params.update(run_params)
    for name in plan.required_params:
        if name not in params and name not in filled:
            params[name] = f"<{name}>"
    return {"params": params}


def cmd_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    run_params = _parse_params(args.param)
    group = _find_group(args, args.group)
    if args.format == "dagster-run-config":
        import yaml

        from .defs.translator import SpineDagsterTranslator

        plan = _plan(args, group, run_params, require_run_params=False)
        translator = SpineDagsterTranslator()
        job = translator.get_job_name(group.spec)
        config = _run_config(group, plan, run_params)
        if group.spec.partitions is not None:  # Dagster allows no config mapping on a partitioned job
            aliases = [translator.get_node_alias(step) for step in plan.steps]
            config = {"ops": {alias: {"config": {"params": dict(config["params"])}} for alias in aliases}}
            out.write(
                '# a partitioned group: also pass the partition, e.g. --tags \'{"dagster/partition": "..."}\'\n'
            )
        out.write(f"# dagster job execute -m spine_dagster.definitions -j {job} -c <this file>\n")
        out.write(yaml.safe_dump(config, sort_keys=False))
        return EXIT_OK
    plan = _plan(args, group, run_params)
    if args.format == "json":
        _dump_json(plan.to_json(), out)
        return EXIT_OK
    spec = group.spec
    policy = spec.policy
    print(f"group    {spec.name}  (version {spec.version}, domain {spec.domain or '-'})", file=out)
    print(
        f"policy   execution={policy.execution} max_concurrency={policy.max_concurrency} "
        f"on_failure={policy.on_failure} timeout_minutes={policy.timeout_minutes}",
        file=out,
    )
    print(f"params   {json.dumps(plan.params) if plan.params else '-'}", file=out)
    print(file=out)
    rows = [
        [
            s.order,
            s.level,
            s.name,
            s.pipeline,
            ", ".join(s.depends_on) or "-",
            json.dumps(dict(s.params), default=repr),
        ]
        for s in plan.steps
    ]
    print(_table(rows, ["order", "level", "step", "pipeline", "depends_on", "params"]), file=out)
    return EXIT_OK


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


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import dataclasses

    from .launch import run_group

    run_params = _parse_params(args.param)
    group = _find_group(args, args.group)
    spec = group.spec
    runs = _partitions_to_run(args, spec)
    for _key, filled in runs:
        _plan(args, group, {**run_params, **filled})  # bad params fail here, before any run is created
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
        except KeyError:
            raise SpineError(
                f"group {spec.name!r} is not in the Dagster code location (run `spine validate` to see why)"
            ) from None
        outcomes.append(outcome)
        if table:
            _print_outcome(args, outcome, out)
    if not table:
        data = outcomes[0].to_json() if len(outcomes) == 1 else {"runs": [o.to_json() for o in outcomes]}
        _dump_json(data, out)
    else:
        if len(outcomes) > 1:
            done = sum(o.status == "completed" for o in outcomes)
            emit(f"{done} of {len(outcomes)} runs completed")
        _where_to_look(settings, emit)
    return EXIT_OK if all(o.status == "completed" for o in outcomes) else EXIT_INVALID


def _where_to_look(settings: Any, emit: Any) -> None:
    from .warehouse.connect import redact_url

    home = os.environ.get("DAGSTER_HOME") or str(settings.dagster_home.resolve())
    emit(f"warehouse: {redact_url(settings.warehouse_url)}  (tables and *_latest views per domain schema)")
    emit(f"runs:      spine dev   (dagster dev with DAGSTER_HOME={home}), then open http://127.0.0.1:3000")


def _print_outcome(args: argparse.Namespace, outcome: Any, out: TextIO) -> int:
    if args.format == "json":
        _dump_json(outcome.to_json(), out)
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
        print(_table(rows, ["step", "status", "attempts", "seconds", "error"]), file=out)
        print(
            f"group {outcome.group}: {outcome.status}  (run {outcome.run_id}, batch {outcome.batch_id})",
            file=out,
        )
    return EXIT_OK if outcome.status == "completed" else EXIT_INVALID


def cmd_rerun(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import dataclasses

    from .launch import rerun_from_failure

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
    return _print_outcome(args, outcome, out)


def _week_window(spec: Any, day: Any) -> str:
    """The key (first day) of the weekly partition window holding ``day``."""
    import datetime as dt

    from .defs.translator import SpineDagsterTranslator

    week_def = SpineDagsterTranslator().get_week_partitions_def(spec.partitions.weekly)
    return week_def.get_partition_key_for_timestamp(
        dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC).timestamp()
    )


def _partition_key(spec: Any, key: str) -> tuple[str, dict[str, Any]]:
    """Dagster's partition key for ``--partition`` (``WEEK`` or ``WEEK|VALUE`` in either order) and the
    params it fills. WEEK is the week's first day (Dagster's key), or any day of that week."""
    import datetime as dt

    from .defs.translator import SpineDagsterTranslator

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


def cmd_dev(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``dagster dev`` on the same instance as ``spine run`` (prepared first), bound to localhost by default."""
    import dataclasses
    import shutil

    from .launch import prepare_dagster_home

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


def cmd_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result = _load_dir(args)
    entries = []
    diags = list(result.diagnostics)
    for group in result.groups:
        spec = group.spec
        problems: tuple[Diagnostic, ...] = ()
        try:
            _plan(args, group, None)
        except SpineError as exc:
            problems = exc.diagnostics
            diags.extend(problems)
        schedules = [s.cron for s in spec.schedules]
        if spec.partitions is not None and spec.partitions.schedule is not None:
            schedules.append("partitioned")
        entries.append(
            {
                "name": spec.name,
                "domain": spec.domain,
                "steps": len(spec.steps),
                "schedules": schedules,
                "partitioned": spec.partitions is not None,
                "path": group.source.path,
                "valid": not problems,
            }
        )
    if args.format == "json":
        _dump_json({"groups": entries, "errors": [d.to_json() for d in diags]}, out)
    else:
        rows = [
            [
                e["name"],
                e["domain"] or "-",
                e["steps"],
                ", ".join(e["schedules"]) or "-",
                "valid" if e["valid"] else "INVALID",
                e["path"],
            ]
            for e in entries
        ]
        print(_table(rows, ["group", "domain", "steps", "schedule", "status", "file"]), file=out)
        if diags:
            print(f"\n{plural(len(diags), 'error')} (run `spine validate` for details):", file=err)
            _print_diagnostics(diags, err)
    return EXIT_INVALID if diags and args.strict else EXIT_OK


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .plan.params import UNRESOLVED

    run_params = _parse_params(args.param)
    group = _find_group(args, args.group)
    spec = group.spec
    if spec.step(args.step) is None:
        best = did_you_mean(args.step, [s.name for s in spec.steps])
        hint = f" (did you mean {best!r}?)" if best else ""
        raise SpineError(f"group {spec.name!r} has no step {args.step!r}{hint}")
    plan = _plan(args, group, run_params, require_run_params=False)
    step = plan.step(args.step)
    names = list(step.params)
    if args.name is not None:
        if args.name not in step.params:
            best = did_you_mean(args.name, names)
            hint = f" (did you mean {best!r}?)" if best else ""
            raise SpineError(f"step {args.step!r} has no param {args.name!r}{hint}")
        names = [args.name]
    rows = []
    for name in names:
        value = step.params[name]
        shown = "<needs run param>" if value is UNRESOLVED else json.dumps(value)
        source = step.sources[name]
        rows.append([name, shown, source.layer, source.describe()])
    print(f"{spec.name} / {step.name} ({step.pipeline})", file=out)
    print(_table(rows, ["param", "value", "layer", "set by"]), file=out)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .spec.schema import group_json_schema

    _dump_json(group_json_schema(), out)
    return EXIT_OK


def _field_text(name: str, field: Any) -> str:
    annotation = getattr(field.annotation, "__name__", None) or str(field.annotation).replace("typing.", "")
    if field.is_required():
        return f"{name}: {annotation} (required)"
    return f"{name}: {annotation} = {field.default!r}"


def cmd_pipelines(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    registry = _registry(args)
    entries = []
    for pipeline in registry:
        fields = pipeline.Params.model_fields
        entries.append(
            {
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
                "accepts_any_param": pipeline.accepts_any_param(),
                "reads": list(pipeline.reads),
                "writes": list(pipeline.writes),
                "checks": [
                    {"name": c.name, "table": c.table, "severity": c.severity, "blocking": c.blocking}
                    for c in pipeline.checks
                ],
            }
        )
    if args.format == "json":
        _dump_json({"pipelines": entries}, out)
        return EXIT_OK
    rows = []
    for pipeline, entry in zip(registry, entries, strict=True):
        params = "; ".join(_field_text(n, f) for n, f in pipeline.Params.model_fields.items())
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
    print(_table(rows, ["pipeline", "params", "reads", "writes", "description"]), file=out)
    return EXIT_OK


# --- parser ----------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exit code for usage errors is 2 too
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    settings = get_settings()
    parser = _Parser(prog="spine", description="PipelineGroup YAML -> Dagster: validate, plan, explain.")
    parser.add_argument(
        "--groups-dir",
        default=str(settings.groups_dir),
        help="directory of group files (default: $SPINE_GROUPS_DIR or ./groups)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def formats(p: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
        p.add_argument("--format", choices=choices, default=choices[0])

    def skip_check(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--skip-pipeline-check",
            action="store_true",
            help="accept pipeline names that are not registered here (files for another code base)",
        )

    def params(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--param",
            action="append",
            metavar="KEY=VALUE",
            help="a run param; VALUE is read as a YAML scalar (true -> bool, 6 -> int)",
        )

    p = sub.add_parser("validate", help="check group files; list valid groups and every error")
    p.add_argument("paths", nargs="*", help="files or directories (default: the groups dir)")
    p.add_argument("--strict", action="store_true", help="exit 1 on any error (always the case here)")
    p.add_argument("--show-source", action="store_true", help="print the offending line, underlined")
    formats(p, ("text", "json"))
    skip_check(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="show the resolved plan of a group")
    p.add_argument("group", metavar="GROUP_OR_FILE")
    params(p)
    formats(p, ("table", "json", "dagster-run-config"))
    skip_check(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("run", help="run a group's Dagster job now, against the instance in DAGSTER_HOME")
    p.add_argument("group", metavar="GROUP")
    params(p)
    p.add_argument(
        "--partition",
        action="append",
        help="a partition: a day of the week (YYYY-MM-DD), plus |VALUE for a static dimension; repeatable",
    )
    p.add_argument(
        "--partition-range",
        metavar="FROM..TO",
        help="every week from FROM to TO (dates), times every static value: one run each, oldest first",
    )
    formats(p, ("table", "json"))
    p.set_defaults(func=cmd_run, skip_pipeline_check=False)

    p = sub.add_parser(
        "rerun", help="re-execute a failed group run from its failure (only failed and not-run steps)"
    )
    p.add_argument("run_id")
    formats(p, ("table", "json"))
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("dev", help="start the Dagster UI and daemon on spine run's instance (dagster dev)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser("list", help="groups in the groups dir, with their validity")
    p.add_argument("--strict", action="store_true", default=settings.strict, help="exit 1 if any file is bad")
    formats(p, ("table", "json"))
    p.set_defaults(func=cmd_list, skip_pipeline_check=False)

    p = sub.add_parser("explain", help="each param of a step: final value and the layer that set it")
    p.add_argument("group", metavar="GROUP_OR_FILE")
    p.add_argument("step")
    p.add_argument("name", nargs="?", metavar="PARAM")
    params(p)
    skip_check(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("schema", help="print the JSON Schema of the group language")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("pipelines", help="registered pipelines with their params and tables")
    formats(p, ("table", "json"))
    p.set_defaults(func=cmd_pipelines)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI; return the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        return args.func(args, out, err)
    except UsageError as exc:
        print(f"spine: error: {exc}", file=err)
        return EXIT_USAGE
    except SpineError as exc:
        _print_diagnostics(exc.diagnostics, err)
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
    except BrokenPipeError:  # `spine schema | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep Python's exit flush quiet
        return EXIT_OK
    except Exception as exc:  # a bug, not bad input: say so without a wall of traceback
        if os.environ.get("SPINE_DEBUG"):
            raise
        print(f"spine: internal error (please report it): {type(exc).__name__}: {exc}", file=err)
        print("spine: set SPINE_DEBUG=1 to see the traceback", file=err)
        return EXIT_INVALID
