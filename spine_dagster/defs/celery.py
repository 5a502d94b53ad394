"""Step execution on Celery workers: dagster-celery's executor, bounded by the group's policy.

dagster-celery 0.29.27's ``celery_executor`` submits every ready step at once: its execution loop
(``dagster_celery.core_execution_loop``) starts Dagster's ``ActiveExecution`` without ``max_concurrent``
and its config has no such key (nor ``tag_concurrency_limits``). Pools are instance-wide, not per run, and
a worker's ``--concurrency`` bounds the worker, not a run. So a group's ``max_concurrency`` (and
``sequential``'s one step at a time) cannot be had from its config. :class:`SpineCeleryExecutor` is
dagster-celery's own ``CeleryExecutor`` and execution loop, unchanged (same tasks, same queues, same
workers), handed an execution plan whose ``start()`` passes Dagster's own ``max_concurrent`` to
``ActiveExecution``: the run worker then never has more than that many of the run's steps submitted.
It also keeps the plan order among ready steps (the ``dagster/priority`` op tags, after
``dagster-celery/priority``) and stops the run on a step's final failure under ``on_failure: stop``
(fail-fast): no further step is submitted, tasks still queued are revoked, and steps already running on
workers finish (Celery cannot interrupt them from the run worker). Pools, retries and re-execution are
Dagster's, exactly as with dagster-celery's executor.

Imported only when ``SPINE_EXECUTOR=celery`` (dagster-celery imports Celery).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
from dagster._core.events import EngineEventData
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task

FAIL_FAST_MESSAGE = "fail-fast (on_failure: stop)"
STOPPING_POLL_SECONDS = 0.25  # how often a stopping run polls its running tasks (see plan_events_iterator)

SPINE_CELERY_CONFIG: dict[str, Any] = {
    **CELERY_CONFIG,
    "max_concurrent": dg.Field(
        int,
        is_required=False,
        default_value=0,
        description="At most this many of the run's steps submitted to the workers at once (0: no limit).",
    ),
    "fail_fast": dg.Field(
        bool,
        is_required=False,
        default_value=False,
        description="After a step failed for good, submit no further step and revoke queued ones.",
    ),
}


@dg.executor(
    name="celery",
    config_schema=SPINE_CELERY_CONFIG,
    requirements=dg.multiple_process_executor_requirements(),
)
def spine_celery_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """dagster-celery's executor with ``max_concurrent`` and ``fail_fast``; refuses a DuckDB warehouse
    (:func:`spine_dagster.warehouse.guard.require_multi_writer`) before any step is submitted."""
    from ..settings import get_settings
    from ..warehouse.guard import MultiWriterRequiredError, require_multi_writer

    try:
        require_multi_writer(
            get_settings(), "SPINE_EXECUTOR=celery runs a run's steps in several worker processes"
        )
    except MultiWriterRequiredError as exc:  # a Dagster error: the run fails at initialization, cleanly
        raise dg.DagsterInvariantViolationError(exc.message) from None
    config = init_context.executor_config
    return SpineCeleryExecutor(
        retries=RetryMode.from_config(config["retries"]),  # type: ignore[arg-type]
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        max_concurrent=config.get("max_concurrent") or None,
        fail_fast=bool(config.get("fail_fast")),
    )


class SpineCeleryExecutor(CeleryExecutor):
    """dagster-celery's ``CeleryExecutor`` whose runs keep ``max_concurrent`` and ``fail_fast``."""

    def __init__(
        self, retries: RetryMode, *, max_concurrent: int | None, fail_fast: bool, **celery: Any
    ) -> None:
        super().__init__(retries, **celery)
        self.max_concurrent = max_concurrent
        self.fail_fast = fail_fast

    def execute(self, plan_context: Any, execution_plan: ExecutionPlan) -> Iterator[dg.DagsterEvent]:
        """dagster-celery's execution loop over a plan that starts a bounded ``ActiveExecution``."""
        from dagster_celery.core_execution_loop import core_celery_execution_loop

        started: list[_SpineActiveExecution] = []
        plan = _bounded_plan(execution_plan, self.max_concurrent, self.fail_fast, started.append)

        def submit(app: Any, context: Any, step: Any, queue: str, priority: int, known_state: Any) -> Any:
            result = _submit_task(app, context, step, queue, priority, known_state)
            return _StepResult(result, context.instance, context.run_id, step.key)

        for event in core_celery_execution_loop(plan_context, plan, step_execution_fn=submit):
            yield event
            active = started[0] if started else None
            if active is not None and active.failed_for_good is not None and not active.stop_announced:
                active.stop_announced = True
                yield dg.DagsterEvent.engine_event(
                    plan_context,
                    f"{FAIL_FAST_MESSAGE}: step {active.failed_for_good} failed; no further step is "
                    "submitted and queued steps are revoked (steps already running on workers finish)",
                    EngineEventData(),
                )


