"""Pipeline discovery from real plugins: installed distributions (a dist-info with entry points on sys.path)
and ``SPINE_PIPELINE_MODULES`` modules, working and broken."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from spine_dagster.errors import PipelineNotFoundError, SpineError, StepNotFoundError
from spine_dagster.pipelines import discover_pipelines
from spine_dagster.plan.planner import plan_group
from spine_dagster.spec import load_group_text

PIPELINE = """
from spine_dagster.pipelines import Pipeline, PipelineParams, StepResult

class Params(PipelineParams):
    symbol: str = "AAPL"

class {cls}(Pipeline):
    name = "{name}"
    description = "A plugin's pipeline."
    Params = Params

    def run(self, ctx, params):
        return StepResult(message=params.symbol)
"""


class Site:
    """A directory on sys.path where tests 'install' plugin distributions and modules."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tag = uuid.uuid4().hex[:8]  # module names unique per test: imports are cached per process

    def module(self, name: str, source: str) -> str:
        """Write module ``name`` (made unique) and return its importable name."""
        unique = f"{name}_{self.tag}"
        (self.root / f"{unique}.py").write_text(textwrap.dedent(source))
        return unique

    def distribution(self, dist: str, entry_points: dict[str, str]) -> None:
        """A dist-info as pip writes it: METADATA and entry_points.txt."""
        info = self.root / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        lines = [f"{name} = {value}" for name, value in entry_points.items()]
        (info / "entry_points.txt").write_text("[spine_dagster.pipelines]\n" + "\n".join(lines) + "\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield Site(root)
    # Forget only the plugins written here: a C extension first imported meanwhile (duckdb) must stay, it
    # cannot be imported twice in one process.
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(root)):
            del sys.modules[name]


def _group(pipeline: str) -> str:
    return f"""
apiVersion: spine.io/v1
kind: PipelineGroup
metadata: {{name: team.group}}
spec:
  pipelines:
    - {{name: load, pipeline: {pipeline}}}
"""


def test_entry_point_with_register_function_and_with_pipeline_class(site: Site) -> None:
    funcs = site.module(
        "acme_funcs",
        PIPELINE.format(cls="Load", name="acme.prices.load")
        + "\ndef register(registry):\n    registry.register(Load)\n",
    )
    single = site.module("acme_single", PIPELINE.format(cls="Sync", name="acme.sync"))
    site.distribution("acme-pipelines", {"acme.prices": f"{funcs}:register", "acme.sync": f"{single}:Sync"})
    registry = discover_pipelines()
    assert registry.failures == ()
    assert {"acme.prices.load", "acme.sync", "spine.noop"} <= set(registry.names())
    origin = registry.origin("acme.prices.load")
    assert origin is not None
    assert (origin.kind, origin.name, origin.distribution) == (
        "entry point",
        "acme.prices",
        "acme-pipelines 1.0",
    )
    assert registry.origin("spine.noop").distribution.startswith("spine-dagster ")  # ours, the same way
    plan_group(load_group_text(_group("acme.sync"), "g.yaml"), registry, {})


def test_modules_setting_register_function_or_every_named_pipeline_defined(site: Site) -> None:
    with_register = site.module(
        "team_reg",
        PIPELINE.format(cls="A", name="team.a") + "\ndef register(registry):\n    registry.register(A)\n",
    )
    without = site.module(
        "team_cls",
        PIPELINE.format(cls="B", name="team.b")
        + "\nfrom spine_dagster.pipelines.builtin import Noop  # imported, not defined here: not registered\n"
        + "\nclass Base(Pipeline):  # no name: an abstract base, not registered\n    pass\n",
    )
    registry = discover_pipelines([with_register, without])
    assert registry.failures == ()
    assert {"team.a", "team.b"} <= set(registry.names())
    assert registry.origin("team.b").label == f"module '{without}' (SPINE_PIPELINE_MODULES)"
    assert registry.origin("spine.noop").kind == "entry point"


