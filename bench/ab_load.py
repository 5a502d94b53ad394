"""A/B the Definitions load of package trees: measure a candidate fix before proposing it.

Each variant is a directory holding a (modified) copy of the ``spine_dagster`` package; it is put first
on ``PYTHONPATH`` of the child, so it shadows the editable install. ``-`` means the installed package.
The bare-Dagster baseline of bench/load.py runs interleaved with them, for the ratio.

    cp -r spine_dagster /tmp/fix/ && $EDITOR /tmp/fix/spine_dagster/...
    python bench/ab_load.py --variant base=- --variant fix=/tmp/fix --sizes 1000x20 --repeats 3

Writes bench/out/ab_load.json (or --name).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    OUT,
    PYTHON,
    child_env,
    interleaved,
    log,
    median,
    print_table,
    ratio,
    run_child,
    tempdir,
    write_json,
)
from load import CHILD, describe, write_groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--variant", action="append", required=True, help="NAME=DIR (DIR holds spine_dagster/) or NAME=-"
    )
    parser.add_argument("--sizes", default="1000x20")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-bare", action="store_true")
    parser.add_argument("--name", default="ab_load")
    args = parser.parse_args(argv)
    variants = dict(v.split("=", 1) for v in args.variant)
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    payload: dict[str, Any] = {"variants": variants, "sizes": []}
    for n, m in sizes:
        log(f"[ab] N={n} M={m}: {args.repeats} repeats of {', '.join(variants)}")
        with tempdir(f"ab-{n}x{m}") as tmp:
            groups_dir, description = write_groups(describe(n, m), Path(tmp))
            cases = {}
            for name, path in variants.items():
                env = child_env(SPINE_GROUPS_DIR=groups_dir, SPINE_HOME=Path(tmp) / "spine-home")
                env.pop("PYTHONPATH", None)
                if path != "-":
                    env["PYTHONPATH"] = str(Path(path).resolve())
                cases[name] = lambda env=env, cwd=tmp: run_child([PYTHON, CHILD, "ours"], env=env, cwd=cwd)
            if not args.no_bare:
                bare_env = child_env()
                cases["bare"] = lambda env=bare_env, cwd=tmp, desc=str(description): run_child(
                    [PYTHON, CHILD, "bare", desc], env=env, cwd=cwd
                )
            runs = interleaved(args.repeats, cases)
        rows = []
        summary: dict[str, Any] = {"n_groups": n, "m_steps": m, "repeats": args.repeats, "variants": {}}
        bare_wall = median(r.wall for r in runs["bare"]) if "bare" in runs else float("nan")
        for name, results in runs.items():
            data = [r.last_json() | {"wall_s": r.wall} for r in results]
            entry = {
                key: median(d.get(key, float("nan")) for d in data)
                for key in ("wall_s", "total_s", "import_s", "build_s", "resolve_s", "gc_s")
            }
            entry["yaml_parse_validate_s"] = median(
                d["phases"].get("yaml_parse_validate", float("nan")) for d in data
            )
            entry["plan_s"] = median(d["phases"].get("plan", float("nan")) for d in data)
            entry["build_jobs_s"] = median(d["phases"].get("build_jobs", float("nan")) for d in data)
            entry["ratio_wall_vs_bare"] = ratio(entry["wall_s"], bare_wall)
            summary["variants"][name] = entry
            rows.append(
                [
                    name,
                    entry["wall_s"],
                    entry["ratio_wall_vs_bare"],
                    entry["total_s"],
                    entry["import_s"],
                    entry["yaml_parse_validate_s"],
                    entry["plan_s"],
                    entry["build_jobs_s"],
                    entry["build_s"],
                    entry["resolve_s"],
                    entry["gc_s"],
                ]
            )
        print_table(
            [
                "variant",
                "wall s",
                "vs bare",
                "in-proc s",
                "import",
                "yaml+valid",
                "plan",
                "jobs",
                "build",
                "resolve",
                "gc",
            ],
            rows,
            f"A/B load, N={n} M={m}, medians of {args.repeats}",
        )
        payload["sizes"].append(summary)
    path = write_json(args.name, payload, OUT)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
