"""The shipped FINRA weekly refresh in the Dagster UI: its job graph shows one op per step, in step order."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from tests.browser.conftest import DagsterUI

if TYPE_CHECKING:
    from playwright.sync_api import Page

GROUP_FILE = "finra_weekly_refresh.yaml"
JOB = "finra__weekly_refresh"  # the group's name with "." made "__"


def test_finra_job_graph_shows_every_step_op(page: Page, dagster_ui: DagsterUI) -> None:
    from playwright.sync_api import expect  # here, not at the top: see tests/browser/conftest.py

    spec = yaml.safe_load((dagster_ui.workspace.groups / GROUP_FILE).read_text())["spec"]
    steps = {step["name"]: step.get("depends_on", []) for step in spec["pipelines"]}
    assert len(steps) >= 4  # ingest, normalize, aggregate, rolling

    page.goto(f"/locations/spine/jobs/{JOB}")  # the job's Overview tab: its graph
    ops = {name: page.get_by_text(name, exact=True) for name in steps}
    for op in ops.values():
        expect(op).to_be_visible()
    expect(page.get_by_role("img", name="op", exact=True)).to_have_count(len(steps))  # one icon an op

    # The graph is laid out top to bottom: every op sits below the ops it depends on.
    top = {}
    for name, op in ops.items():
        box = op.bounding_box()
        assert box is not None, f"op {name} is not rendered"
        top[name] = box["y"]
    for name, upstream in steps.items():
        for dependency in upstream:
            assert top[dependency] < top[name], (dependency, name, top)
