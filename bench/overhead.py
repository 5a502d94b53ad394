"""Orchestration overhead per step: a 4-step sequential ``spine.noop`` group against a bare 4-op Dagster job.

Two ways, each against its bare-Dagster twin, interleaved:

1. ``in_process``: ``job.execute_in_process(run_config={"params": {}}, instance=DagsterInstance.ephemeral())``
   on the job from ``build_definitions(Settings(groups_dir=<temp>)).resolve_job_def(name)``, against a
   bare job of 4 no-op ops (Nothing inputs, in-process executor) run the same way with ``run_config={}``.
   The instance is created outside the timed call, for both. Warm-up runs are not counted.
2. ``subprocess``: ``spine run GROUP`` in a fresh process (temp ``DAGSTER_HOME`` with an empty dagster.yaml)
   against ``python bare_run.py``, which does ``execute_job(reconstructable(bare), instance)`` as spine run
   does. Both the process wall clock and the run's own start->end time (from the run record) are reported.

    python bench/overhead.py           # full
    python bench/overhead.py --quick   # CI smoke
    python bench/overhead.py --profile # also cProfile ours in process -> bench/out/overhead_profile.txt

Writes bench/out/overhead.json (bench/out/overhead-quick.json with --quick).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import pstats
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    OUT,
    PYTHON,
    child_env,
    fmt,
    interleaved,
    log,
    make_dagster_home,
    median,
    print_table,
    ratio,
    run_child,
    tempdir,
    timed,
    venv_tool,
    write_json,
)

STEPS = 4
TARGET_IN_PROCESS = 1.2
GROUP = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata:
  name: bench.noop4
  description: 4 spine.noop steps in a row (like the shipped spine.smoke)
spec:
  pipelines:
    - name: extract
      pipeline: spine.noop
    - name: transform
      pipeline: spine.noop
      depends_on: [extract]
    - name: load
      pipeline: spine.noop
      depends_on: [transform]
    - name: report
      pipeline: spine.noop
      depends_on: [load]
  policy:
    execution: sequential
    on_failure: stop
"""
JOB = "bench__noop4"
BARE_RUN = '''\
"""The bare twin of `spine run`: execute_job(reconstructable(bare), instance) in this process."""
import json

import dagster as dg

STEPS = {steps}


@dg.op(name="noop", ins={{"after": dg.In(dg.Nothing)}}, out=dg.Out(dg.Nothing))
def noop():
    return None


_deps = {{}}
for _i in range(STEPS):
    _deps[dg.NodeInvocation("noop", alias=f"s{{_i}}")] = (
        {{"after": dg.MultiDependencyDefinition([dg.DependencyDefinition(f"s{{_i - 1}}")])}} if _i else {{}}
    )


def bare():
    """A module-level function returning the job, as reconstructable() requires for to_job jobs."""
    return dg.GraphDefinition(name="bare", node_defs=[noop], dependencies=_deps).to_job(
        executor_def=dg.in_process_executor
    )


if __name__ == "__main__":
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(dg.reconstructable(bare), instance)
    print(json.dumps({{"run_id": result.run_id, "success": result.success}}))
'''


def bare_job() -> Any:
    import dagster as dg

    @dg.op(name="noop", ins={"after": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing))
    def noop() -> None:
        return None

    deps: dict[Any, Any] = {}
    for i in range(STEPS):
        deps[dg.NodeInvocation("noop", alias=f"s{i}")] = (
            {"after": dg.MultiDependencyDefinition([dg.DependencyDefinition(f"s{i - 1}")])} if i else {}
        )
    graph = dg.GraphDefinition(name="bare", node_defs=[noop], dependencies=deps)
    return graph.to_job(executor_def=dg.in_process_executor)


def ours_job(tmp: Path) -> Any:
    from spine_dagster.composition import build_definitions
    from spine_dagster.settings import Settings

    groups = tmp / "groups"
    groups.mkdir(exist_ok=True)
    (groups / "bench_noop4.yaml").write_text(GROUP)
    settings = Settings(
        home=tmp / "spine-home",
        groups_dir=groups,
        warehouse_url=f"duckdb:///{tmp / 'wh.duckdb'}",
        strict=True,
    )
    return build_definitions(settings).resolve_job_def(JOB)


