"""Rules across params see a param a template or a partition will supply as given, before its value is
known (``spine validate``), and see every value once the run params are known."""

from __future__ import annotations

import pytest

from spine_dagster.errors import ParamError
from spine_dagster.pipelines import discover_pipelines
from spine_dagster.plan import plan_group
from spine_dagster.spec import load_group_text


def _plan(text: str, run_params: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return plan_group(load_group_text(text, "g.yaml"), discover_pipelines(), run_params)


INGEST = (
    "name: g\ndefaults: {defaults}\nsteps: [{{name: ingest, pipeline: finra.otc_transparency.ingest_week}}]\n"
)


def test_a_templated_week_is_given_until_it_is_known() -> None:
    text = INGEST.format(defaults='{tier: NMS_TIER_1, week_ending: "{{ params.week_ending }}"}')
    assert _plan(text).required_params == ("week_ending",)
    assert _plan(text, {"week_ending": "2025-12-26"}).steps[0].params["week_ending"] == "2025-12-26"
    with pytest.raises(ParamError, match="week_ending must be a Friday, got 2025-12-25"):
        _plan(text, {"week_ending": "2025-12-25"})


def test_known_values_are_still_checked_while_another_is_pending() -> None:
    text = INGEST.format(defaults='{tier: OTC, week_ending: "2025-12-25", source_dir: "{{ params.d }}"}')
    with pytest.raises(ParamError, match="week_ending must be a Friday"):
        _plan(text)
    both = INGEST.format(
        defaults='{tier: OTC, week_ending: "2025-12-26", source_path: a.psv, source_dir: "{{ params.d }}"}'
    )
    with pytest.raises(ParamError, match="give source_dir or source_path, not both"):
        _plan(both)


def test_no_week_at_all_is_still_an_error() -> None:
    with pytest.raises(ParamError, match="give week_ending"):
        _plan(INGEST.format(defaults="{tier: OTC}"))


def test_a_partition_filled_week_with_a_literal_tier_validates() -> None:
    text = (
        "name: g\ndefaults: {tier: NMS_TIER_1}\n"
        "steps: [{name: ingest, pipeline: finra.otc_transparency.ingest_week}]\n"
        'partitions: {weekly: {start: "2025-01-03"}}\n'
    )
    assert [s.name for s in _plan(text).steps] == ["ingest"]