def test_import_error_names_the_plugin_and_line_and_the_rest_loads(site: Site) -> None:
    broken = site.module("acme_broken", "import os\nimport no_such_dependency_xyz\n")
    fine = site.module("team_fine", PIPELINE.format(cls="C", name="team.c"))
    site.distribution("acme-broken", {"acme.prices": f"{broken}:register"})
    registry = discover_pipelines([fine])
    (failure,) = registry.failures
    assert failure.origin.label == "entry point 'acme.prices' (acme-broken 1.0)"
    assert failure.reason == "ModuleNotFoundError: No module named 'no_such_dependency_xyz'"
    assert (Path(failure.path).name, failure.line) == (f"{broken}.py", 2)
    assert "team.c" in registry and "spine.noop" in registry  # every other plugin loaded

    with pytest.raises(StepNotFoundError) as caught:
        plan_group(load_group_text(_group("acme.prices.load"), "g.yaml"), registry, {})
    assert caught.value.diagnostics[0].format() == (
        "g.yaml:7:30: Step 'load': pipeline 'acme.prices.load' is provided by entry point 'acme.prices' "
        "(acme-broken 1.0), which failed to load: ModuleNotFoundError: No module named 'no_such_dependency_xyz'"
    )
    with pytest.raises(PipelineNotFoundError, match=r"provided by entry point 'acme\.prices'"):
        registry.get("acme.prices.load")
    # A name no failed plugin claims is still "unknown", with the failed plugins as a note.
    with pytest.raises(
        PipelineNotFoundError, match=r"unknown pipeline 'spine.nop' \(did you mean 'spine.noop'\?\); these"
    ):
        registry.get("spine.nop")


def test_a_pipeline_outside_the_entry_points_namespace_fails_the_plugin(site: Site) -> None:
    # Otherwise a package that sorts first could take over another's pipeline name.
    dup = site.module(
        "acme_dup",
        PIPELINE.format(cls="Mine", name="acme.mine")
        + PIPELINE.format(cls="Noop", name="spine.noop")
        + "\ndef register(registry):\n    registry.register(Mine)\n    registry.register(Noop)\n",
    )
    site.distribution("acme-dup", {"acme": f"{dup}:register"})
    registry = discover_pipelines()
    (failure,) = registry.failures
    assert failure.reason == (
        "ValueError: pipeline 'spine.noop' is outside the namespace of entry point 'acme': an entry point "
        "provides only pipelines named 'acme' or acme.<name> (rename the pipeline or the entry point)"
    )
    source = Path(failure.path).read_text().splitlines()
    assert source[failure.line - 1] == "    registry.register(Noop)"  # where the plugin did it
    assert type(registry.get("spine.noop")).__module__ == "spine_dagster.pipelines.builtin"
    assert "acme.mine" not in registry  # all or nothing
    assert "provided by entry point 'acme'" in registry.unavailable("acme.mine")


def test_duplicate_name_fails_the_later_plugin_at_its_class(site: Site) -> None:
    first = site.module("acme_first", PIPELINE.format(cls="Mine", name="acme.mine"))
    second = site.module(
        "acme_second",
        PIPELINE.format(cls="Other", name="acme.other") + PIPELINE.format(cls="Mine", name="acme.mine"),
    )
    site.distribution("acme-a", {"acme": f"{first}:Mine"})
    site.distribution("acme-b", {"acme": second})  # a module: every named Pipeline it defines
    local = site.module("team_local", PIPELINE.format(cls="Sleep", name="spine.sleep"))
    registry = discover_pipelines([local])
    by_target = {f.origin.target: f for f in registry.failures}
    assert by_target[second].reason == (
        "ValueError: pipeline 'acme.mine' is already provided by entry point 'acme' (acme-a 1.0)"
    )
    assert by_target[local].reason.startswith(
        "ValueError: pipeline 'spine.sleep' is already provided by entry point 'spine' (spine-dagster "
    )
    for failure in by_target.values():
        assert Path(failure.path).read_text().splitlines()[failure.line - 1].startswith("class ")
    assert type(registry.get("acme.mine")).__module__ == first  # the first in discovery order stays
    assert "acme.other" not in registry


