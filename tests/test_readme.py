"""The README's examples stay true: its YAML blocks are valid groups, and its test command is .ci/run's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spine_dagster.plan import plan_group
from spine_dagster.spec import load_group_text

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)


def test_readme_has_yaml_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_yaml_blocks_load_and_plan(index: int) -> None:
    group = load_group_text(BLOCKS[index], f"README.md block {index}")
    plan_group(group, None, None, check_pipelines=False)


def test_ci_runs_the_readme_test_command() -> None:
    command = re.search(r"\*\*Run the tests\*\*.*?```bash\n(.*?)\n```", README, re.DOTALL)
    assert command is not None
    assert command.group(1).strip() in (REPO / ".ci" / "run").read_text()
