"""Fail-fast for ``on_failure: stop``: after a step has failed for good, no further step starts.

Dagster has no such switch. When a step's op body raises under ``on_failure: stop``, :func:`arm_fail_fast`
adds a one-shot handler to that step attempt's log manager (``context.log``), through which Dagster logs
the attempt's outcome event. Dagster itself decides whether the failure is final: a retry is logged as
``STEP_UP_FOR_RETRY`` and the handler stays quiet; the final failure is logged as ``STEP_FAILURE``
(``dg.Failure(allow_retries=False)``, retries exhausted, ``RetryRequested`` past its maximum, retries
disabled). Once that event is stored, the handler logs the fail-fast error and stops the run:

* multiprocess executor (the step runs in a child process): SIGINT to the run worker, whose pid is read
  from the executor's own engine event. The executor stops launching steps, interrupts the running
  siblings, and the run ends FAILURE;
* in-process executor (the step runs in the run worker): it raises Dagster's execution interrupt there
  and then, as a SIGINT during the run does; the run ends FAILURE. (The failure event is in the event log
  but the interrupt overtakes it on its way to the executor, so ``execute_in_process``'s result does not
  list it.) The executor frees a step's pool slot when it handles the step's outcome event
  (``ActiveExecution.handle_event`` -> ``InstanceConcurrencyContext.free_step``); this event never gets
  there, and the executor frees only pending claims on its way out, so the handler frees the step's slot
  itself first, with the same call (``free_concurrency_slot_for_step``). Otherwise the failed run would
  hold the slot for good and every later step in that pool would wait forever (no daemon: nothing applies
  ``free_slots_after_run_end_seconds``).

The run is never CANCELED, so run-failure sensors and re-execution from failure still work. A step that
succeeds costs nothing: no handler and no event (a ``@failure_hook`` writes ``HOOK_SKIPPED`` after every
successful step).
"""

from __future__ import annotations

import logging
import os
import signal

import dagster as dg


def _run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int:
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        data = event.engine_event_data if event is not None else None
        if data is not None and "pid" in data.metadata and "multiprocess executor" in (event.message or ""):
            return int(data.metadata["pid"].value)  # type: ignore[arg-type]
    return os.getpid()  # in-process executor: the step runs in the run worker itself


def _free_step_slot(instance: dg.DagsterInstance, run_id: str, step_key: str) -> None:
    """Free the pool slot a step holds, as Dagster's executor does on the step's failure event."""
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        storage.free_concurrency_slot_for_step(run_id, step_key)


class _StopOnFinalFailure(logging.Handler):
    """Sees every record of one step attempt's log manager, after Dagster's own handler stored it."""

    def __init__(self, context: dg.OpExecutionContext, step_key: str, pid: int) -> None:
        super().__init__()
        self.context, self.step_key, self.pid = context, step_key, pid
        self.fired = False

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)  # where DagsterLogManager.log_dagster_event puts it
        if (
            self.fired
            or not isinstance(event, dg.DagsterEvent)
            or event.step_key != self.step_key
            or not event.is_step_failure
        ):
            return
        self.fired = True
        self.context.log.error(
            f"fail-fast (on_failure: stop): step {self.step_key} failed; no further step starts"
        )
        if self.pid != os.getpid():
            # The run worker's executor still receives this step's failure event and frees its slot.
            os.kill(self.pid, signal.SIGINT)
            return
        _free_step_slot(self.context.instance, self.context.run_id, self.step_key)
        raise dg.DagsterExecutionInterruptedError(
            f"fail-fast (on_failure: stop): step {self.step_key} failed"
        )


def arm_fail_fast(context: dg.OpExecutionContext) -> None:
    """Stop the run if Dagster records this attempt's failure as final (call when the op body raises)."""
    step_context = context.get_step_execution_context()
    if step_context.raise_on_error:
        return  # execute_in_process(raise_on_error=True): the failure is raised, which stops the run
    pid = _run_worker_pid(context.instance, context.run_id)
    context.log.addHandler(_StopOnFinalFailure(context, step_context.step.key, pid))
