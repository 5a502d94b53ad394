"""Make bad group files visible in the Dagster UI instead of letting them disappear.

The code location always has an asset (``spine/group_files`` by default) whose description lists every problem found
when the definitions were loaded (bad group files, and pipeline plugins that failed to load), and an asset check ``all_group_files_valid`` that re-reads the groups
directory when run (from the UI, or by the definitions themselves) and fails with the same list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dagster as dg

from ..errors import Diagnostic


def _markdown(diags: Sequence[Diagnostic]) -> str:
    if not diags:
        return "All group files are valid and every pipeline plugin loaded."
    lines = [
        f"**{len(diags)} problem(s) in the group files or pipeline plugins** (run `spine validate` for details):",
        "",
    ]
    lines += [f"- `{d.format()}`" for d in diags]
    return "\n".join(lines)


def build_problem_defs(
    diags: Sequence[Diagnostic],
    groups_dir: str,
    reload: Callable[[], Sequence[Diagnostic]],
    key: dg.AssetKey,
) -> tuple[dg.AssetSpec, dg.AssetChecksDefinition]:
    """The problems asset (``key``, from the translator) and its re-reading check."""
    spec = dg.AssetSpec(
        key=key,
        description=f"The PipelineGroup files in {groups_dir}.\n\n{_markdown(diags)}",
        group_name="spine",
        kinds={"yaml"},
        metadata={"groups_dir": groups_dir, "problems": len(diags)},
    )

    @dg.asset_check(
        asset=key,
        name="all_group_files_valid",
        description="Every group file loads and plans (re-reads the groups directory).",
    )
    def _check() -> dg.AssetCheckResult:
        found = list(reload())
        return dg.AssetCheckResult(
            passed=not found,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"problems": len(found), "details": dg.MetadataValue.md(_markdown(found))},
        )

    return spec, _check
