"""Real servers in end-to-end tests: a free port, GraphQL over HTTP, waiting until ready, and a clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str, timeout: float = 30) -> dict[str, Any]:
    """The ``data`` of a GraphQL query to the Dagster webserver on 127.0.0.1:``port``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.loads(response.read())
    assert body.get("data") is not None, body.get("errors")
    return body["data"]


def wait_until(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen[Any] | None = None,
) -> T:
    """Call ``check`` until it returns something truthy (a connection error counts as not yet) and return it.

    Fails when ``timeout`` seconds have passed, or at once when ``process`` (the server waited for) exits.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OSError:  # refused, reset, timed out: the server is not up yet
            result = None
        if result:
            return result
        assert process is None or process.poll() is None, f"{what}: the server exited ({process.returncode})"
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.5)


def server_info_answers(port: int) -> bool:
    """Whether the Dagster webserver on 127.0.0.1:``port`` serves (``/server_info`` answers 200)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
        return response.status == 200


def stop_process_group(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    """Stop everything in the process group ``process`` leads (started with ``start_new_session=True``).

    SIGTERM first (``dagster dev`` treats it as Ctrl-C and shuts its webserver, daemon and code servers
    down), then SIGKILL to whatever is left after ``timeout`` seconds. ``dagster dev`` ignores SIGTERM when
    it was started with SIGINT ignored, as by ``cmd &`` in a script (docs/dagster.md): the SIGKILL covers it.
    """
    group = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _group_alive(process) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait(timeout=timeout)


def _group_alive(process: subprocess.Popen[Any]) -> bool:
    """Whether the leader or any other live (not zombie) process is still in ``process``'s group."""
    if process.poll() is None:
        return True
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: ask the kernel (zombies count as alive here, the timeout covers it)
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp ...
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == process.pid and fields[0] != "Z":
            return True
    return False
