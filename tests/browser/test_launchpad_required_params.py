"""spine-core's canonical group in the Launchpad: it asks for its required run param, and a launch without
it fails with the message ``spine run`` prints (issue 10 §1). Run params are checked against the
pipelines' params models as you type (issue 12 §4): an unknown param and a wrong type are errors naming
the field, before any launch, and the config type panel shows each param's description."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import DagsterUI

if TYPE_CHECKING:
    from playwright.sync_api import Page

CANONICAL = Path(__file__).parents[1] / "fixtures" / "spine_core" / "sample_group.yaml"
JOB = "finra__weekly_refresh"


@pytest.fixture(scope="module")
def ui_groups_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    groups = tmp_path_factory.mktemp("canonical_groups")
    shutil.copy(CANONICAL, groups / "sample_group.yaml")
    return groups


def test_launchpad_asks_for_week_ending_and_refuses_a_launch_without_it(
    page: Page, dagster_ui: DagsterUI
) -> None:
    from playwright.sync_api import expect

    page.goto(f"/locations/spine/jobs/{JOB}/playground")
    editor = page.locator(".CodeMirror").first
    # The run config opens with the group's defaults and the required param's placeholder to replace.
    expect(editor).to_contain_text("week_ending: <week_ending>")
    expect(editor).to_contain_text("tier: NMS_TIER_1")

    page.get_by_role("button", name="Launch Run").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("missing required run param 'week_ending'")
    expect(dialog).to_contain_text("declared by {{ params.week_ending }}")
    expect(dialog).to_contain_text("sample_group.yaml:11:18")
    # Nothing was launched.
    runs = dagster_ui.graphql("{ runsOrError { ... on Runs { count } } }")
    assert runs["runsOrError"]["count"] == 0


def test_the_launchpad_flags_an_unknown_param_and_a_wrong_type(page: Page, dagster_ui: DagsterUI) -> None:
    from playwright.sync_api import expect

    page.goto(f"/locations/spine/jobs/{JOB}/playground")
    editor = page.locator(".CodeMirror").first
    expect(editor).to_contain_text("week_ending: <week_ending>")
    config = "params:\n  week_ending: '2025-12-26'\n  window_weeks: six\n  nope: 1\n"
    page.evaluate("(text) => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", config)
    errors = page.get_by_text('Received unexpected config entry "nope" at path root:params.', exact=False)
    expect(errors.first).to_be_visible(timeout=20_000)
    wrong = 'Invalid scalar at path root:params:window_weeks. Value "six" of type'
    expect(page.get_by_text(wrong, exact=False).first).to_be_visible()
    # the config type panel lists each param with the pipeline's description
    expect(
        page.get_by_text("/* Weeks in the rolling window. Default: 6. */", exact=False).first
    ).to_be_visible()
    runs = dagster_ui.graphql("{ runsOrError { ... on Runs { count } } }")
    assert runs["runsOrError"]["count"] == 0