class _StepResult:
    """A step's Celery result as dagster-celery's loop uses it (``ready``, ``get``, ``revoke``).

    Under ``on_failure: stop`` the step's own process stops at its final failure
    (:mod:`spine_dagster.runtime.failfast` raises Dagster's interrupt there, as it does for an in-process
    step), after its ``STEP_FAILURE`` is stored; in a Celery worker that interrupt ends the task, and
    ``get()`` re-raises it here. Unhandled, it would end the run at once with steps still running on other
    workers. Instead the stored failure event is handed to the loop, as if the task had returned it, so the
    executor handles the failure like any other (and fail-fast stops the run, :class:`_SpineActiveExecution`).
    """

    def __init__(self, result: Any, instance: dg.DagsterInstance, run_id: str, step_key: str) -> None:
        self.result, self.instance, self.run_id, self.step_key = result, instance, run_id, step_key

    def ready(self) -> bool:
        return self.result.ready()

    def revoke(self) -> None:
        self.result.revoke()

    def get(self) -> list[str]:
        from dagster._core.errors import DagsterExecutionInterruptedError
        from dagster._serdes import serialize_value

        try:
            return self.result.get()
        except DagsterExecutionInterruptedError as exc:
            if not str(exc).startswith(FAIL_FAST_MESSAGE):
                raise
            failures = [
                record.dagster_event
                for record in self.instance.all_logs(self.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
                if record.dagster_event is not None and record.dagster_event.step_key == self.step_key
            ]
            if not failures:
                raise
            return [serialize_value(failures[-1])]


class _SpineActiveExecution(ActiveExecution):
    """Dagster's ``ActiveExecution`` that reports an interrupt once a step has failed for good (fail-fast).

    dagster-celery's loop answers an interrupt by submitting nothing more and revoking its tasks.
    """

    def __init__(self, *args: Any, fail_fast: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fail_fast = fail_fast
        self.failed_for_good: str | None = None
        self.stop_announced = False
        self.stopping = False
        self._stop_pending = False

    def handle_event(self, dagster_event: dg.DagsterEvent) -> None:
        super().handle_event(dagster_event)
        if self.fail_fast and self.failed_for_good is None and dagster_event.is_step_failure:
            self.failed_for_good = dagster_event.step_key
            self._stop_pending = True

    def mark_interrupted(self) -> None:
        super().mark_interrupted()
        self.stopping = True

    def plan_events_iterator(self, job_context: Any) -> Iterator[dg.DagsterEvent]:
        # Once stopping, dagster-celery's loop skips its 1 s tick (`continue` before `time.sleep`) and
        # polls the running tasks' results without pause until they end (fail-fast with a step still
        # running 6 s: 1.4 s more CPU in the run worker without this pause).
        if self.stopping:
            time.sleep(STOPPING_POLL_SECONDS)
        yield from super().plan_events_iterator(job_context)

    def get_steps_to_execute(self, limit: int | None = None) -> Any:
        if self.failed_for_good is not None:
            return []  # fail-fast: nothing more starts, even in the loop's tick that saw the failure
        return super().get_steps_to_execute(limit)

    def check_for_interrupts(self) -> bool:
        if super().check_for_interrupts():
            return True
        if self._stop_pending:
            self._stop_pending = False
            return True
        return False


def _bounded_plan(
    plan: ExecutionPlan,
    max_concurrent: int | None,
    fail_fast: bool,
    on_start: Callable[[_SpineActiveExecution], None],
) -> ExecutionPlan:
    """``plan`` (the same tuple) whose ``start()`` gives a :class:`_SpineActiveExecution` with
    ``max_concurrent`` and the plan order as tie-break of dagster-celery's priority."""

    class _BoundedPlan(type(plan)):  # type: ignore[misc]
        __slots__ = ()

        def start(  # type: ignore[override]
            self,
            retry_mode: RetryMode,
            sort_key_fn: Callable[[Any], float] | None = None,
            max_concurrent_: int | None = None,
            tag_concurrency_limits: list[dict[str, Any]] | None = None,
            **kwargs: Any,
        ) -> ActiveExecution:
            celery_key = sort_key_fn or (lambda _step: 0.0)

            def in_plan_order(step: Any) -> Any:  # lower first; dagster/priority is -(plan order)
                return (celery_key(step), -int(step.tags.get("dagster/priority", 0)))

            active = _SpineActiveExecution(
                self,
                retry_mode,
                in_plan_order,
                max_concurrent,
                tag_concurrency_limits,
                fail_fast=fail_fast,
                **kwargs,
            )
            on_start(active)
            return active

    return _BoundedPlan._make(plan)
