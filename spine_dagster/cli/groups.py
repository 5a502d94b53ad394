"""The commands about group files: ``validate``, ``plan``, ``list``, ``explain``."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from .._text import hint, plural
from ..errors import Diagnostic, SpineError
from . import EXIT_INVALID, EXIT_OK
from .inputs import (
    default_registry,
    find_group,
    load_dir,
    parse_params,
    plan_for,
    plugin_problems,
    warn_plugin_problems,
)
from .output import dump_json, print_diagnostics, table


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine validate``: load and plan every file; the valid groups and every error (exit 1 if any)."""
    from ..plan.ownership import table_ownership
    from ..spec import load_groups

    targets = args.paths or [args.groups_dir]
    result = load_groups(targets)
    plugins = plugin_problems(args)
    diags = [*plugins, *result.diagnostics]
    valid: list[Any] = []
    plans: list[Any] = []
    for group in result.groups:
        try:
            plans.append(plan_for(args, group, None))
            valid.append(group)
        except SpineError as exc:
            diags.extend(exc.diagnostics)
    # Which step produces each table's Dagster asset, said where more than one step writes a table.
    ownership = table_ownership(plans, default_registry(args))
    if args.format == "json":
        shared = [
            {
                "table": table,
                "owner": {"group": ownership.owners[table].group, "step": ownership.owners[table].step},
                "writers": [{"group": w.group, "step": w.step} for w in writers],
            }
            for table, writers in sorted(ownership.writers.items())
            if len(writers) > 1
        ]
        dump_json(
            {
                "valid": [g.name for g in valid],
                "errors": [d.to_json() for d in diags],
                "shared_tables": shared,
            },
            out,
        )
    else:
        print_diagnostics(diags, out, show_source=args.show_source)
        for group in valid:
            print(f"ok  {group.name}  ({group.source.path})", file=out)
        for note in ownership.notes():
            print(f"note  {note}", file=out)
        in_files = diags[len(plugins) :]
        files = {d.path for d in in_files}
        print(
            f"{plural(len(valid), 'valid group')}, {plural(len(in_files), 'error')}"
            + (f" in {plural(len(files), 'file')}" if in_files else "")
            + f" ({plural(len(result.files), 'file')} checked)"
            + (f", {plural(len(plugins), 'pipeline plugin')} failed to load" if plugins else ""),
            file=out,
        )
    return EXIT_INVALID if diags else EXIT_OK


def _print_run_config(args: argparse.Namespace, group: Any, run_params: dict[str, Any], out: TextIO) -> None:
    """``spine plan --format dagster-run-config``: a run config for ``dagster job execute``, as YAML."""
    import yaml

    from ..composition import get_translator
    from ..defs.config import example_run_config
    from ..defs.jobs import step_aliases

    plan = plan_for(args, group, run_params, require_run_params=False)
    translator = get_translator()
    try:
        aliases = step_aliases(plan, translator)
    except ValueError as exc:
        raise SpineError(str(exc)) from None
    config = example_run_config(plan, aliases, run_params)
    if plan.partitions is not None:  # Dagster allows no config mapping on a partitioned job
        out.write(
            '# a partitioned group: also pass the partition, e.g. --tags \'{"dagster/partition": "..."}\'\n'
        )
    job = translator.get_job_name(plan.spec)
    out.write(f"# dagster job execute -m spine_dagster.definitions -j {job} -c <this file>\n")
    out.write(yaml.safe_dump(config, sort_keys=False))


def cmd_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine plan``: the resolved plan of one group (table or JSON), or its Dagster run config."""
    run_params = parse_params(args.param)
    group = find_group(args, args.group)
    warn_plugin_problems(args, err)
    if args.format == "dagster-run-config":
        _print_run_config(args, group, run_params, out)
        return EXIT_OK
    plan = plan_for(args, group, run_params)
    if args.format == "json":
        dump_json(plan.to_json(), out)
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
    print(table(rows, ["order", "level", "step", "pipeline", "depends_on", "params"]), file=out)
    return EXIT_OK


def _list_entry(args: argparse.Namespace, group: Any) -> tuple[dict[str, Any], tuple[Diagnostic, ...]]:
    """The ``spine list`` entry of one loaded group, and the problems planning it found."""
    spec = group.spec
    problems: tuple[Diagnostic, ...] = ()
    try:
        plan_for(args, group, None)
    except SpineError as exc:
        problems = exc.diagnostics
    schedules = [s.cron for s in spec.schedules]
    if spec.partitions is not None and spec.partitions.schedule is not None:
        schedules.append("partitioned")
    entry = {
        "name": spec.name,
        "domain": spec.domain,
        "steps": len(spec.steps),
        "schedules": schedules,
        "partitioned": spec.partitions is not None,
        "path": group.source.path,
        "valid": not problems,
    }
    return entry, problems


def cmd_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine list``: the groups of the groups dir, valid or not; bad files on stderr (exit 1 if strict)."""
    result = load_dir(args)
    entries = []
    diags = [*plugin_problems(args), *result.diagnostics]
    for group in result.groups:
        entry, problems = _list_entry(args, group)
        entries.append(entry)
        diags.extend(problems)
    if args.format == "json":
        dump_json({"groups": entries, "errors": [d.to_json() for d in diags]}, out)
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
        print(table(rows, ["group", "domain", "steps", "schedule", "status", "file"]), file=out)
        if diags:
            print(f"\n{plural(len(diags), 'error')} (run `spine validate` for details):", file=err)
            print_diagnostics(diags, err)
    return EXIT_INVALID if diags and args.strict else EXIT_OK


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine explain``: each param of one step (or just one param), its final value and who set it."""
    from ..plan.params import UNRESOLVED

    run_params = parse_params(args.param)
    group = find_group(args, args.group)
    spec = group.spec
    warn_plugin_problems(args, err)
    if spec.step(args.step) is None:
        raise SpineError(
            f"group {spec.name!r} has no step {args.step!r}{hint(args.step, [s.name for s in spec.steps])}"
        )
    plan = plan_for(args, group, run_params, require_run_params=False)
    step = plan.step(args.step)
    names = list(step.params)
    if args.name is not None:
        if args.name not in step.params:
            raise SpineError(f"step {args.step!r} has no param {args.name!r}{hint(args.name, names)}")
        names = [args.name]
    registry = default_registry(args)
    aliases = registry.get(step.pipeline).param_aliases() if step.pipeline in registry else {}
    rows = []
    for name in names:
        value = step.params[name]
        shown = "<needs run param>" if value is UNRESOLVED else json.dumps(value)
        source = step.sources[name]
        label = f"{name} (alias of {aliases[name]})" if name in aliases else name  # spine-core's name
        rows.append([label, shown, source.layer, source.describe()])
    print(f"{spec.name} / {step.name} ({step.pipeline})", file=out)
    print(table(rows, ["param", "value", "layer", "set by"]), file=out)
    if args.name is None and step.check_policies:
        checks = [
            [name, policy.table, policy.severity, "yes" if policy.blocking else "no",
             "the step's checks:" if policy.overridden else "the pipeline"]
            for name, policy in step.check_policies.items()
        ]  # fmt: skip
        print(file=out)
        print(table(checks, ["check", "table", "severity", "blocking", "set by"]), file=out)
    return EXIT_OK
