"""Step execution on Celery (``SPINE_EXECUTOR=celery``) for real: RabbitMQ on 127.0.0.1:5672, ``spine worker``
processes started here (``--concurrency 1`` each), a Dagster instance and a warehouse on PostgreSQL, and
``spine run`` / ``spine rerun`` in fresh processes. Every fact is read back from the run's event log.

The group semantics of tests/integration/test_group_semantics.py are run here on Celery: concurrency,
sequential order, fail-fast, retries, step timeout, pools, checks (the FINRA group's), the outcome table, and
re-execution; plus a worker killed with SIGKILL in the middle of a step, and the DuckDB guard.

Needs RabbitMQ and PostgreSQL (``SPINE_TEST_POSTGRES_URL``); without them every test here fails and says how
to start them (``.ci/run`` starts both). Each test module process uses a queue of its own
(``SPINE_CELERY_QUEUE``), so tests running in parallel never take each other's steps.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest

from tests._servers import stop_process_group, wait_until
from tests.integration.conftest import (
    REPO,
    Workspace,
    max_overlap,
    pool_step_windows,
    spine_process,
    step_events,
    wait_for_step_start,
)

BROKER_HOST, BROKER_PORT = "127.0.0.1", 5672
START_RABBITMQ = "rabbitmq-server -detached"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

# A pipeline that writes a table: one row per (batch, key), idempotently (a redelivered step rewrites its
# row), plus one row per attempt so a test can see that the step ran twice. Loaded by the run worker and the
# Celery workers alike through SPINE_PIPELINE_MODULES.
PIPELINES = """
import os
import time

import psycopg2

from spine_dagster.pipelines import Pipeline, PipelineParams, StepResult


class RowParams(PipelineParams):
    key: str
    seconds: float = 0.0


class WriteRow(Pipeline):
    name = "celtest.write_row"
    description = "Upsert one row keyed by (batch_id, key), then sleep."
    Params = RowParams

    def run(self, ctx, params):
        with psycopg2.connect(os.environ["CELTEST_DB_URL"]) as con, con.cursor() as cur:
            cur.execute(
                "INSERT INTO celtest_attempts (batch_id, key, pid) VALUES (%s, %s, %s)",
                (ctx.batch_id, params.key, os.getpid()),
            )
            cur.execute(
                "INSERT INTO celtest_rows (batch_id, key, pid) VALUES (%s, %s, %s) "
                "ON CONFLICT (batch_id, key) DO UPDATE SET pid = EXCLUDED.pid",
                (ctx.batch_id, params.key, os.getpid()),
            )
        time.sleep(params.seconds)
        return StepResult(message="row written")
"""


def _require_rabbitmq() -> None:
    try:
        socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=3).close()
    except OSError as exc:
        pytest.fail(
            f"RabbitMQ is not reachable on {BROKER_HOST}:{BROKER_PORT} ({exc}): start it with "
            f"`{START_RABBITMQ}` (.ci/run does)",
            pytrace=False,
        )


def _require_postgres() -> str:
    url = os.environ.get("SPINE_TEST_POSTGRES_URL")
    if not url:
        pytest.fail(
            "SPINE_TEST_POSTGRES_URL is not set: start PostgreSQL (`" + START_POSTGRES + "`) and export "
            "SPINE_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test (.ci/run does both)",
            pytrace=False,
        )
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL at {url} is not reachable ({exc}): start it with `{START_POSTGRES}`", pytrace=False
        )
    return url


@contextlib.contextmanager
def _database(admin_url: str) -> Iterator[str]:
    """A fresh database (dropped afterwards); yields its plain ``postgresql://`` URL."""
    import psycopg2

    name = f"spine_celery_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    url = urlunsplit(("postgresql", parts.netloc, f"/{name}", "", ""))
    try:
        with psycopg2.connect(url) as con, con.cursor() as cur:
            cur.execute(
                "CREATE TABLE celtest_rows (batch_id text, key text, pid int, PRIMARY KEY (batch_id, key))"
            )
            cur.execute("CREATE TABLE celtest_attempts (batch_id text, key text, pid int)")
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@dataclass
class CeleryWorkspace(Workspace):
    """A workspace whose runs execute their steps on Celery workers; instance and warehouse on Postgres."""

    db_url: str = ""
    queue: str = ""
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(
            SPINE_EXECUTOR="celery",  # SPINE_CELERY_BROKER / _BACKEND unset: the local defaults are tested
            SPINE_CELERY_QUEUE=self.queue,
            SPINE_WAREHOUSE_URL=self.db_url,
            SPINE_PIPELINE_MODULES="celtest_pipelines",
            PYTHONPATH=str(self.root),
            CELTEST_DB_URL=self.db_url,
            **extra,
        )

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """``spine worker --concurrency 1`` in its own process group, ready to take steps."""
        log = self.root / f"{name}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "spine_dagster", "worker", "--concurrency", "1", "--name", name],
                env=self.env(), cwd=self.root, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.workers.append(process)
        wait_until(
            lambda: " ready." in log.read_text(errors="replace"), timeout=60, what=name, process=process
        )
        return process

    def stop_workers(self) -> list[int | None]:
        """Stop each live worker as an operator would (SIGTERM to ``spine worker`` alone, which passes it
        on to Celery), then clean up its process group; the exit codes of those that were live."""
        codes: list[int | None] = []
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    codes.append(process.wait(timeout=30))
                except subprocess.TimeoutExpired:
                    codes.append(None)
            stop_process_group(process)  # whatever is left of the group (nothing, normally)
        self.workers.clear()
        return codes

    def worker_log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")


