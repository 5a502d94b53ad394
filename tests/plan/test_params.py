"""Parameter merge (defaults < run < step), templates, required run params and provenance."""

from __future__ import annotations

import pytest

from spine_dagster.errors import ParamError
from spine_dagster.plan import UNRESOLVED, plan_group
from spine_dagster.spec import load_group_text


def _plan(text: str, run: dict | None, registry=None, **kwargs):  # type: ignore[no-untyped-def]
    return plan_group(load_group_text(text, "g.yaml"), registry, run, **kwargs)


GROUP = """
name: demo.params
domain: demo
version: 3
defaults:
  tier: NMS_TIER_1
  week_ending: "{{ params.week_ending }}"
  label: "{{ group.name }}@v{{ group.version }} ({{ group.domain }})"
  dir: data/{{ params.tier }}
  weeks: 6
steps:
  - name: a
    pipeline: spine.noop
  - name: b
    pipeline: spine.noop
    depends_on: a
    params:
      tier: OTC
      window: "{{ params.weeks }}"
      note: "tier was {{ params.tier }}"
"""


def test_merge_templates_and_provenance() -> None:
    plan = _plan(GROUP, {"week_ending": "2026-01-02", "weeks": 13})
    a, b = plan.step("a"), plan.step("b")
    assert dict(a.params) == {
        "tier": "NMS_TIER_1",
        "week_ending": "2026-01-02",
        "label": "demo.params@v3 (demo)",
        "dir": "data/NMS_TIER_1",
        "weeks": 13,
    }
    # b's own tier wins; `dir` (a default) sees b's merged tier; `note` refers to its own name's lower layer.
    assert dict(b.params) == {
        "tier": "OTC",
        "week_ending": "2026-01-02",
        "label": "demo.params@v3 (demo)",
        "dir": "data/OTC",
        "weeks": 13,
        "window": 13,
        "note": "tier was OTC",
    }
    assert b.sources["tier"].layer == "step"
    assert b.sources["weeks"].layer == "run"
    assert b.sources["week_ending"].layer == "run"
    assert b.sources["window"].layer == "template" and b.sources["window"].origin == "step"
    assert b.sources["dir"].describe() == "template in group default: data/{{ params.tier }}"
    assert a.sources["tier"].describe() == "group defaults"
    # weeks has a plain default, so `window: "{{ params.weeks }}"` does not make it a required run param.
    assert plan.required_params == ("week_ending",)
    assert plan.params == {"week_ending": "2026-01-02", "weeks": 13}


def test_self_reference_in_a_step_param_sees_the_layer_below() -> None:
    text = "name: g\ndefaults: {tier: T1}\nsteps:\n  - {name: a, pipeline: spine.noop, params: {tier: 'x-{{ params.tier }}'}}\n"
    assert _plan(text, {}).step("a").params["tier"] == "x-T1"
    assert _plan(text, {"tier": "T2"}).step("a").params["tier"] == "x-T2"


def test_missing_required_params_are_all_named() -> None:
    text = GROUP.replace("weeks: 6", "weeks: '{{ params.weeks }}'")
    with pytest.raises(ParamError) as info:
        _plan(text, {})
    messages = [d.format() for d in info.value.diagnostics]
    assert messages == [
        "g.yaml:7:16: missing required run param 'week_ending' (declared by {{ params.week_ending }}); "
        "all missing: week_ending, weeks; pass --param week_ending=... --param weeks=...",
        "g.yaml:10:10: missing required run param 'weeks' (declared by {{ params.weeks }}); "
        "all missing: week_ending, weeks; pass --param week_ending=... --param weeks=...",
    ]


def test_a_plain_default_is_the_fallback_of_a_whole_value_reference() -> None:
    plan = _plan(GROUP, {"week_ending": "2026-01-02"})
    assert plan.step("b").params["window"] == 6
    assert plan.step("b").sources["window"].describe() == "template in step param: {{ params.weeks }}"


def test_without_run_params_values_needing_them_are_unresolved() -> None:
    plan = _plan(GROUP, None)
    assert plan.step("a").params["week_ending"] is UNRESOLVED
    assert plan.step("a").params["dir"] == "data/NMS_TIER_1"


def test_template_loops_are_errors() -> None:
    text = "name: g\ndefaults: {a: 'x{{ params.b }}', b: 'y{{ params.a }}'}\nsteps: [{name: s, pipeline: spine.noop}]\n"
    with pytest.raises(ParamError, match=r"loop: params.a -> params.b -> params.a"):
        _plan(text, {})


def test_run_params_are_data_not_templates() -> None:
    text = "name: g\nsteps: [{name: s, pipeline: spine.noop}]\n"
    plan = _plan(text, {"x": "{{ params.y }}"})
    assert plan.step("s").params["x"] == "{{ params.y }}"


def test_params_are_validated_against_the_pipeline_model(registry) -> None:  # type: ignore[no-untyped-def]
    text = """name: g
defaults: {week_ending: "{{ params.week_ending }}"}
steps:
  - {name: t, pipeline: test.typed, params: {count: many, tier: T9}}
"""
    with pytest.raises(ParamError) as info:
        _plan(text, {"week_ending": "2026-13-01"}, registry)
    lines = sorted(d.format() for d in info.value.diagnostics)
    assert len(lines) == 3
    # The bad value came from the run params; the position is where the group declares that run param.
    assert lines[0].startswith("g.yaml:2:25: step 't' (test.typed): param week_ending should be a valid date")
    assert lines[0].endswith("got str '2026-13-01' (from run params)")
    assert "g.yaml:4:53: step 't' (test.typed): param count should be a valid integer" in lines[1]
    assert "g.yaml:4:65: step 't' (test.typed): param invalid value 'T9' for tier" in lines[2]


def test_typed_params_accept_valid_values(registry) -> None:  # type: ignore[no-untyped-def]
    text = "name: g\nsteps: [{name: t, pipeline: test.typed, params: {week_ending: 2026-01-02, count: 3}}]\n"
    plan = _plan(text, {}, registry)
    assert plan.step("t").params == {"week_ending": "2026-01-02", "count": 3}
