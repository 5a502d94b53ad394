"""The step graph: unknown dependencies, cycles, order and levels, exactly as spine-core plans them.

* Cycle search: three-colour DFS from the steps in definition order, following ``depends_on`` in list
  order; the first back-edge reports the path from the re-entered step, closed by that step again
  (``a -> c -> b -> a``: read "a depends on c, which depends on b, which depends on a").
* Order: Kahn's algorithm with a FIFO queue. All roots first, in definition order; when a step is taken,
  its dependents whose last dependency it was join the back of the queue in definition order.
* Level: the longest path (in edges) from a root, for display.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence


def unknown_dependencies(
    names: Sequence[str], depends_on: Sequence[Sequence[str]]
) -> list[tuple[int, list[str]]]:
    """(step index, missing names in list order, without repeats) for every step with unknown deps."""
    known = set(names)
    found = []
    for i, deps in enumerate(depends_on):
        missing = list(dict.fromkeys(d for d in deps if d not in known))
        if missing:
            found.append((i, missing))
    return found


def find_cycle(names: Sequence[str], depends_on: Sequence[Sequence[str]]) -> list[str] | None:
    """The first cycle spine-core's DFS would report, or None. Unknown dependencies are ignored."""
    edges = {name: [d for d in deps if d in set(names)] for name, deps in zip(names, depends_on, strict=True)}
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(names, white)
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        path.append(node)
        for dep in edges[node]:
            if colour[dep] == grey:
                return [*path[path.index(dep) :], dep]
            if colour[dep] == white:
                cycle = visit(dep)
                if cycle is not None:
                    return cycle
        path.pop()
        colour[node] = black
        return None

    for name in names:
        if colour[name] == white:
            cycle = visit(name)
            if cycle is not None:
                return cycle
    return None


def kahn_order(names: Sequence[str], depends_on: Sequence[Sequence[str]]) -> list[str]:
    """spine-core's FIFO Kahn order. The graph must be acyclic with known dependencies."""
    deps = [set(d) for d in depends_on]
    in_degree = {name: len(d) for name, d in zip(names, deps, strict=True)}
    dependents: dict[str, list[str]] = {name: [] for name in names}
    for name, step_deps in zip(names, deps, strict=True):  # definition order of the dependents
        for dep in step_deps:
            dependents[dep].append(name)
    queue = deque(name for name in names if in_degree[name] == 0)
    order: list[str] = []
    while queue:
        name = queue.popleft()
        order.append(name)
        for child in dependents[name]:
            in_degree[child] -= 1
            if in_degree[child] == 0:
                queue.append(child)
    if len(order) != len(names):
        remaining = [n for n in names if n not in set(order)]
        raise ValueError(f"Topological sort incomplete. Remaining: {remaining}")
    return order


def levels(order: Sequence[str], depends_on: dict[str, Sequence[str]]) -> dict[str, int]:
    """Longest distance from a root for each step (roots are level 0)."""
    level: dict[str, int] = {}
    for name in order:
        level[name] = 1 + max((level[d] for d in depends_on[name]), default=-1)
    return level