@contextlib.contextmanager
def _celery_workspace(
    root: Path, workers: int, *, sqlite_instance: bool = False
) -> Iterator[CeleryWorkspace]:
    """A workspace, its database (the warehouse, and the Dagster instance unless ``sqlite_instance``: then
    SQLite files in DAGSTER_HOME, which workers on this machine reach through the run's instance ref) and
    ``workers`` running workers; the workers are stopped and the queue deleted at the end."""
    _require_rabbitmq()
    admin_url = _require_postgres()
    with _database(admin_url) as db_url:
        ws = CeleryWorkspace(root, db_url=db_url, queue=f"spine_test_{uuid.uuid4().hex[:8]}")
        ws.groups.mkdir()
        ws.dagster_home.mkdir()
        instance_url = db_url.replace("postgresql://", "postgresql+psycopg2://")
        storage = "" if sqlite_instance else f"storage:\n  postgres:\n    postgres_url: {instance_url}\n"
        (ws.dagster_home / "dagster.yaml").write_text(storage + (REPO / "dagster.yaml").read_text())
        (ws.root / "celtest_pipelines.py").write_text(PIPELINES)
        with ws.instance():
            pass  # the instance's tables, created once before several processes use them
        try:
            for index in range(workers):
                ws.start_worker(f"w{index}-{ws.queue}")
            yield ws
        finally:
            codes = ws.stop_workers()
            _delete_queue(ws.queue)
        assert codes and all(code == 0 for code in codes), f"spine worker exit codes after SIGTERM: {codes}"


def _delete_queue(queue: str) -> None:
    from kombu import Connection

    with (
        contextlib.suppress(Exception),
        Connection(f"pyamqp://guest:guest@{BROKER_HOST}:{BROKER_PORT}//") as conn,
    ):
        conn.default_channel.queue_delete(queue)


@pytest.fixture(name="cws", scope="module")
def celery_workspace_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryWorkspace]:
    """Two workers shared by this module's tests (stopped at its end); a test that kills one starts its own."""
    with _celery_workspace(tmp_path_factory.mktemp("celery"), workers=2) as ws:
        yield ws


def _starts(events: list[tuple[str, str, float]]) -> list[str]:
    return [key for key, kind, _ in events if kind == "STEP_START"]


def _start_pids(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START):
        event = record.dagster_event
        assert event is not None and event.pid is not None
        found.setdefault(event.step_key or "", []).append(event.pid)
    return found


def _process_group(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])


def _run(ws: CeleryWorkspace, group: str, *args: str) -> dict:
    out = ws.run(group, *args)
    assert all(w.poll() is None for w in ws.workers), "a worker exited during the run"
    return out


