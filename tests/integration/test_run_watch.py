"""``spine run``'s watch on its own run (spine_dagster/launch.py): it stops the run, as Ctrl-C does, when the run
is failed from outside (run monitoring, the reaper, a Terminate), and leaves alone a run that failed here.

The second case was a race: Dagster marks a run FAILURE a fraction of a second before ``execute_run``
returns, and the watch took that for an outside failure and interrupted its own process, which then lost
the run's outcome (seen in 3 of 8 failing runs on Postgres).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from spine_dagster.follow import RunWatch


@contextmanager
def sigints() -> Iterator[list[int]]:
    """The SIGINTs this process receives meanwhile (instead of KeyboardInterrupt)."""
    got: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield got
    finally:
        signal.signal(signal.SIGINT, previous)


@dg.op
def explode() -> None:
    raise RuntimeError("boom")


@dg.job
def watched() -> None:
    explode()


def _failed_here(instance: dg.DagsterInstance) -> str:
    """A run that failed in this process (its op raised), as a `spine run` run fails."""
    result = watched.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    return result.run_id


def _failed_from_outside(instance: dg.DagsterInstance) -> str:
    """A run marked failed by another party, as run monitoring or the reaper do (report_run_failed)."""
    run = instance.create_run_for_job(watched, run_config={})
    instance.report_run_failed(run)
    return run.run_id


def _watch(instance: dg.DagsterInstance, run_id: str) -> list[int]:
    with sigints() as got:
        watch = RunWatch(instance, run_id, None)
        watch.start()
        time.sleep(2.5)  # the watch polls every second
        watch.done.set()
        watch.join()
    return got


def test_a_run_that_failed_in_this_process_is_not_interrupted() -> None:
    with dg.instance_for_test() as instance:
        run_id = _failed_here(instance)
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE  # type: ignore[union-attr]
        assert _watch(instance, run_id) == []


def test_a_run_failed_from_outside_is_interrupted() -> None:
    with dg.instance_for_test() as instance:
        run_id = _failed_from_outside(instance)
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE  # type: ignore[union-attr]
        assert _watch(instance, run_id) == [signal.SIGINT]
