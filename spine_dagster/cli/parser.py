"""The argparse tree of the ``spine`` command: one small function per command adds its subparser."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from ..settings import Settings, get_settings
from . import EXIT_USAGE
from .failures import cmd_failures, cmd_failures_resolve, cmd_failures_retry
from .groups import cmd_explain, cmd_list, cmd_plan, cmd_validate
from .reference import cmd_pipelines, cmd_schema
from .runs import cmd_dev, cmd_rerun, cmd_run
from .worker import cmd_worker

if TYPE_CHECKING:
    # What `add_subparsers` returns (argparse does not name it publicly).
    _Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors print ``spine: error: ...`` and exit 2."""

    def error(self, message: str) -> Any:  # argparse's own exit code for usage errors is 2 too
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _finish(
    p: argparse.ArgumentParser,
    func: Callable[..., int],
    formats: tuple[str, ...] = (),
    *,
    skip_check: bool = False,
    **defaults: Any,
) -> None:
    """The options every command ends with, in this order: ``--format`` (the first choice being the
    default) and ``--skip-pipeline-check``, if asked for; then the command's ``func`` and other defaults."""
    if formats:
        p.add_argument("--format", choices=formats, default=formats[0])
    if skip_check:
        p.add_argument(
            "--skip-pipeline-check",
            action="store_true",
            help="accept pipeline names that are not registered here (files for another code base)",
        )
    p.set_defaults(func=func, **defaults)


def _params(p: argparse.ArgumentParser) -> None:
    """``--param KEY=VALUE``, repeatable."""
    p.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a run param; VALUE is read as a YAML scalar (true -> bool, 6 -> int)",
    )


def _add_validate(sub: _Subparsers) -> None:
    p = sub.add_parser("validate", help="check group files; list valid groups and every error")
    p.add_argument("paths", nargs="*", help="files or directories (default: the groups dir)")
    p.add_argument("--show-source", action="store_true", help="print the offending line, underlined")
    _finish(p, cmd_validate, ("text", "json"), skip_check=True)


def _add_plan(sub: _Subparsers) -> None:
    p = sub.add_parser("plan", help="show the resolved plan of a group")
    p.add_argument("group", metavar="GROUP_OR_FILE")
    _params(p)
    _finish(p, cmd_plan, ("table", "json", "dagster-run-config"), skip_check=True)


def _add_run(sub: _Subparsers) -> None:
    p = sub.add_parser("run", help="run a group's Dagster job now, against the instance in DAGSTER_HOME")
    p.add_argument("group", metavar="GROUP")
    _params(p)
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
    p.add_argument(
        "--queue",
        action="store_true",
        help="submit to Dagster's run queue (the daemon runs it) and follow it; several partitions become "
        "one Dagster backfill",
    )
    _finish(p, cmd_run, ("table", "json"), skip_pipeline_check=False)


def _add_rerun(sub: _Subparsers) -> None:
    p = sub.add_parser(
        "rerun", help="re-execute a failed group run from its failure (only failed and not-run steps)"
    )
    p.add_argument("run_id")
    _finish(p, cmd_rerun, ("table", "json"))


def _add_failures(sub: _Subparsers) -> None:
    p = sub.add_parser(
        "failures", help="group runs that failed or ended partial and wait for a retry or a resolve"
    )
    p.add_argument("--group", help="only this group's runs")
    p.add_argument("--since", metavar="DATE", help="only runs that ended on or after DATE (YYYY-MM-DD)")
    _finish(p, cmd_failures, ("table", "json"))
    actions = p.add_subparsers(dest="action", parser_class=_Parser)
    retry = actions.add_parser("retry", help="re-execute queued failures from their failure")
    retry.add_argument("run_id", nargs="?", metavar="RUN_ID")
    retry.add_argument("--all", action="store_true", help="every queued failure (of --group, if given)")
    retry.add_argument("--group", help="with --all: only this group's failures")
    _finish(retry, cmd_failures_retry, ("table", "json"))
    resolve = actions.add_parser("resolve", help="mark a queued failure handled without re-running it")
    resolve.add_argument("run_id", metavar="RUN_ID")
    resolve.add_argument("--note", required=True, help="how it was handled (kept as the spine/resolved tag)")
    _finish(resolve, cmd_failures_resolve)


def _add_dev(sub: _Subparsers) -> None:
    p = sub.add_parser("dev", help="start the Dagster UI and daemon on spine run's instance (dagster dev)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=3000)
    _finish(p, cmd_dev)


def _add_worker(sub: _Subparsers) -> None:
    p = sub.add_parser(
        "worker",
        help="start a Celery worker for SPINE_EXECUTOR=celery runs (dagster-celery's), in the foreground",
    )
    p.add_argument(
        "--concurrency", type=int, default=1, metavar="N", help="steps this worker runs at once (default 1)"
    )
    p.add_argument(
        "--queue",
        action="append",
        metavar="Q",
        help="a Celery queue to take steps from (default $SPINE_CELERY_QUEUE or dagster); repeatable",
    )
    p.add_argument("--name", help="the worker's node name (default spine-<random>@<host>)")
    _finish(p, cmd_worker)


def _add_list(sub: _Subparsers, settings: Settings) -> None:
    p = sub.add_parser("list", help="groups in the groups dir, with their validity")
    p.add_argument("--strict", action="store_true", default=settings.strict, help="exit 1 if any file is bad")
    _finish(p, cmd_list, ("table", "json"), skip_pipeline_check=False)


def _add_explain(sub: _Subparsers) -> None:
    p = sub.add_parser("explain", help="each param of a step: final value and the layer that set it")
    p.add_argument("group", metavar="GROUP_OR_FILE")
    p.add_argument("step")
    p.add_argument("name", nargs="?", metavar="PARAM")
    _params(p)
    _finish(p, cmd_explain, skip_check=True)


def _add_schema(sub: _Subparsers) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of the group language")
    _finish(p, cmd_schema)


def _add_pipelines(sub: _Subparsers) -> None:
    p = sub.add_parser("pipelines", help="registered pipelines with their params and tables")
    _finish(p, cmd_pipelines, ("table", "json"))


def build_parser() -> argparse.ArgumentParser:
    """The ``spine`` parser; each command's ``func`` is ``cmd_*(args, out, err) -> exit code``."""
    settings = get_settings()
    parser = _Parser(prog="spine", description="PipelineGroup YAML -> Dagster: validate, plan, explain.")
    parser.add_argument(
        "--groups-dir",
        default=str(settings.groups_dir),
        help="directory of group files (default: $SPINE_GROUPS_DIR or ./groups)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    # The order here is the order of `spine --help`.
    _add_validate(sub)
    _add_plan(sub)
    _add_run(sub)
    _add_rerun(sub)
    _add_failures(sub)
    _add_dev(sub)
    _add_worker(sub)
    _add_list(sub, settings)
    _add_explain(sub)
    _add_schema(sub)
    _add_pipelines(sub)
    return parser
