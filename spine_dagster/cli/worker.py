"""``spine worker``: a Celery worker for this code location (dagster-celery's worker, in the foreground).

A thin wrapper over ``celery -A dagster_celery.app worker`` (what ``dagster-celery worker start`` runs):
it starts that worker as a child process with the deployment's settings and waits for it; SIGINT and
SIGTERM are passed on as SIGTERM (Celery's warm shutdown: the running steps finish, nothing new is taken)
and it then exits 0. What it adds:

* the broker and backend from ``SPINE_CELERY_BROKER`` / ``SPINE_CELERY_BACKEND`` (the same settings the
  run worker submits with), passed to Celery in its own environment variables (``CELERY_BROKER_URL``,
  ``CELERY_RESULT_BACKEND``), never on a command line or in a file, and never printed with a password;
* ``task_acks_late`` + ``task_reject_on_worker_lost`` + a prefetch of one, in a generated
  ``dagster_celery_config`` module (the hook ``dagster_celery.app`` reads; no secret in it): a task is
  acknowledged when it ends, so a worker killed mid-step hands its step back to the broker and another
  worker runs it again (steps must be idempotent);
* the environment a step needs to rebuild its job exactly as the run worker built it: ``SPINE_EXECUTOR``
  (``celery``), ``SPINE_GROUPS_DIR`` and ``SPINE_HOME`` as absolute paths;
* the multi-writer guard: a worker on a DuckDB warehouse is refused unless ``SPINE_SINGLE_WRITER=1``.

A Celery worker listens on no port: it talks to the broker only (remote control, such as revoking a task,
goes through the broker too).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from ..settings import Settings
from . import EXIT_OK

# Celery settings every spine worker runs with (see the module docstring). No secret may go here.
WORKER_CONFIG = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
}


def worker_argv(concurrency: int, queues: Sequence[str], name: str, loglevel: str = "INFO") -> list[str]:
    """The ``celery worker`` command line (no URL in it: those go through the environment)."""
    argv = [sys.executable, "-m", "celery", "-A", "dagster_celery.app", "worker"]
    argv += ["--concurrency", str(concurrency), "--prefetch-multiplier", "1", "--loglevel", loglevel]
    argv += ["-n", name]
    for queue in queues:
        argv += ["-Q", queue]
    return argv


def worker_environment(settings: Settings, config_dir: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment: ``base`` plus the broker, backend, config module and spine settings."""
    env = dict(base)
    env["CELERY_BROKER_URL"] = settings.celery_broker
    env["CELERY_RESULT_BACKEND"] = settings.celery_backend
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(config_dir), base.get("PYTHONPATH", "")) if p)
    env["SPINE_EXECUTOR"] = "celery"
    env["SPINE_GROUPS_DIR"] = str(settings.groups_dir.resolve())
    env["SPINE_HOME"] = str(settings.home.resolve())
    return env


def write_worker_config(config_dir: Path) -> Path:
    """Write the ``dagster_celery_config`` module ``dagster_celery.app`` imports (``WORKER_CONFIG``)."""
    path = config_dir / "dagster_celery_config.py"
    lines = [
        "# Written by `spine worker` for this worker's lifetime (no secrets: URLs come from the environment)."
    ]
    lines += [f"{key} = {value!r}" for key, value in WORKER_CONFIG.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def _forwarding(process: subprocess.Popen[bytes], stopped: list[int]) -> Iterator[None]:
    """While it lasts, SIGINT and SIGTERM to this process are passed on to ``process`` as SIGTERM (Celery's
    warm shutdown), and recorded in ``stopped``.

    Always SIGTERM: Ctrl-C in a terminal reaches the worker directly too (same process group), and a
    second SIGINT would be Celery's *cold* shutdown, which kills the running steps. A repeated SIGTERM
    is harmless.
    """

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopped.append(signum)
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)

    saved = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def run_worker(
    settings: Settings, *, concurrency: int, queues: Sequence[str], name: str | None, err: TextIO
) -> int:
    """Run a Celery worker in the foreground until it exits; its exit code (0 when stopped by SIGINT/SIGTERM)."""
    from ..warehouse.connect import redact_url
    from ..warehouse.guard import require_multi_writer

    require_multi_writer(settings, "spine worker runs steps that write the warehouse next to other workers")
    node = name or f"spine-{uuid.uuid4().hex[:6]}"
    node = node if "@" in node else f"{node}@%h"
    with tempfile.TemporaryDirectory(prefix="spine-worker-") as tmp:
        config_dir = Path(tmp)
        write_worker_config(config_dir)
        env = worker_environment(settings, config_dir, os.environ)
        print(
            f"spine worker {node}: {concurrency} process(es), queue(s) {', '.join(queues)}, broker "
            f"{redact_url(settings.celery_broker)}, backend {redact_url(settings.celery_backend)}",
            file=err,
            flush=True,
        )
        stopped: list[int] = []
        process = subprocess.Popen(worker_argv(concurrency, queues, node), env=env)
        with _forwarding(process, stopped):
            code = process.wait()
    if stopped and code in (0, 1, -signal.SIGINT, -signal.SIGTERM):
        return EXIT_OK  # stopped as asked (Celery exits 1 after a SIGINT it got from the terminal)
    return code


def cmd_worker(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``spine worker``: start a Celery worker for this code location and wait for it."""
    import dataclasses

    from ..settings import get_settings

    if args.concurrency < 1:
        from . import UsageError

        raise UsageError("--concurrency must be at least 1")
    settings = dataclasses.replace(get_settings(), groups_dir=Path(args.groups_dir))
    return run_worker(
        settings,
        concurrency=args.concurrency,
        queues=args.queue or [settings.celery_queue],
        name=args.name,
        err=err,
    )
