"""Following a run while it executes in this process or elsewhere: step progress lines read back from its
event log (:class:`StepProgress`), and the stop of a run whose group timeout passed or that was stopped from
outside (:class:`RunWatch`). Used by ``spine run`` in process (launch.py) and ``spine run --queue``
(queue.py)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from .runtime.binding import StepAliases


def _progress_event_types() -> set[Any]:
    import dagster as dg

    kinds = dg.DagsterEventType
    return {
        kinds.STEP_START, kinds.STEP_RESTARTED, kinds.STEP_SUCCESS, kinds.STEP_UP_FOR_RETRY,
        kinds.STEP_FAILURE, kinds.ENGINE_EVENT,
    }  # fmt: skip


class StepProgress(threading.Thread):
    """Polls the run's event log and reports step transitions as they happen, and which run holds the
    slot a waiting step needs."""

    def __init__(self, instance: Any, run_id: str, aliases: StepAliases, emit: Callable[[str], None]):
        super().__init__(daemon=True)
        self.instance, self.run_id, self.emit = instance, run_id, emit
        self.step_of = aliases.step_by_alias
        self.done = threading.Event()
        self.cursor: str | None = None  # the event log's cursor: each poll reads only what is new
        self.kinds = _progress_event_types()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.poll()

    def poll(self) -> None:
        import dagster as dg

        # Only the new step and engine events: reading the whole log every 0.2 s cost a run of ~45 events a
        # full read and deserialization per poll, on a thread that competes with the steps for the GIL.
        found = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, of_type=self.kinds)
        for record in found.records:
            event = record.event_log_entry.dagster_event
            if event is None or event.step_key is None:
                continue
            step = self.step_of.get(event.step_key, event.step_key)
            kind = event.event_type
            if kind == dg.DagsterEventType.STEP_START:
                self.emit(f"  > {step} started")
            elif kind == dg.DagsterEventType.STEP_RESTARTED:
                self.emit(f"  > {step} retrying")
            elif kind == dg.DagsterEventType.STEP_SUCCESS:
                self.emit(f"  + {step} completed")
            elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY:
                self.emit(f"  ! {step} failed, will retry")
            elif kind == dg.DagsterEventType.STEP_FAILURE:
                self.emit(f"  x {step} failed")
            elif kind == dg.DagsterEventType.ENGINE_EVENT and (event.message or "").startswith(
                "Step blocked by limit for pool "
            ):
                pool = event.message.rsplit(" ", 1)[-1]
                self.emit(f"  ~ {step} waits for a slot in pool {pool}{self._holders(pool)}")
        self.cursor = found.cursor

    def _holders(self, pool: str) -> str:
        slots = self.instance.event_log_storage.get_concurrency_info(pool).claimed_slots
        held = [f"run {s.run_id} (step {s.step_key})" for s in slots if s.run_id != self.run_id]
        return f", held by {', '.join(held)}" if held else ""


TIMEOUT_TAG = "spine/timeout"


class RunWatch(threading.Thread):
    """Stops this process's run, as Ctrl-C does (SIGINT to itself, which Dagster turns into an interrupt of
    the running or waiting steps), when its group's ``timeout_minutes`` (the ``dagster/max_runtime`` tag)
    has passed, or when the run was asked to stop from outside: Terminate in the UI, or run monitoring
    marking it failed. Without this, a ``spine run`` run marked failed or canceled went on executing.
    """

    STOP = ("CANCELING", "CANCELED", "FAILURE")

    def __init__(self, instance: Any, run_id: str, max_runtime: float | None) -> None:
        super().__init__(daemon=True)
        self.instance, self.run_id = instance, run_id
        self.deadline = time.monotonic() + max_runtime if max_runtime else None
        self.max_runtime = max_runtime
        self.done = threading.Event()
        self.timed_out = False

    def run(self) -> None:
        while not self.done.wait(1.0):  # `done` first: a run that ended on its own is never signalled
            if self.deadline is not None and time.monotonic() > self.deadline:
                self.timed_out = True
                minutes = (self.max_runtime or 0) / 60
                run = self.instance.get_run_by_id(self.run_id)
                self.instance.add_run_tags(self.run_id, {TIMEOUT_TAG: f"{minutes:g} minutes"})
                self.instance.report_engine_event(
                    f"the group's timeout_minutes ({minutes:g}) passed: stopping its steps", run
                )
            elif self.instance.get_run_by_id(self.run_id).status.value not in self.STOP:
                continue
            elif self._failed_here():
                return  # the run failed on its own: Dagster marks it FAILURE just before execute_run returns
            if not self.done.is_set():
                os.kill(os.getpid(), signal.SIGINT)
            return

    def _failed_here(self) -> bool:
        """Whether this process recorded the run's failure (its own steps failed), not another one
        (run monitoring in the daemon, the reaper, a Terminate from the UI)."""
        import dagster as dg

        failures = self.instance.all_logs(self.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        event = failures[-1].dagster_event if failures else None
        return event is not None and event.pid == os.getpid()
