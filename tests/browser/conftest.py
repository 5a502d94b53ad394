"""Browser tests of the Dagster UI: a real ``spine dev`` and Debian's Chromium, driven by Playwright.

Fixtures:

- ``ui_groups_dir`` (module): the groups the UI serves, the repo's shipped ``groups/`` unless a test module
  overrides the fixture (``@pytest.fixture(scope="module") def ui_groups_dir(tmp_path_factory): ...``).
- ``dagster_ui`` (module): ``spine dev`` on a free 127.0.0.1 port in its own DAGSTER_HOME, with the code
  location loaded; a :class:`DagsterUI` (``.url``, ``.port``, ``.graphql(query)``, ``.workspace`` to run
  ``spine`` commands against the same instance and groups).
- ``browser`` (session): headless Chromium.
- ``page`` (function): a new page in its own browser context, its base URL the UI's: ``page.goto("/jobs")``.

A test that fails leaves a full-page screenshot in ``tests/browser/screenshots/<test name>.png``.

Import playwright inside the test function (``from playwright.sync_api import expect``; ``Page`` under
``TYPE_CHECKING``): a module-level import would make a missing playwright a collection error that stops
the whole suite, instead of the fixtures' failure that says how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests._servers import free_port, graphql, stop_process_group, wait_until
from tests.integration.conftest import REPO, Workspace

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("SPINE_TEST_CHROMIUM", "/usr/bin/chromium"))
# The background-networking flags matter here: without them Chromium's own connections are refused by a
# closed network and the launch fails.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
TIMEOUT_MS = 20_000  # every Playwright wait and expect; the UI renders slowly on a busy 2-core machine

LOCATIONS = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } ... on PythonError { message } } }"""


@dataclass
class DagsterUI:
    """A running ``spine dev``: the Dagster webserver and daemon on one instance and groups dir."""

    port: int
    workspace: Workspace  # its groups dir and DAGSTER_HOME are the UI's
    process: subprocess.Popen[Any]
    log: Path  # dagster dev's output

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str) -> dict[str, Any]:
        return graphql(self.port, query)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _locations_loaded(port: int) -> bool:
    """Whether every code location finished loading; fails at once with the error of one that did not."""
    workspace = graphql(port, LOCATIONS, timeout=5)["workspaceOrError"]
    assert workspace["__typename"] == "Workspace", workspace
    entries = workspace["locationEntries"]
    broken = [e for e in entries if (e["locationOrLoadError"] or {}).get("__typename") == "PythonError"]
    assert not broken, f"code location failed to load: {broken}"
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def start_spine_dev(root: Path, groups_dir: Path, timeout: float = 120) -> DagsterUI:
    """``spine dev`` serving a copy of ``groups_dir`` from ``root``; returns once the UI can be used.

    The caller stops it with :func:`stop_process_group` on ``.process`` (the ``dagster_ui`` fixture does).
    """
    workspace = Workspace(root)
    shutil.copytree(groups_dir, workspace.groups)  # a test may edit its groups without touching the source
    port = free_port()
    log = root / "spine_dev.log"
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "spine_dagster", "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,  # workspace.yaml (location "spine") and dagster.yaml are found there
            env=workspace.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: dagster dev, webserver, daemon, code servers
        )
    ui = DagsterUI(port, workspace, process, log)
    try:
        wait_until(lambda: _locations_loaded(port), timeout=timeout, what="spine dev", process=process)
        # Dagster shows a "Join the Dagster community" dialog over the first page on a localhost origin
        # until it is dismissed once per DAGSTER_HOME; dismiss it the way its Skip button does.
        ui.graphql("mutation { setNuxSeen }")
    except BaseException as exc:
        stop_process_group(process)
        if isinstance(exc, AssertionError):
            raise AssertionError(f"{exc}\n--- spine dev output (last lines) ---\n{ui.log_tail()}") from None
        raise
    return ui


@pytest.fixture(scope="module")
def ui_groups_dir() -> Path:
    return REPO / "groups"


@pytest.fixture(scope="module")
def dagster_ui(ui_groups_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    ui = start_spine_dev(tmp_path_factory.mktemp("dagster_ui"), ui_groups_dir)
    try:
        yield ui
    finally:
        stop_process_group(ui.process)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # A missing browser or playwright FAILS these tests instead of skipping them: a skip reads as green in
    # CI, and the UI would go untested without anyone noticing. .ci/run installs Chromium.
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        sync_playwright = None  # failed below, outside the except: no chained traceback in the report
    if sync_playwright is None:
        pytest.fail(
            "playwright is not installed: .venv/bin/pip install -e '.[test]' "
            "(do not run `playwright install`: the tests use the system's Chromium)",
            pytrace=False,
        )
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package as root (`apt-get install -y chromium`, "
            "as .ci/run does), or point SPINE_TEST_CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, dagster_ui: DagsterUI) -> Iterator[Page]:
    context = browser.new_context(base_url=dagster_ui.url, viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """After a browser test's call: a full-page screenshot of its page if it failed (an old one removed)."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and page is not None:
        path = SCREENSHOTS / (re.sub(r"[^\w.\[\]-]+", "_", item.name) + ".png")
        path.unlink(missing_ok=True)
        if report.failed:
            try:
                SCREENSHOTS.mkdir(exist_ok=True)
                page.screenshot(path=str(path), full_page=True, timeout=10_000)
                report.sections.append(("browser", f"screenshot of the page: {path}"))
            except Exception as exc:  # a crashed browser must not hide the test's own failure
                report.sections.append(("browser", f"no screenshot ({type(exc).__name__}: {exc})"))
    return report
