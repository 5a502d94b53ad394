"""Step graph: spine-core's cycle paths and FIFO Kahn order, plus properties over random DAGs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spine_dagster.plan import graph, plan_group
from spine_dagster.spec.dsl import PipelineGroup


def _order(steps: list[tuple[str, list[str]]]) -> list[str]:
    return graph.kahn_order([n for n, _ in steps], [d for _, d in steps])


@pytest.mark.parametrize(
    ("steps", "expected"),
    [  # spine-core §2.3, verified against its code
        ([("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"])], ["a", "b", "c", "d"]),
        ([("a", []), ("b", []), ("c", [])], ["a", "b", "c"]),
        ([("x", []), ("y", []), ("z", ["x"]), ("w", [])], ["x", "y", "w", "z"]),
        ([("c", ["a"]), ("a", []), ("b", ["a"])], ["a", "c", "b"]),
        ([("a", []), ("b", ["a"]), ("c", ["b"]), ("e", [])], ["a", "e", "b", "c"]),
        ([("d", ["b", "c"]), ("c", ["a"]), ("b", ["a"]), ("a", [])], ["a", "c", "b", "d"]),
        ([("a", []), ("b", ["a", "a"])], ["a", "b"]),
    ],
)
def test_kahn_order_matches_spine_core(steps: list[tuple[str, list[str]]], expected: list[str]) -> None:
    assert _order(steps) == expected


@pytest.mark.parametrize(
    ("steps", "cycle"),
    [  # spine-core §2.2
        (
            [("step_a", ["step_c"]), ("step_b", ["step_a"]), ("step_c", ["step_b"])],
            ["step_a", "step_c", "step_b", "step_a"],
        ),
        ([("a", ["a"])], ["a", "a"]),
        ([("a", ["b"]), ("b", ["a"])], ["a", "b", "a"]),
        ([("entry", []), ("a", ["entry", "c"]), ("b", ["a"]), ("c", ["b"])], ["a", "c", "b", "a"]),
    ],
)
def test_cycle_path_matches_spine_core(steps: list[tuple[str, list[str]]], cycle: list[str]) -> None:
    assert graph.find_cycle([n for n, _ in steps], [d for _, d in steps]) == cycle


def test_unknown_dependencies_are_ignored_by_the_cycle_search() -> None:
    assert graph.find_cycle(["a", "b"], [["ghost"], ["a"]]) is None
    assert graph.unknown_dependencies(["a", "b"], [["ghost", "ghost", "x"], ["a"]]) == [(0, ["ghost", "x"])]


@st.composite
def dags(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    """Random DAGs: edges only point to earlier-created steps, then the definition order is shuffled."""
    count = draw(st.integers(min_value=0, max_value=25))
    names = [f"s{i}" for i in range(count)]
    steps = []
    for i, name in enumerate(names):
        deps = draw(st.lists(st.sampled_from(names[:i]), max_size=4)) if i else []
        steps.append((name, deps))
    return draw(st.permutations(steps))


@settings(max_examples=200, deadline=None)
@given(dags())
def test_plan_order_respects_every_edge_and_is_deterministic(steps: list[tuple[str, list[str]]]) -> None:
    builder = PipelineGroup("prop.dag")
    for name, deps in steps:
        builder.add(name, "spine.noop", depends_on=deps)
    spec = builder.build()
    first = plan_group(spec, None, {})
    second = plan_group(spec, None, {})
    order = [s.name for s in first.steps]
    assert order == [s.name for s in second.steps]
    assert sorted(order) == sorted(n for n, _ in steps)
    position = {name: i for i, name in enumerate(order)}
    level = {s.name: s.level for s in first.steps}
    for name, deps in steps:
        for dep in deps:
            assert position[dep] < position[name]
            assert level[dep] < level[name]
    roots = [n for n, d in steps if not d]
    assert order[: len(roots)] == roots  # all roots first, in definition order
