"""Fail-fast for ``on_failure: stop``: after a step has failed for good, no further step starts.

Dagster has no such switch. The hook below fires only on a step's final failure (never on a retry) and
sends SIGINT to the run worker: the executors stop launching steps, running siblings are interrupted,
and the run ends FAILURE (not CANCELED), so run-failure sensors and re-execution from failure still work.
Under the multiprocess executor the step runs in a child process (of a forkserver), so the run worker's
pid is read from the executor's own engine event.
"""

from __future__ import annotations

import os
import signal

import dagster as dg

FAIL_FAST_HOOK = "spine_fail_fast"


def _run_worker_pid(context: dg.HookContext) -> int:
    for record in context.instance.all_logs(context.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        data = event.engine_event_data if event is not None else None
        if data is not None and "pid" in data.metadata and "multiprocess executor" in (event.message or ""):
            return int(data.metadata["pid"].value)  # type: ignore[arg-type]
    return os.getpid()  # in-process executor: the step runs in the run worker itself


@dg.failure_hook(name=FAIL_FAST_HOOK)
def fail_fast_hook(context: dg.HookContext) -> None:
    """Stop the run after this step's final failure."""
    pid = _run_worker_pid(context)
    context.log.error(f"fail-fast (on_failure: stop): step {context.op.name} failed; no further step starts")
    os.kill(pid, signal.SIGINT)
