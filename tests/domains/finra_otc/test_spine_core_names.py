"""spine-core's FINRA ingest param names are accepted as documented aliases: ``file_path`` for
``source_path`` and ``source_type: file|api`` for ``source``."""

from __future__ import annotations

import pytest

from spine_dagster.errors import ParamError
from spine_dagster.pipelines import discover_pipelines
from spine_dagster.plan import plan_group
from spine_dagster.plan.planner import params_for_run
from spine_dagster.spec import load_group_text

GROUP = """
name: core.names
defaults: {{tier: NMS_TIER_1, week_ending: "{{{{ params.week_ending }}}}"}}
steps:
  - name: ingest
    pipeline: finra.otc_transparency.ingest_week
    params: {params}
"""


def _plan(params: str, run_params: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return plan_group(
        load_group_text(GROUP.format(params=params), "g.yaml"), discover_pipelines(), run_params
    )


def test_spine_core_names_reach_the_params_model() -> None:
    plan = _plan("{file_path: week.psv, source_type: file}", {"week_ending": "2025-12-26"})
    values, model = params_for_run(plan, "ingest", {"week_ending": "2025-12-26"}, discover_pipelines())
    assert values["file_path"] == "week.psv"  # the step's params keep the name the file used
    assert (model.source_path, model.source) == ("week.psv", "files")
    _, api = params_for_run(
        _plan("{source_type: api}"), "ingest", {"week_ending": "2025-12-26"}, discover_pipelines()
    )
    assert api.source == "api"


def test_a_name_and_its_alias_together_are_an_error() -> None:
    with pytest.raises(ParamError, match="give source_path or its spine-core name file_path, not both"):
        _plan("{file_path: a.psv, source_path: b.psv}")
    with pytest.raises(ParamError, match="give source or its spine-core name source_type, not both"):
        _plan("{source: files, source_type: api}")


def test_aliases_take_part_in_the_other_rules() -> None:
    with pytest.raises(ParamError, match="give source_dir or source_path, not both"):
        _plan('{file_path: "{{ params.f }}", source_dir: data}')  # a pending alias is given
    with pytest.raises(ParamError, match="source: api reads the FINRA API"):
        _plan("{source_type: api, file_path: a.psv}")
    with pytest.raises(ParamError, match="has no param 'filepath' \\(did you mean 'file_path'\\?\\)"):
        _plan("{filepath: a.psv}")
    with pytest.raises(
        ParamError, match="invalid value 'ftp' for source_type: expected one of 'files', 'api'"
    ):
        _plan("{source_type: ftp}")