def test_bad_params_model_raising_register_and_wrong_target(site: Site) -> None:
    bad_params = site.module(
        "acme_params",
        """
        from spine_dagster.pipelines import Pipeline, StepResult

        class Bad(Pipeline):
            name = "acme.bad"
            Params = dict

            def run(self, ctx, params):
                return StepResult()

        def register(registry):
            registry.register(Bad)
        """,
    )
    raising = site.module("acme_raise", "def register(registry):\n    raise RuntimeError('no licence key')\n")
    not_callable = site.module("acme_const", "REGISTER = 'not a function'\n")
    site.distribution(
        "acme-mixed",
        {
            "acme.bad": f"{bad_params}:register",
            "acme.raise": f"{raising}:register",
            "acme.const": f"{not_callable}:REGISTER",
        },
    )
    registry = discover_pipelines()
    by_name = {f.origin.name: f for f in registry.failures}
    assert (
        by_name["acme.bad"].reason == "TypeError: Pipeline 'acme.bad': Params must be a pydantic model class"
    )
    assert (Path(by_name["acme.bad"].path).name, by_name["acme.bad"].line) == (f"{bad_params}.py", 12)
    assert by_name["acme.raise"].reason == "RuntimeError: no licence key"
    assert by_name["acme.raise"].line == 2
    assert by_name["acme.const"].reason == (
        "TypeError: it names a str, expected a Pipeline subclass or a register(registry) function"
    )
    assert "spine.sleep" in registry


def test_module_without_pipelines_and_missing_module(site: Site) -> None:
    empty = site.module("team_empty", "X = 1\n")
    registry = discover_pipelines([empty, "team_missing_module_xyz"])
    reasons = [f.reason for f in registry.failures]
    assert reasons == [
        "ValueError: the module has no register(registry) function and defines no named Pipeline",
        "ModuleNotFoundError: No module named 'team_missing_module_xyz'",
    ]
    assert (
        registry.failures[1]
        .diagnostic()
        .format()
        .endswith(
            "pipeline plugin module 'team_missing_module_xyz' (SPINE_PIPELINE_MODULES) failed to load "
            "(team_missing_module_xyz): ModuleNotFoundError: No module named 'team_missing_module_xyz'"
        )
    )


def test_code_location_shows_broken_plugins_and_strict_makes_them_fatal(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spine_dagster.composition import build_code_location
    from spine_dagster.settings import get_settings

    broken = site.module("acme_loc", "raise ImportError('cannot import name Thing from vendor')\n")
    site.distribution("acme-loc", {"acme.loc": f"{broken}:register"})
    groups = tmp_path / "groups"
    groups.mkdir()
    (groups / "uses.yaml").write_text(_group("acme.loc.load"))
    (groups / "fine.yaml").write_text(_group("spine.noop").replace("team.group", "team.fine"))
    monkeypatch.setenv("SPINE_GROUPS_DIR", str(groups))
    location = build_code_location(get_settings())
    messages = [d.message for d in location.diagnostics]
    assert messages[0].startswith("pipeline plugin entry point 'acme.loc' (acme-loc 1.0) failed to load")
    assert any("pipeline 'acme.loc.load' is provided by entry point 'acme.loc'" in m for m in messages)
    assert [job.plan.name for job in location.runtime.jobs.values()] == ["team.fine"]
    key = location.translator.get_problems_asset_key()
    description = location.definitions.resolve_assets_def(key).specs_by_key[key].description
    assert "failed to load" in description and f"{broken}.py:1" in description

    monkeypatch.setenv("SPINE_STRICT", "1")
    with pytest.raises(SpineError, match=r"acme-loc 1\.0"):
        build_code_location(get_settings())
