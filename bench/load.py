"""Definitions load benchmark: YAML -> validated plans -> Dagster Definitions, against bare Dagster.

Three parts (each measured against a baseline run in the same process tree, interleaved):

1. ``sizes``: N groups x M steps of generated YAML (mostly sequential chains, some parallel diamonds,
   ``spine.noop`` steps with a couple of params and a group default) loaded in a FRESH process through
   ``spine_dagster.definitions`` (``SPINE_GROUPS_DIR`` -> the temp dir), every job resolved
   (``get_repository_def().get_all_jobs()``). Baseline: the same jobs built directly with Dagster APIs in
   a fresh process (GraphDefinition + NodeInvocation/DependencyDefinition with Nothing inputs, same
   executors) from the same in-memory description, no YAML and no validation.
2. ``shipped``: cold import of ``spine_dagster.definitions`` plus building the shipped groups
   (``SPINE_GROUPS_DIR=groups``) in a fresh process; context: a fresh ``import dagster``.
3. ``multiprocess``: a 5-step ``execution: parallel`` chain of ``spine.noop`` run with
   ``dagster job execute -m spine_dagster.definitions`` against a bare 5-op job with the same
   multiprocess executor config run with ``dagster job execute -f bare.py``.

    python bench/load.py            # full run (~10-15 minutes on 2 cores)
    python bench/load.py --quick    # CI smoke: tiny sizes, one repeat
    python bench/load.py --only sizes,shipped --sizes 100x20 --repeats 5
    python bench/load.py --profile  # also cProfile the largest size (ours) -> bench/out/load_profile.txt

Writes bench/out/load.json (bench/out/load-quick.json with --quick).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pstats
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from _common import (
    BENCH,
    OUT,
    PYTHON,
    REPO,
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
    venv_tool,
    write_json,
)

CHILD = str(BENCH / "_load_child.py")
FULL_SIZES = [(10, 5), (10, 20), (100, 5), (100, 20), (1000, 5), (1000, 20)]
QUICK_SIZES = [(10, 5)]
TARGETS = {"ratio_at_1000": 1.3, "shipped_import_build_s": 1.5, "multiprocess_per_step_ratio": 1.2}


# --- the generated groups ------------------------------------------------------------------------------
def _layers(m: int, parallel: bool) -> list[int]:
    """Widths of the step layers: a chain (all 1), or a diamond chain 1, 3, 3, ..., 1."""
    if not parallel or m < 3:
        return [1] * m
    middle = m - 2
    widths = [3] * (middle // 3) + ([middle % 3] if middle % 3 else [])
    return [1, *widths, 1]


def describe(n: int, m: int) -> list[dict[str, Any]]:
    """The in-memory description both sides are generated from (deterministic).

    One group in five is a parallel diamond chain (multiprocess executor, ``on_failure: continue``);
    the rest are sequential chains (in-process executor, ``on_failure: stop``, the default).
    """
    groups = []
    for g in range(n):
        parallel = g % 5 == 4
        name = f"bench.g{g:04d}"
        steps: list[dict[str, Any]] = []
        previous: list[str] = []
        index = 0
        for width in _layers(m, parallel):
            layer = []
            for _ in range(width):
                step = f"s{index:02d}"
                steps.append(
                    {
                        "name": step,
                        "alias": step,
                        "pipeline": "spine.noop",
                        "depends_on": list(previous),
                        "params": {"batch_size": 100 * (index + 1), "label": f"{name}-{step}"},
                    }
                )
                layer.append(step)
                index += 1
            previous = layer
        groups.append(
            {
                "name": name,
                "job": name.replace(".", "__"),
                "domain": "bench",
                "execution": "parallel" if parallel else "sequential",
                "max_concurrency": 2 + g % 3,
                "on_failure": "continue" if parallel else "stop",
                "defaults": {"region": "us-east", "as_of": "2026-01-02"},
                "steps": steps,
            }
        )
    return groups


def group_yaml(group: dict[str, Any]) -> str:
    """The nested-shape PipelineGroup file of one described group."""
    pipelines = []
    for step in group["steps"]:
        entry: dict[str, Any] = {"name": step["name"], "pipeline": step["pipeline"]}
        if step["depends_on"]:
            entry["depends_on"] = step["depends_on"]
        entry["params"] = step["params"]
        pipelines.append(entry)
    policy: dict[str, Any] = {"execution": group["execution"], "on_failure": group["on_failure"]}
    if group["execution"] == "parallel":
        policy["max_concurrency"] = group["max_concurrency"]
    doc = {
        "apiVersion": "spine.io/v1",
        "kind": "PipelineGroup",
        "metadata": {
            "name": group["name"],
            "domain": group["domain"],
            "description": f"generated benchmark group ({len(group['steps'])} steps)",
        },
        "spec": {"defaults": group["defaults"], "pipelines": pipelines, "policy": policy},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write_groups(groups: list[dict[str, Any]], root: Path) -> tuple[Path, Path]:
    groups_dir = root / "groups"
    groups_dir.mkdir(parents=True)
    for group in groups:
        (groups_dir / f"{group['job']}.yaml").write_text(group_yaml(group))
    description = root / "description.json"
    description.write_text(json.dumps(groups))
    return groups_dir, description


# --- 1. sizes ------------------------------------------------------------------------------------------
def bench_sizes(sizes: list[tuple[int, int]], repeats: int, repeats_1000: int) -> list[dict[str, Any]]:
    results = []
    for n, m in sizes:
        reps = repeats_1000 if n >= 1000 else repeats
        log(f"[sizes] N={n} M={m}: {reps} repeats of ours and bare")
        with tempdir(f"load-{n}x{m}") as tmp:
            groups = describe(n, m)
            groups_dir, description = write_groups(groups, Path(tmp))
            home = Path(tmp) / "spine-home"
            ours_env = child_env(SPINE_GROUPS_DIR=groups_dir, SPINE_HOME=home)
            bare_env = child_env(SPINE_HOME=home)
            runs = interleaved(
                reps,
                {
                    "ours": lambda env=ours_env, cwd=tmp: run_child(
                        [PYTHON, CHILD, "ours"], env=env, cwd=cwd
                    ),
                    "bare": lambda env=bare_env, cwd=tmp, desc=str(description): run_child(
                        [PYTHON, CHILD, "bare", desc], env=env, cwd=cwd
                    ),
                },
            )
        ours = [r.last_json() | {"wall_s": r.wall} for r in runs["ours"]]
        bare = [r.last_json() | {"wall_s": r.wall} for r in runs["bare"]]
        steps = sum(len(g["steps"]) for g in groups)
        for side, data in (("ours", ours), ("bare", bare)):
            if data[0]["jobs"] != n or data[0]["nodes"] != steps:
                raise SystemExit(
                    f"{side} built {data[0]['jobs']} jobs / {data[0]['nodes']} ops, expected {n} / {steps}"
                )
        row: dict[str, Any] = {"n_groups": n, "m_steps": m, "steps_total": steps, "repeats": reps}
        for key in ("wall_s", "import_s", "build_s", "resolve_s", "total_s"):
            row[f"ours_{key}"] = median(d[key] for d in ours)
            row[f"bare_{key}"] = median(d[key] for d in bare)
        row["ratio_wall"] = ratio(row["ours_wall_s"], row["bare_wall_s"])
        row["ratio_build_resolve"] = ratio(
            row["ours_build_s"] + row["ours_resolve_s"], row["bare_build_s"] + row["bare_resolve_s"]
        )
        phase_names = sorted({k for d in ours for k in d["phases"]})
        row["ours_phases_s"] = {k: median(d["phases"].get(k, 0.0) for d in ours) for k in phase_names}
        row["ours_resolve_split_s"] = {k: median(d["resolve"][k] for d in ours) for k in ours[0]["resolve"]}
        row["bare_resolve_split_s"] = {k: median(d["resolve"][k] for d in bare) for k in bare[0]["resolve"]}
        row["ours_wall_samples_s"] = [d["wall_s"] for d in ours]
        row["bare_wall_samples_s"] = [d["wall_s"] for d in bare]
        results.append(row)
        log(
            f"[sizes]   ours {row['ours_wall_s']:.2f}s bare {row['bare_wall_s']:.2f}s ratio {row['ratio_wall']:.2f}"
        )
    return results


# --- 2. shipped groups ---------------------------------------------------------------------------------
PLUGIN_PIPELINES = 10
PLUGIN_MODULE = """\
from spine_dagster.pipelines import CheckOutcome, Pipeline, PipelineParams, QualityCheck, StepResult


