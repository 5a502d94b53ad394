"""Make bad group files visible in the Dagster UI instead of letting them disappear.

The code location always has an asset (``spine/group_files`` by default) whose description lists every
problem found when the definitions were loaded (bad group files, and pipeline plugins that failed to load),
and an asset check ``all_group_files_valid`` that re-reads the groups directory and fails with the same
list. A sensor, on by default, re-reads the directory every minute and, when what it finds changes (and on
its first tick), reports the asset materialized with the problem count and records the check's
evaluation: the asset and its check show the state of the group files without anyone clicking
"Materialize" or "Execute". Nothing is read or recorded at import time: Dagster re-imports the code
location in every run and step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import dagster as dg

from ..errors import Diagnostic

CHECK_NAME = "all_group_files_valid"
SENSOR_INTERVAL_SECONDS = 60


def _markdown(diags: Sequence[Diagnostic]) -> str:
    if not diags:
        return "All group files are valid and every pipeline plugin loaded."
    lines = [
        f"**{len(diags)} problem(s) in the group files or pipeline plugins** (run `spine validate` for details):",
        "",
    ]
    lines += [f"- `{d.format()}`" for d in diags]
    return "\n".join(lines)


def _summary(diags: Sequence[Diagnostic]) -> str:
    if not diags:
        return "All group files are valid"
    return (
        f"{len(diags)} problem(s) in the group files: "
        + "; ".join(d.format() for d in diags[:3])
        + ("; ..." if len(diags) > 3 else "")
    )


def _check_result(found: Sequence[Diagnostic]) -> dict[str, object]:
    return {
        "passed": not found,
        "severity": dg.AssetCheckSeverity.ERROR,
        "description": _summary(found),
        "metadata": {"problems": len(found), "details": dg.MetadataValue.md(_markdown(found))},
    }


def fingerprint(diags: Sequence[Diagnostic]) -> str:
    """What the sensor's cursor remembers: a hash of the problem lines (the same for the same problems)."""
    return hashlib.sha256("\n".join(d.format() for d in diags).encode()).hexdigest()[:16]


def build_problem_defs(
    diags: Sequence[Diagnostic],
    groups_dir: str,
    reload: Callable[[], Sequence[Diagnostic]],
    key: dg.AssetKey,
) -> tuple[dg.AssetSpec, dg.AssetChecksDefinition, dg.SensorDefinition]:
    """The problems asset (``key``, from the translator), its re-reading check, and the sensor that
    reports both when the group files change."""
    spec = dg.AssetSpec(
        key=key,
        description=f"The PipelineGroup files in {groups_dir}.\n\n{_markdown(diags)}",
        group_name="spine",
        kinds={"yaml"},
        metadata={"groups_dir": groups_dir, "problems": len(diags)},
    )

    @dg.asset_check(
        asset=key,
        name=CHECK_NAME,
        description="Every group file loads and plans (re-reads the groups directory).",
    )
    def _check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(**_check_result(list(reload())))  # type: ignore[arg-type]

    sensor_name = "__".join(key.path) + "_sensor"

    @dg.sensor(
        name=sensor_name,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Re-reads the group files in {groups_dir} every {SENSOR_INTERVAL_SECONDS} s; when what it finds "
            f"changes (and on its first tick) it reports {key.to_user_string()} materialized and records its "
            f"check {CHECK_NAME}: passed, or failed with every problem."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        found = list(reload())
        seen = fingerprint(found)
        if context.cursor == seen:
            return dg.SkipReason(f"{_summary(found)} (unchanged)")
        details = dg.MetadataValue.md(_markdown(found))
        return dg.SensorResult(
            asset_events=[
                dg.AssetMaterialization(
                    asset_key=key,
                    description=_summary(found),
                    metadata={"groups_dir": groups_dir, "problems": len(found), "details": details},
                ),
                dg.AssetCheckEvaluation(
                    asset_key=key,
                    check_name=CHECK_NAME,
                    passed=not found,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=_summary(found),
                    metadata={"problems": len(found), "details": details},
                ),
            ],
            cursor=seen,
        )

    return spec, _check, _sensor