def test_parallel_group_fans_out_across_two_workers_within_max_concurrency(cws: CeleryWorkspace) -> None:
    steps = "\n".join(f"  - {{name: s{i}, pipeline: spine.sleep, params: {{seconds: 2}}}}" for i in range(5))
    cws.write(
        "par.yaml",
        f"name: cel.parallel\npolicy: {{execution: parallel, max_concurrency: 2}}\nsteps:\n{steps}\n",
    )
    out = _run(cws, "cel.parallel")
    assert out["status"] == "completed", out
    instance = cws.instance()
    events = step_events(instance, out["run_id"])
    assert max_overlap(events) == 2  # parallel on two workers, never more than max_concurrency at once
    pids = _start_pids(instance, out["run_id"])
    used = {pid for starts in pids.values() for pid in starts}
    worker_groups = {w.pid for w in cws.workers}
    assert {_process_group(pid) for pid in used} == worker_groups  # both workers ran steps, nothing else did
    run_worker = next(
        r.dagster_event.pid for r in instance.all_logs(out["run_id"], of_type=dg.DagsterEventType.RUN_START)
    )
    assert run_worker not in used
    nodes = {
        r.dagster_event.engine_event_data.metadata["Celery worker"].value  # type: ignore[union-attr]
        for r in instance.all_logs(out["run_id"], of_type=dg.DagsterEventType.ENGINE_EVENT)
        if "in celery worker" in (r.dagster_event.message or "")
    }
    assert {node.split("@")[0] for node in nodes} == {f"w0-{cws.queue}", f"w1-{cws.queue}"}
    # A worker binds no port (it only talks to the broker) and never prints the broker's password.
    import psutil

    for worker in cws.workers:
        parent = psutil.Process(worker.pid)
        for proc in [parent, *parent.children(recursive=True)]:
            listening = [c for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
            assert not listening, (proc.pid, proc.cmdline(), listening)
    for index in range(2):
        log = cws.worker_log(f"w{index}-{cws.queue}")
        assert "guest:guest" not in log and "guest:**@127.0.0.1:5672" in log


def test_sequential_group_runs_one_step_at_a_time_in_plan_order(cws: CeleryWorkspace) -> None:
    cws.write(
        "seq.yaml",
        """
name: cel.sequential
steps:
  - {name: c, pipeline: spine.sleep, depends_on: a, params: {seconds: 0.5}}
  - {name: a, pipeline: spine.sleep, params: {seconds: 0.5}}
  - {name: b, pipeline: spine.sleep, depends_on: a, params: {seconds: 0.5}}
  - {name: d, pipeline: spine.sleep, params: {seconds: 0.5}}
""",
    )
    out = _run(cws, "cel.sequential")
    assert out["status"] == "completed"
    events = step_events(cws.instance(), out["run_id"])
    assert _starts(events) == ["a", "d", "c", "b"]  # plan order, as in-process
    assert max_overlap(events) == 1


def test_fail_fast_stops_submitting_on_celery(cws: CeleryWorkspace) -> None:
    cws.write(
        "stop.yaml",
        """
name: cel.stop_par
policy: {execution: parallel, max_concurrency: 2, on_failure: stop}
steps:
  - {name: slow, pipeline: spine.sleep, params: {seconds: 6}}
  - {name: warmup, pipeline: spine.sleep, params: {seconds: 1}}
  - {name: boom, pipeline: spine.fail, depends_on: warmup}
  - {name: later, pipeline: spine.sleep, depends_on: warmup, params: {seconds: 0}}
""",
    )
    cws.write(
        "stop_seq.yaml",
        """
name: cel.stop_seq
policy: {execution: sequential, on_failure: stop}
steps:
  - {name: a, pipeline: spine.noop}
  - {name: b, pipeline: spine.fail, depends_on: a}
  - {name: c, pipeline: spine.noop, depends_on: b}
  - {name: d, pipeline: spine.sleep, params: {seconds: 0}}
  - {name: e, pipeline: spine.sleep, depends_on: d, params: {seconds: 0}}
""",
    )
    instance = cws.instance()
    out = _run(cws, "cel.stop_par")
    statuses = {s["name"]: s["status"] for s in out["steps"]}
    # `later` (independent of boom) never starts; `slow` was already running on a worker: it finishes there
    # (Celery cannot interrupt a running task from the run worker; in-process and multiprocess interrupt it).
    assert statuses == {"slow": "completed", "warmup": "completed", "boom": "failed", "later": "skipped"}
    assert out["status"] == "failed" and out["exit_code"] == 1
    assert "later" not in _starts(step_events(instance, out["run_id"]))
    assert instance.get_run_by_id(out["run_id"]).status == dg.DagsterRunStatus.FAILURE
    messages = [r.dagster_event.message or "" for r in instance.all_logs(out["run_id"]) if r.dagster_event]
    assert any(
        m.startswith("fail-fast (on_failure: stop): step boom failed; no further step") for m in messages
    )

    out = _run(cws, "cel.stop_seq")
    statuses = {s["name"]: s["status"] for s in out["steps"]}
    assert statuses == {"a": "completed", "d": "completed", "b": "failed", "e": "skipped", "c": "skipped"}
    assert out["status"] == "failed"
    assert _starts(step_events(instance, out["run_id"])) == ["a", "d", "b"]
    assert instance.get_run_by_id(out["run_id"]).status == dg.DagsterRunStatus.FAILURE


def test_retries_and_step_timeout_on_celery(cws: CeleryWorkspace) -> None:
    cws.write(
        "retry.yaml",
        """
name: cel.retry
policy: {on_failure: continue}
steps:
  - {name: enough, pipeline: spine.fail, params: {fail_times: 2}, retry: {max_retries: 2}}
  - {name: short, pipeline: spine.fail, params: {fail_times: 2}, retry: {max_retries: 1}}
  - {name: stuck, pipeline: spine.sleep, params: {seconds: 30}, timeout_seconds: 1, retry: {max_retries: 1}}
""",
    )
    started = time.perf_counter()
    out = _run(cws, "cel.retry")
    assert time.perf_counter() - started < 60
    steps = {s["name"]: s for s in out["steps"]}
    assert (steps["enough"]["status"], steps["enough"]["attempts"]) == ("completed", 3)
    assert (steps["short"]["status"], steps["short"]["attempts"]) == ("failed", 2)
    assert (steps["stuck"]["status"], steps["stuck"]["attempts"]) == ("failed", 2)
    assert "exceeded its timeout of 1 seconds" in steps["stuck"]["error"]
    # Each attempt was a Celery task of its own: retries went back through the broker to a worker.
    pids = _start_pids(cws.instance(), out["run_id"])
    worker_groups = {w.pid for w in cws.workers}
    assert {_process_group(p) for starts in pids.values() for p in starts} <= worker_groups


def test_outcome_table_and_rerun_on_celery(cws: CeleryWorkspace) -> None:
    cws.write(
        "cont.yaml",
        """
name: cel.continue
policy: {on_failure: continue}
steps:
  - {name: a, pipeline: spine.noop}
  - {name: b, pipeline: spine.fail, depends_on: a, params: {fail_times: 1}}
  - {name: c, pipeline: spine.noop, depends_on: b}
  - {name: d, pipeline: spine.noop}
""",
    )
    out = _run(cws, "cel.continue")
    statuses = {s["name"]: s["status"] for s in out["steps"]}
    assert statuses == {"a": "completed", "b": "failed", "c": "skipped", "d": "completed"}
    assert out["status"] == "partial" and out["exit_code"] == 1
    instance = cws.instance()
    tags = instance.get_run_by_id(out["run_id"]).tags
    assert tags["spine/group_status"] == "partial"
    steps = json.loads(tags["spine/steps"])
    assert steps["a"][:2] == ["completed", 1] and steps["b"][:2] == ["failed", 1]
    again = cws.spine("rerun", out["run_id"], "--format", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    second = json.loads(again.stdout)
    assert second["status"] == "completed"
    assert _starts(step_events(instance, second["run_id"])) == ["b", "c"]  # a and d are not re-run


def test_pool_limit_one_serializes_steps_across_runs_on_celery(cws: CeleryWorkspace) -> None:
    [(_, first_end), (second_start, _)], context = pool_step_windows(cws, "cel", "cel_db")
    assert first_end <= second_start, (
        f"pool steps overlapped although two workers were idle (one slot)\n{context}"
    )


def test_finra_partition_with_checks_on_celery(cws: CeleryWorkspace) -> None:
    (cws.groups / "finra_weekly_refresh.yaml").write_text(
        (REPO / "groups" / "finra_weekly_refresh.yaml").read_text()
    )
    out = _run(cws, "finra.weekly_refresh", "--partition", "2025-12-22|NMS_TIER_1")
    assert out["status"] == "completed", out
    instance = cws.instance()
    evaluations = [
        r.dagster_event.event_specific_data
        for r in instance.all_logs(out["run_id"], of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    assert evaluations, "no check ran"
    assert all(e.passed for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR)  # type: ignore[union-attr]
    pids = _start_pids(instance, out["run_id"])
    assert set(pids) == {"ingest", "normalize", "aggregate", "rolling"}
    assert {_process_group(p) for starts in pids.values() for p in starts} <= {w.pid for w in cws.workers}
    import psycopg2

    with psycopg2.connect(cws.db_url) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM finra_otc.symbol_week_latest")
        assert cur.fetchone()[0] > 0  # the workers wrote the Postgres warehouse


def test_worker_killed_mid_step_is_redelivered_without_duplicate_rows(tmp_path: Path) -> None:
    # On a SQLite instance: workers on the run worker's machine reach it (the Postgres warehouse holds the rows).
    with _celery_workspace(tmp_path, workers=2, sqlite_instance=True) as ws:
        with ws.instance() as instance:
            assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        ws.write(
            "kill.yaml",
            """
name: cel.kill
policy: {execution: parallel, max_concurrency: 2}
steps:
  - {name: victim, pipeline: celtest.write_row, params: {key: victim, seconds: 6}}
  - {name: after, pipeline: spine.noop, depends_on: victim}
""",
        )
        with spine_process(ws, "run", "cel.kill", "--format", "json") as run:
            run_id = wait_for_step_start(ws, "cel__kill", "victim", timeout=90)
            with ws.instance() as instance:
                first_pid = _start_pids(instance, run_id)["victim"][0]
            doomed = next(w for w in ws.workers if w.pid == _process_group(first_pid))
            survivor = next(w for w in ws.workers if w is not doomed)
            time.sleep(1)  # well inside the step's 6 s
            os.killpg(doomed.pid, signal.SIGKILL)  # the whole worker: wrapper, Celery main and pool process
            doomed.wait(timeout=10)
            stdout, stderr = run.communicate(timeout=120)
        assert stdout.strip(), stderr
        out = json.loads(stdout)
        with ws.instance() as instance:
            pids = _start_pids(instance, run_id)
            run_record = instance.get_run_by_id(run_id)
        # Defined end: the broker handed the unacknowledged task to the other worker, which ran the step
        # again (acks_late + reject_on_worker_lost), and the run succeeded.
        assert out["status"] == "completed", out
        assert run_record.status == dg.DagsterRunStatus.SUCCESS
        assert len(pids["victim"]) == 2 and pids["victim"][0] == first_pid
        assert (
            _process_group(pids["victim"][1]) == survivor.pid
        )  # the step's second start, on the other worker
        import psycopg2

        with psycopg2.connect(ws.db_url) as con, con.cursor() as cur:
            cur.execute("SELECT count(*) FROM celtest_attempts WHERE key = 'victim'")
            assert cur.fetchone()[0] == 2  # the step ran twice...
            cur.execute("SELECT count(*), max(pid) FROM celtest_rows WHERE key = 'victim'")
            count, pid = cur.fetchone()
            assert count == 1  # ...and its row is there once, written last by the surviving worker
            assert pid == pids["victim"][1]


def test_celery_on_a_duckdb_warehouse_is_refused_before_anything_runs(ws: Workspace) -> None:
    ws.write("g.yaml", "name: cel.duck\nsteps:\n  - {name: a, pipeline: spine.noop}\n")
    env = {"SPINE_EXECUTOR": "celery"}  # SPINE_WAREHOUSE_URL unset: the DuckDB default
    result = subprocess.run(
        [sys.executable, "-m", "spine_dagster", "run", "cel.duck"],
        capture_output=True, text=True, env=ws.env(**env), cwd=ws.root, timeout=180,
    )  # fmt: skip
    assert result.returncode == 1
    assert "SPINE_EXECUTOR=celery" in result.stderr and "DuckDB" in result.stderr
    assert "SPINE_SINGLE_WRITER=1" in result.stderr and "Traceback" not in result.stderr
    assert ws.instance().get_runs() == []  # refused before the run was created
    # A launch that does not go through `spine run` (here `dagster job execute`) is refused when the
    # executor starts, before any step is submitted to a broker.
    launched = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "job", "execute", "-m", "spine_dagster.definitions", "-j", "cel__duck"],
        capture_output=True, text=True, env=ws.env(**env), cwd=ws.root, timeout=180,
    )  # fmt: skip
    assert launched.returncode != 0 and "Traceback" not in launched.stdout + launched.stderr
    runs = ws.instance().get_runs()
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.FAILURE
    assert runs[0].tags["dagster/failure_reason"] == "JOB_INITIALIZATION_FAILURE"
    assert not step_events(ws.instance(), runs[0].run_id)
    failure = ws.instance().all_logs(runs[0].run_id, of_type=dg.DagsterEventType.PIPELINE_FAILURE)[0]
    assert "which one process at a time can write" in failure.dagster_event.event_specific_data.error.message