def _rows_present(ctx):
    return CheckOutcome(passed=True)


def register(registry):
    for i in range({n}):
        class Params(PipelineParams):
            day: str = "2026-01-02"

        table = f"bench_plugin.table_{{i}}"
        registry.register(type(f"P{{i}}", (Pipeline,), {{
            "name": f"bench.plugin.p{{i}}",
            "Params": Params,
            "writes": (table,),
            "checks": (QualityCheck("rows_present", table, "rows are there", _rows_present),),
            "run": lambda self, ctx, params: StepResult(),
        }}))
"""


def write_plugin(site: Path) -> Path:
    """An installed plugin as pip leaves one (a dist-info with an entry point, and its module) in ``site``:
    {PLUGIN_PIPELINES} pipelines, each writing one table with one check."""
    info = site / "bench_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[spine_dagster.pipelines]\nbench.plugin = bench_plugin:register\n"
    )
    (site / "bench_plugin.py").write_text(PLUGIN_MODULE.format(n=PLUGIN_PIPELINES))
    return site


def bench_shipped(repeats: int) -> dict[str, Any]:
    log(f"[shipped] {repeats} repeats of import+build of the shipped groups, and of `import dagster`")
    with tempdir("shipped") as tmp:
        env = child_env(SPINE_GROUPS_DIR=REPO / "groups", SPINE_HOME=Path(tmp) / "spine-home")
        plugin_env = {**env, "PYTHONPATH": str(write_plugin(Path(tmp) / "site"))}
        runs = interleaved(
            repeats,
            {
                "ours": lambda: run_child([PYTHON, CHILD, "ours"], env=env, cwd=REPO),
                "plugin": lambda: run_child([PYTHON, CHILD, "ours"], env=plugin_env, cwd=REPO),
                "dagster": lambda: run_child([PYTHON, CHILD, "import-dagster"], env=env, cwd=REPO),
            },
        )
    ours = [r.last_json() | {"wall_s": r.wall} for r in runs["ours"]]
    plugin = [r.last_json() for r in runs["plugin"]]
    dag = [r.last_json() | {"wall_s": r.wall} for r in runs["dagster"]]
    in_process = [d["total_s"] for d in ours]
    if plugin[0]["assets"] != ours[0]["assets"] + PLUGIN_PIPELINES:
        raise SystemExit(
            f"the bench plugin did not load: {plugin[0]['assets']} assets, {ours[0]['assets']} without"
        )
    return {
        "with_plugin_import_build_s": median(d["total_s"] for d in plugin),
        "with_plugin_assets": plugin[0]["assets"],
        "repeats": repeats,
        "jobs": ours[0]["jobs"],
        "import_build_s": median(in_process),
        "import_build_samples_s": in_process,
        "import_s": median(d["import_s"] for d in ours),
        "import_location_s": median(d["import_location_s"] for d in ours),
        "build_s": median(d["build_s"] for d in ours),
        "resolve_s": median(d["resolve_s"] for d in ours),
        "process_wall_s": median(d["wall_s"] for d in ours),
        "phases_s": {k: median(d["phases"].get(k, 0.0) for d in ours) for k in ours[0]["phases"]},
        "import_dagster_s": median(d["import_s"] for d in dag),
        "import_dagster_process_wall_s": median(d["wall_s"] for d in dag),
        "target_s": TARGETS["shipped_import_build_s"],
    }


# --- 3. multiprocess per-step overhead ---------------------------------------------------------------------
MP_STEPS = 5
MP_GROUP = """\
apiVersion: spine.io/v1
kind: PipelineGroup
metadata:
  name: bench.mp5
  description: 5-step chain of spine.noop under the multiprocess executor