def bench_in_process(repeats: int, warmup: int) -> dict[str, Any]:
    import dagster as dg

    from spine_dagster.launch import stderr_to  # fd 2 to a file, the same for both sides, as `spine run` does

    log(f"[in_process] {warmup} warm-up + {repeats} timed runs each of ours and bare (execute_in_process)")
    with tempdir("overhead-inproc") as tmp:
        ours = ours_job(Path(tmp))
        bare = bare_job()

        def run(job: Any, run_config: dict[str, Any]) -> float:
            instance = dg.DagsterInstance.ephemeral()
            seconds, result = timed(lambda: job.execute_in_process(run_config=run_config, instance=instance))
            if not result.success:
                raise SystemExit(f"{job.name} failed in process")
            return seconds

        cases = {"ours": lambda: run(ours, {"params": {}}), "bare": lambda: run(bare, {})}
        with stderr_to(Path(tmp) / "dagster-stderr.log"):
            interleaved(warmup, cases)
            runs = interleaved(repeats, cases)
    out: dict[str, Any] = {"steps": STEPS, "repeats": repeats, "warmup": warmup}
    for side in ("ours", "bare"):
        out[f"{side}_run_s"] = median(runs[side])
        out[f"{side}_per_step_ms"] = out[f"{side}_run_s"] / STEPS * 1000
        out[f"{side}_samples_s"] = runs[side]
    out["ratio"] = ratio(out["ours_run_s"], out["bare_run_s"])
    out["overhead_per_step_ms"] = out["ours_per_step_ms"] - out["bare_per_step_ms"]
    out["target_ratio"] = TARGET_IN_PROCESS
    return out


# --- 2. subprocess -------------------------------------------------------------------------------------------
def _run_seconds(home: Path, run_id: str) -> float:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        record = instance.get_run_record_by_id(run_id)
        assert record is not None
        return (record.end_time or 0) - (record.start_time or 0)


def bench_subprocess(repeats: int) -> dict[str, Any]:
    log(f"[subprocess] {repeats} runs each of `spine run` and `python bare_run.py`")
    spine = venv_tool("spine")
    with tempdir("overhead-sub") as tmp_name:
        tmp = Path(tmp_name)
        groups = tmp / "groups"
        groups.mkdir()
        (groups / "bench_noop4.yaml").write_text(GROUP)
        bare_file = tmp / "bare_run.py"
        bare_file.write_text(BARE_RUN.format(steps=STEPS))
        counter = {"ours": 0, "bare": 0}

        def run(side: str) -> dict[str, float]:
            counter[side] += 1
            home = make_dagster_home(tmp, f"home-{side}-{counter[side]}")
            if side == "ours":
                env = child_env(
                    DAGSTER_HOME=home, SPINE_GROUPS_DIR=groups, SPINE_HOME=tmp / f"spine-home-{counter[side]}"
                )
                result = run_child([*spine, "run", "bench.noop4", "--format", "json"], env=env, cwd=tmp)
                data = json.loads(result.stdout)
                ok = data["status"] == "completed"
            else:
                env = child_env(DAGSTER_HOME=home)
                result = run_child([PYTHON, str(bare_file)], env=env, cwd=tmp)
                data = result.last_json()
                ok = data["success"]
            if not ok:
                raise SystemExit(
                    f"{side} run did not succeed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
                )
            return {"wall_s": result.wall, "run_s": _run_seconds(home, data["run_id"])}

        runs = interleaved(repeats, {"ours": lambda: run("ours"), "bare": lambda: run("bare")})
    out: dict[str, Any] = {"steps": STEPS, "repeats": repeats}
    for side in ("ours", "bare"):
        out[f"{side}_wall_s"] = median(r["wall_s"] for r in runs[side])
        out[f"{side}_run_s"] = median(r["run_s"] for r in runs[side])
        out[f"{side}_wall_per_step_ms"] = out[f"{side}_wall_s"] / STEPS * 1000
        out[f"{side}_run_per_step_ms"] = out[f"{side}_run_s"] / STEPS * 1000
        out[f"{side}_wall_samples_s"] = [r["wall_s"] for r in runs[side]]
    out["ratio_wall"] = ratio(out["ours_wall_s"], out["bare_wall_s"])
    out["ratio_run"] = ratio(out["ours_run_s"], out["bare_run_s"])
    return out


