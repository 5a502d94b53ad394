"""The typed interface between the definitions and the runtime: aliases both ways, check scopes."""

from __future__ import annotations

import datetime as dt

import pytest

from spine_dagster.domains.finra_otc import tables as t
from spine_dagster.domains.finra_otc.checks import _rows, _week
from spine_dagster.pipelines.context import CheckContext, StepContext
from spine_dagster.runtime.binding import StepAliases


def test_step_aliases_hold_both_directions_and_refuse_collisions() -> None:
    aliases = StepAliases.of({"load-orders": "load_orders", "b": "b"})
    assert aliases.alias("load-orders") == "load_orders"
    assert aliases.step("load_orders") == "load-orders"
    assert list(aliases) == ["load_orders", "b"]
    with pytest.raises(ValueError, match="steps 's-1' and 's_1' both become op 's_1'"):
        StepAliases.of({"s-1": "s_1", "s_1": "s_1"})


def test_a_check_knows_its_scope_explicitly() -> None:
    step = StepContext(
        "g", "s", "r", "b", params={"week_ending": "2025-12-26", "tier": "OTC"}, partition_key="k"
    )
    in_step = CheckContext.for_step(step)
    assert in_step.scope.kind == "step" and not in_step.scope.whole_table
    assert in_step.scope.params["tier"] == "OTC" and in_step.scope.partition_key == "k"
    alone = CheckContext.for_table(warehouse=None)
    assert alone.scope.whole_table and dict(alone.scope.params) == {}
    # The FINRA checks look at the step's (week, tier), or at every (week, tier) when run alone.
    assert (_week(in_step).monday, _week(in_step).tier) == (dt.date(2025, 12, 22), "OTC")
    assert _rows(alone, t.WEEKLY_VOLUME) == ("finra_otc.weekly_volume_latest", "1 = 1", [])
    # A step scope without a week is a bug (the step's params were validated before it ran): it is raised,
    # never silently widened to the whole table.
    with pytest.raises(ValueError, match="give week_ending"):
        _week(CheckContext.for_step(StepContext("g", "s", "r", "b", params={"tier": "OTC"})))