spec:
  pipelines:
{steps}
  policy:
    execution: parallel
    max_concurrency: 2
"""
BARE_MP = """\
import dagster as dg


@dg.op(name="noop", ins={{"after": dg.In(dg.Nothing)}}, out=dg.Out(dg.Nothing))
def noop():
    return None


_deps = {{}}
for _i in range({steps}):
    _deps[dg.NodeInvocation("noop", alias=f"s{{_i}}")] = (
        {{"after": dg.MultiDependencyDefinition([dg.DependencyDefinition(f"s{{_i - 1}}")])}} if _i else {{}}
    )
bare = dg.GraphDefinition(name="bare", node_defs=[noop], dependencies=_deps).to_job(
    executor_def=dg.multiprocess_executor.configured(
        {{"max_concurrent": 2, "start_method": {{"forkserver": {{}}}}}}
    )
)
"""


def _mp_group_yaml() -> str:
    lines = []
    for i in range(MP_STEPS):
        lines.append(f"    - name: s{i}\n      pipeline: spine.noop")
        if i:
            lines.append(f"      depends_on: [s{i - 1}]")
    return MP_GROUP.format(steps="\n".join(lines))


def _run_stats(home: Path) -> dict[str, Any]:
    """Run duration and the step-process start gaps (STEP_WORKER_STARTING -> STEP_START) from the run's log."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(limit=1)
        record = records[0]
        status = record.dagster_run.status.value
        duration = (record.end_time or 0) - (record.start_time or 0)
        starting: dict[str, float] = {}
        gaps = []
        for entry in instance.all_logs(record.dagster_run.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_WORKER_STARTING:
                starting[event.step_key] = entry.timestamp
            elif event.event_type == dg.DagsterEventType.STEP_START and event.step_key in starting:
                gaps.append(entry.timestamp - starting[event.step_key])
    return {"status": status, "run_s": duration, "step_start_gap_s": median(gaps)}


def bench_multiprocess(repeats: int) -> dict[str, Any]:
    log(f"[multiprocess] {repeats} repeats of a {MP_STEPS}-step chain, spine vs bare, `dagster job execute`")
    dagster = venv_tool("dagster")
    with tempdir("mp") as tmp_name:
        tmp = Path(tmp_name)
        groups_dir = tmp / "groups"
        groups_dir.mkdir()
        (groups_dir / "bench_mp5.yaml").write_text(_mp_group_yaml())
        bare_file = tmp / "bare.py"
        bare_file.write_text(BARE_MP.format(steps=MP_STEPS))
        counter = {"ours": 0, "bare": 0}

        def run(side: str) -> dict[str, Any]:
            counter[side] += 1
            home = make_dagster_home(tmp, f"home-{side}-{counter[side]}")
            if side == "ours":
                env = child_env(DAGSTER_HOME=home, SPINE_GROUPS_DIR=groups_dir, SPINE_HOME=tmp / "spine-home")
                cmd = [*dagster, "job", "execute", "-m", "spine_dagster.definitions", "-j", "bench__mp5"]
            else:
                env = child_env(DAGSTER_HOME=home)
                cmd = [*dagster, "job", "execute", "-f", str(bare_file), "-j", "bare"]
            result = run_child(cmd, env=env, cwd=tmp)
            stats = _run_stats(home)
            if stats["status"] != "SUCCESS":
                raise SystemExit(f"{side} multiprocess run ended {stats['status']}:\n{result.stderr[-3000:]}")
            return {"wall_s": result.wall, **stats}

        runs = interleaved(repeats, {"ours": lambda: run("ours"), "bare": lambda: run("bare")})
    out: dict[str, Any] = {"steps": MP_STEPS, "repeats": repeats}
    for side in ("ours", "bare"):
        for key in ("wall_s", "run_s", "step_start_gap_s"):
            out[f"{side}_{key}"] = median(r[key] for r in runs[side])
        out[f"{side}_per_step_s"] = out[f"{side}_wall_s"] / MP_STEPS
        out[f"{side}_run_per_step_s"] = out[f"{side}_run_s"] / MP_STEPS
        out[f"{side}_wall_samples_s"] = [r["wall_s"] for r in runs[side]]
    out["ratio_per_step"] = ratio(out["ours_per_step_s"], out["bare_per_step_s"])
    out["ratio_run_per_step"] = ratio(out["ours_run_per_step_s"], out["bare_run_per_step_s"])
    out["ratio_step_start_gap"] = ratio(out["ours_step_start_gap_s"], out["bare_step_start_gap_s"])
    out["target_ratio"] = TARGETS["multiprocess_per_step_ratio"]
    return out


# --- profile ---------------------------------------------------------------------------------------------
def profile_largest(size: tuple[int, int], out_dir: Path) -> dict[str, Any]:
    n, m = size
    log(f"[profile] cProfile of ours at N={n} M={m}")
    with tempdir("profile") as tmp:
        groups_dir, _ = write_groups(describe(n, m), Path(tmp))
        stats_path = out_dir / f"load_profile_{n}x{m}.pstats"
        out_dir.mkdir(parents=True, exist_ok=True)
        env = child_env(SPINE_GROUPS_DIR=groups_dir, SPINE_HOME=Path(tmp) / "spine-home")
        run_child([PYTHON, CHILD, "ours", "--profile", str(stats_path)], env=env, cwd=tmp)
    text_path = out_dir / f"load_profile_{n}x{m}.txt"
    with text_path.open("w") as f:
        stats = pstats.Stats(str(stats_path), stream=f)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
    return {"pstats": str(stats_path), "text": str(text_path)}


# --- report ----------------------------------------------------------------------------------------------
def report(data: dict[str, Any]) -> None:
    if "sizes" in data:
        rows = [
            [
                f"{r['n_groups']}x{r['m_steps']}",
                r["repeats"],
                r["ours_wall_s"],
                r["bare_wall_s"],
                r["ratio_wall"],
                r["ours_import_s"],
                r["ours_build_s"],
                r["ours_resolve_s"],
                r["bare_import_s"],
                r["bare_build_s"],
                r["bare_resolve_s"],
                r["ratio_build_resolve"],
            ]
            for r in data["sizes"]
        ]
        print_table(
            [
                "N x M",
                "reps",
                "ours s",
                "bare s",
                "ratio",
                "ours imp",
                "ours build",
                "ours resolve",
                "bare imp",
                "bare build",
                "bare resolve",
                "ratio b+r",
            ],
            rows,
            "Definitions load in a fresh process (process wall clock, medians; 'imp/build/resolve' are in-process phases)",
        )
        largest = data["sizes"][-1]
        phases = sorted(largest["ours_phases_s"].items(), key=lambda kv: -kv[1])
        print_table(
            ["phase (ours)", "seconds"],
            [[k, v] for k, v in phases]
            + [[f"resolve: {k}", v] for k, v in largest["ours_resolve_split_s"].items()],
            f"Where ours spends its build time at N={largest['n_groups']} M={largest['m_steps']} (medians)",
        )
    if "shipped" in data:
        s = data["shipped"]
        print_table(
            ["measure", "seconds"],
            [
                ["import spine_dagster.definitions + build + resolve (in process)", s["import_build_s"]],
                ["  of which imports (spine_dagster.definitions, .defs)", s["import_s"]],
                ["  of which build (defs())", s["build_s"]],
                ["  of which resolve (get_repository_def, get_all_jobs)", s["resolve_s"]],
                ["whole process wall clock (interpreter start/exit included)", s["process_wall_s"]],
                [
                    f"the same with a plugin installed ({PLUGIN_PIPELINES} pipelines, tables, checks)",
                    s["with_plugin_import_build_s"],
                ],
                ["context: `import dagster` alone (in process)", s["import_dagster_s"]],
                ["context: `import dagster` process wall clock", s["import_dagster_process_wall_s"]],
                [
                    f"target (import + build) <= {s['target_s']} s",
                    "met" if s["import_build_s"] <= s["target_s"] else "MISSED",
                ],
            ],
            f"Shipped groups ({s['jobs']} jobs), fresh process, median of {s['repeats']}",
        )
    if "multiprocess" in data:
        mp = data["multiprocess"]
        print_table(
            ["measure", "ours", "bare", "ratio"],
            [
                [
                    "process wall s",
                    mp["ours_wall_s"],
                    mp["bare_wall_s"],
                    ratio(mp["ours_wall_s"], mp["bare_wall_s"]),
                ],
                ["s per step (wall / 5)", mp["ours_per_step_s"], mp["bare_per_step_s"], mp["ratio_per_step"]],
                [
                    "s per step (run start->end / 5)",
                    mp["ours_run_per_step_s"],
                    mp["bare_run_per_step_s"],
                    mp["ratio_run_per_step"],
                ],
                [
                    "step process start gap s (WORKER_STARTING->STEP_START)",
                    mp["ours_step_start_gap_s"],
                    mp["bare_step_start_gap_s"],
                    mp["ratio_step_start_gap"],
                ],
            ],
            f"Multiprocess executor (forkserver, max_concurrent 2), {mp['steps']}-step no-op chain, median of {mp['repeats']}",
        )
    if "targets" in data:
        print_table(
            ["target", "value", "limit", "met"],
            [[k, v["value"], v["limit"], "yes" if v["met"] else "NO"] for k, v in data["targets"].items()],
            "Targets (from the issue)",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="CI smoke mode: tiny sizes, one repeat each")
    parser.add_argument("--only", default="sizes,shipped,multiprocess", help="comma list of parts to run")
    parser.add_argument("--sizes", help="comma list like 10x5,1000x20 (default: the full grid)")
    parser.add_argument("--repeats", type=int, help="repeats per size for N < 1000 (default 5)")
    parser.add_argument("--repeats-1000", type=int, help="repeats for N >= 1000 (default 3)")
    parser.add_argument("--shipped-repeats", type=int, help="default 5")
    parser.add_argument("--mp-repeats", type=int, help="default 3")
    parser.add_argument("--profile", action="store_true", help="cProfile ours at the largest size")
    parser.add_argument("--out-dir", type=Path, default=OUT)
    parser.add_argument("--name", help="JSON file name (default load, or load-quick with --quick)")
    args = parser.parse_args(argv)

    quick = args.quick
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    if args.sizes:
        sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    else:
        sizes = QUICK_SIZES if quick else FULL_SIZES
    repeats = args.repeats or (1 if quick else 5)
    repeats_1000 = args.repeats_1000 or (1 if quick else 3)
    shipped_repeats = args.shipped_repeats or (1 if quick else 5)
    mp_repeats = args.mp_repeats or (1 if quick else 3)

    started = dt.datetime.now(dt.UTC)
    data: dict[str, Any] = {"quick": quick, "parts": parts}
    if "sizes" in parts:
        data["sizes"] = bench_sizes(sizes, repeats, repeats_1000)  # type: ignore[arg-type]
    if "shipped" in parts:
        data["shipped"] = bench_shipped(shipped_repeats)
    if "multiprocess" in parts:
        data["multiprocess"] = bench_multiprocess(mp_repeats)
    if args.profile and "sizes" in data:
        largest = data["sizes"][-1]
        data["profile"] = profile_largest((largest["n_groups"], largest["m_steps"]), args.out_dir)

    targets: dict[str, Any] = {}
    at_1000 = [r for r in data.get("sizes", []) if r["n_groups"] == 1000]
    if at_1000:
        worst = max(r["ratio_wall"] for r in at_1000)
        targets["load ratio ours/bare at N=1000 (worst M)"] = {
            "value": worst,
            "limit": TARGETS["ratio_at_1000"],
            "met": worst <= TARGETS["ratio_at_1000"],
        }
    if "shipped" in data:
        for label, key in [("", "import_build_s"), (" with a plugin", "with_plugin_import_build_s")]:
            value = data["shipped"][key]
            targets[f"shipped import+build seconds{label}"] = {
                "value": value,
                "limit": TARGETS["shipped_import_build_s"],
                "met": value <= TARGETS["shipped_import_build_s"],
            }
    if "multiprocess" in data:
        value = data["multiprocess"]["ratio_per_step"]
        targets["multiprocess per-step ratio"] = {
            "value": value,
            "limit": TARGETS["multiprocess_per_step_ratio"],
            "met": value <= TARGETS["multiprocess_per_step_ratio"],
        }
    data["targets"] = targets
    data["elapsed_s"] = (dt.datetime.now(dt.UTC) - started).total_seconds()
    report(data)
    path = write_json(args.name or ("load-quick" if quick else "load"), data, args.out_dir)
    print(f"wrote {path} ({fmt(data['elapsed_s'], 1)} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
