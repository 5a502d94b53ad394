"""Python DSL == YAML, and to_yaml round-trips every valid fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from spine_dagster.errors import InvalidGroupSpecError
from spine_dagster.spec import RetrySpec, load_group_file, load_group_text
from spine_dagster.spec.dsl import PipelineGroup, group_to_dict, to_yaml
from tests.conftest import GROUP_FIXTURES

VALID = sorted((GROUP_FIXTURES / "valid").rglob("*.y*ml"))


def test_dsl_builds_the_same_spec_as_yaml() -> None:
    text = """
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {name: finra.weekly_refresh, domain: finra.otc_transparency, tags: {team: market-data}}
spec:
  defaults: {tier: NMS_TIER_1, week_ending: "{{ params.week_ending }}"}
  pipelines:
    - {name: ingest, pipeline: spine.noop, retry: {max_retries: 2, backoff: exponential, delay_seconds: 1}}
    - {name: normalize, pipeline: spine.noop, depends_on: ingest, timeout_seconds: 30}
  policy: {execution: parallel, max_concurrency: 2, on_failure: continue}
"""
    from_yaml = load_group_text(text).spec
    from_dsl = (
        PipelineGroup(
            "finra.weekly_refresh",
            domain="finra.otc_transparency",
            tags={"team": "market-data"},
            defaults={"tier": "NMS_TIER_1", "week_ending": "{{ params.week_ending }}"},
            policy={"execution": "parallel", "max_concurrency": 2, "on_failure": "continue"},
        )
        .add("ingest", "spine.noop", retry=RetrySpec(max_retries=2, backoff="exponential", delay_seconds=1))
        .add("normalize", "spine.noop", depends_on="ingest", timeout_seconds=30)
        .build()
    )
    assert from_dsl == from_yaml


def test_dsl_reports_every_problem() -> None:
    builder = (
        PipelineGroup("g")
        .add("a", "spine.noop", depends_on=None)
        .add("a", "spine.noop", params={"x": "{{ os }}"})
    )
    with pytest.raises(InvalidGroupSpecError) as info:
        builder.build()
    messages = [d.message for d in info.value.diagnostics]
    assert len(messages) == 3
    assert messages[0].startswith("steps[0].depends_on: depends_on must be a step name")
    assert messages[1].startswith("steps[1].name: Duplicate step names: {'a'}")
    assert messages[2].startswith("steps[1].params.x: template {{ os }} is not allowed")


def test_to_yaml_writes_spine_core_layout() -> None:
    spec = (
        PipelineGroup("g", description="d")
        .add("a", "spine.noop")
        .add("b", "spine.noop", depends_on=["a"])
        .build()
    )
    data = group_to_dict(spec)
    assert list(data) == ["apiVersion", "kind", "metadata", "spec"]
    assert data["metadata"] == {"name": "g", "domain": "", "version": 1, "description": "d"}
    assert data["spec"]["pipelines"] == [
        {"name": "a", "pipeline": "spine.noop"},
        {"name": "b", "pipeline": "spine.noop", "depends_on": ["a"]},
    ]
    assert data["spec"]["policy"] == {"execution": "sequential", "max_concurrency": 4, "on_failure": "stop"}
    assert "defaults" not in data["spec"]


@pytest.mark.parametrize("path", VALID, ids=[p.relative_to(GROUP_FIXTURES).as_posix() for p in VALID])
def test_to_yaml_round_trips(path: Path) -> None:
    spec = load_group_file(path).spec
    again = load_group_text(to_yaml(spec)).spec
    assert again == spec
    assert to_yaml(again) == to_yaml(spec)