# --- profile -------------------------------------------------------------------------------------------------
def profile_in_process(runs: int, out_dir: Path) -> dict[str, Any]:
    import cProfile

    import dagster as dg

    from spine_dagster.launch import stderr_to

    log(f"[profile] cProfile of {runs} in-process runs of ours")
    with tempdir("overhead-profile") as tmp:
        job = ours_job(Path(tmp))
        with stderr_to(Path(tmp) / "dagster-stderr.log"):
            job.execute_in_process(run_config={"params": {}}, instance=dg.DagsterInstance.ephemeral())
        profiler = cProfile.Profile()
        with stderr_to(Path(tmp) / "dagster-stderr.log"):
            for _ in range(runs):
                instance = dg.DagsterInstance.ephemeral()
                profiler.runcall(job.execute_in_process, run_config={"params": {}}, instance=instance)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats_path = out_dir / "overhead_profile.pstats"
    profiler.dump_stats(str(stats_path))
    text = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=text)
    stats.sort_stats("cumulative").print_stats(r"spine_dagster", 40)
    stats.sort_stats("cumulative").print_callees(r"execute_step")
    text_path = out_dir / "overhead_profile.txt"
    text_path.write_text(text.getvalue())
    return {"pstats": str(stats_path), "text": str(text_path), "runs": runs}


def report(data: dict[str, Any]) -> None:
    if "in_process" in data:
        ip = data["in_process"]
        print_table(
            ["execute_in_process", "ours", "bare", "ratio"],
            [
                ["run seconds", ip["ours_run_s"], ip["bare_run_s"], ip["ratio"]],
                ["ms per step", ip["ours_per_step_ms"], ip["bare_per_step_ms"], ip["ratio"]],
                ["extra ms per step (ours - bare)", ip["overhead_per_step_ms"], "", ""],
                [
                    f"target ratio <= {ip['target_ratio']}",
                    "met" if ip["ratio"] <= ip["target_ratio"] else "MISSED",
                    "",
                    "",
                ],
            ],
            f"In process, {ip['steps']}-step no-op chain, median of {ip['repeats']} (after {ip['warmup']} warm-up)",
        )
    if "subprocess" in data:
        sp = data["subprocess"]
        print_table(
            ["fresh process", "ours (spine run)", "bare (bare_run.py)", "ratio"],
            [
                ["process wall s", sp["ours_wall_s"], sp["bare_wall_s"], sp["ratio_wall"]],
                [
                    "wall ms per step",
                    sp["ours_wall_per_step_ms"],
                    sp["bare_wall_per_step_ms"],
                    sp["ratio_wall"],
                ],
                ["run start->end s", sp["ours_run_s"], sp["bare_run_s"], sp["ratio_run"]],
                ["run ms per step", sp["ours_run_per_step_ms"], sp["bare_run_per_step_ms"], sp["ratio_run"]],
            ],
            f"Subprocess, {sp['steps']}-step no-op chain, median of {sp['repeats']}",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="CI smoke mode: a few runs")
    parser.add_argument("--only", default="in_process,subprocess")
    parser.add_argument("--repeats", type=int, help="in-process timed runs per side (default 40)")
    parser.add_argument("--warmup", type=int, help="in-process warm-up runs per side (default 3)")
    parser.add_argument("--sub-repeats", type=int, help="subprocess runs per side (default 5)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out-dir", type=Path, default=OUT)
    parser.add_argument("--name")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # Dagster's own beta/supersession warnings

    quick = args.quick
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    started = dt.datetime.now(dt.UTC)
    data: dict[str, Any] = {"quick": quick, "parts": parts}
    if "in_process" in parts:
        data["in_process"] = bench_in_process(
            args.repeats or (3 if quick else 40), args.warmup or (1 if quick else 3)
        )
    if "subprocess" in parts:
        data["subprocess"] = bench_subprocess(args.sub_repeats or (1 if quick else 5))
    if args.profile:
        data["profile"] = profile_in_process(20, args.out_dir)
    data["elapsed_s"] = (dt.datetime.now(dt.UTC) - started).total_seconds()
    report(data)
    path = write_json(args.name or ("overhead-quick" if quick else "overhead"), data, args.out_dir)
    print(f"wrote {path} ({fmt(data['elapsed_s'], 1)} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
