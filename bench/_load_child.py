"""Child process of bench/load.py: load one code location in a fresh interpreter and print its timings.

    python bench/_load_child.py ours            # SPINE_GROUPS_DIR -> spine_dagster.definitions -> jobs
    python bench/_load_child.py bare DESC.json  # the same jobs with Dagster APIs only (no YAML, no validation)
    python bench/_load_child.py import-dagster  # just ``import dagster`` (context for the numbers above)

Prints one JSON line: seconds per phase, measured with perf_counter from the first line of this script
(interpreter start-up is in the parent's wall clock, not here). Optional ``--profile FILE`` writes a
cProfile of the whole run (import included).
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

PHASES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
GC = {"seconds": 0.0, "collections": 0, "gen2": 0, "_start": 0.0}


def _gc_callback(phase: str, info: dict[str, int]) -> None:
    """Time spent in the cyclic garbage collector (it scans every live object on a full collection)."""
    if phase == "start":
        GC["_start"] = time.perf_counter()
    else:
        GC["seconds"] += time.perf_counter() - GC["_start"]
        GC["collections"] += 1
        GC["gen2"] += info.get("generation") == 2


import gc  # noqa: E402

gc.callbacks.append(_gc_callback)


def _wrap(module: Any, attr: str, label: str) -> None:
    """Accumulate the time spent in ``module.attr`` (a module global looked up at call time)."""
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        return

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            PHASES[label] += time.perf_counter() - start
            CALLS[label] += 1

    setattr(module, attr, wrapper)


def _resolve(defs: Any) -> tuple[dict[str, float], int, int]:
    start = time.perf_counter()
    repo = defs.get_repository_def()
    mid = time.perf_counter()
    jobs = [job for job in repo.get_all_jobs() if not job.name.startswith("__")]
    nodes = sum(len(job.graph.node_dict) for job in jobs)
    end = time.perf_counter()
    return {"repository_def": mid - start, "get_all_jobs": end - mid}, len(jobs), nodes


def ours() -> dict[str, Any]:
    start = time.perf_counter()
    import spine_dagster.definitions as location

    t_import_location = time.perf_counter()
    import spine_dagster.composition as defs_module  # imported lazily by defs(); imported here to time phases
    import spine_dagster.defs.jobs as jobs_module

    t_import = time.perf_counter()
    for attr, label in [
        ("discover_pipelines", "discover_pipelines"),
        ("load_groups", "yaml_parse_validate"),
        ("plan_all", "plan"),
        ("cross_group_problems", "cross_group_checks"),
        ("build_group_job", "build_jobs"),
        ("build_schedules", "schedules"),
        ("build_sensors", "sensors"),
        ("build_outcome_sensors", "outcome_sensors"),
        ("build_problem_defs", "problems_asset"),
        ("build_table_assets", "table_assets"),
        ("build_table_checks", "table_checks"),
    ]:
        _wrap(defs_module, attr, label)
    _wrap(jobs_module, "build_job_config", "build_jobs.config_mapping")
    _wrap(jobs_module, "step_aliases", "build_jobs.step_aliases")

    built = location.defs()  # the LazyDefinitions Dagster calls when it loads the code location
    if not hasattr(built, "get_repository_def"):
        raise SystemExit(f"spine_dagster.definitions.defs() returned {type(built)!r}")
    t_build = time.perf_counter()
    resolve, n_jobs, n_nodes = _resolve(built)
    t_end = time.perf_counter()
    phases = dict(PHASES)
    named = sum(v for k, v in phases.items() if "." not in k)
    phases["other_build (Definitions, resources, ...)"] = (t_build - t_import) - named
    return {
        "mode": "ours",
        "import_s": t_import - start,
        "import_location_s": t_import_location - start,
        "build_s": t_build - t_import,
        "resolve_s": t_end - t_build,
        "total_s": t_end - T0,
        "phases": phases,
        "calls": dict(CALLS),
        "resolve": resolve,
        "jobs": n_jobs,
        "nodes": n_nodes,
        "assets": len(list(built.assets or [])),
        "gc_s": GC["seconds"],
        "gc_collections": GC["collections"],
        "gc_full_collections": GC["gen2"],
    }


def bare(description_path: str) -> dict[str, Any]:
    start = time.perf_counter()
    import dagster as dg

    t_import = time.perf_counter()
    with open(description_path) as f:
        groups = json.load(f)

    @dg.op(name="spine__noop", ins={"after": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing))
    def noop() -> None:
        return None

    jobs = []
    for group in groups:
        dependencies: dict[dg.NodeInvocation, dict[str, dg.IDependencyDefinition]] = {}
        for step in group["steps"]:
            upstream = step["depends_on"]
            dependencies[dg.NodeInvocation(name="spine__noop", alias=step["alias"])] = (
                {"after": dg.MultiDependencyDefinition([dg.DependencyDefinition(u) for u in upstream])}
                if upstream
                else {}
            )
        executor = (
            dg.in_process_executor
            if group["execution"] == "sequential"
            else dg.multiprocess_executor.configured(
                {"max_concurrent": group["max_concurrency"], "start_method": {"forkserver": {}}}
            )
        )
        graph = dg.GraphDefinition(name=group["job"], node_defs=[noop], dependencies=dependencies)
        jobs.append(graph.to_job(name=group["job"], executor_def=executor))
    built = dg.Definitions(jobs=jobs)
    t_build = time.perf_counter()
    resolve, n_jobs, n_nodes = _resolve(built)
    t_end = time.perf_counter()
    return {
        "mode": "bare",
        "import_s": t_import - start,
        "build_s": t_build - t_import,
        "resolve_s": t_end - t_build,
        "total_s": t_end - T0,
        "phases": {},
        "resolve": resolve,
        "jobs": n_jobs,
        "nodes": n_nodes,
        "gc_s": GC["seconds"],
        "gc_collections": GC["collections"],
        "gc_full_collections": GC["gen2"],
    }


def import_dagster() -> dict[str, Any]:
    start = time.perf_counter()
    import dagster  # noqa: F401

    end = time.perf_counter()
    return {"mode": "import-dagster", "import_s": end - start, "total_s": end - T0}


def main(argv: list[str]) -> None:
    profile = None
    if "--profile" in argv:
        i = argv.index("--profile")
        profile = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    modes: dict[str, Callable[..., dict[str, Any]]] = {
        "ours": ours,
        "bare": bare,
        "import-dagster": import_dagster,
    }
    fn = modes[argv[0]]
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(fn, *argv[1:])
        profiler.dump_stats(profile)
    else:
        result = fn(*argv[1:])
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    import warnings

    # Dagster warns about its own copy of run-status sensors; the text would only clutter stderr.
    warnings.filterwarnings("ignore")
    main(sys.argv[1:])
