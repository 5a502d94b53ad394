"""Importing the code location reads nothing: no group file, no SPINE_* variable, no spine state on disk.

Dagster re-imports ``spine_dagster.definitions`` in every run and step process, so whatever the import does
is paid once per step; the groups dir and settings are read only when Dagster calls ``defs()``.

A fresh interpreter imports dagster first (its own imports and reads are not ours to count), then records:

* every ``open`` / ``os.listdir`` / ``os.scandir`` / ``glob.glob`` / ``os.mkdir`` audit event
  (``sys.addaudithook``): an ``open`` event is raised by ``open()``, ``io.open_code()`` and ``os.open()``,
  so reading a group file any way at all shows up, and listing or globbing the groups dir does too;
* every read of an environment variable through ``os.environ`` (``os.getenv`` reads it as well): the module
  attribute is replaced by a recording mapping before spine_dagster is imported. Checking instead that
  ``spine_dagster.settings`` is not imported would be both too strict (importing it is harmless: it reads
  when called) and too weak (any module could read ``os.environ`` itself), so the reads are what is checked;
* which modules ended up in ``sys.modules``.

The same script, told to also call ``defs()`` (what Dagster does when it loads the code location), must see
the group file opened and ``SPINE_GROUPS_DIR`` read: that proves the recording sees what it is meant to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json
import os
import sys
from collections.abc import MutableMapping

import dagster  # noqa: F401  (imported before recording starts: dagster's own imports do not count)

mode = sys.argv[1]
events = []
recording = True


class RecordingEnviron(MutableMapping):
    # Delegates to the real os.environ (writes still reach the process environment); notes every key read.
    def __init__(self, real):
        self._real = real
        self.read = []

    def _note(self, key):
        if recording:
            self.read.append(key if isinstance(key, str) else repr(key))

    def __getitem__(self, key):
        self._note(key)
        return self._real[key]

    def get(self, key, default=None):
        self._note(key)
        return self._real.get(key, default)

    def __contains__(self, key):
        self._note(key)
        return key in self._real

    def __setitem__(self, key, value):
        self._real[key] = value

    def __delitem__(self, key):
        del self._real[key]

    def __iter__(self):
        return iter(self._real)

    def __len__(self):
        return len(self._real)

    def copy(self):
        return dict(self)  # reads every value, as os.environ.copy() does


WATCHED = {"open", "os.listdir", "os.scandir", "glob.glob", "os.mkdir"}


def hook(event, args):
    if not recording or event not in WATCHED:
        return
    target = args[0] if args else None
    if target is None or isinstance(target, int):  # os.listdir() is the cwd; an int is a file descriptor
        target = "." if target is None else f"<fd {target}>"
    if isinstance(target, (str, bytes, os.PathLike)):
        target = os.path.abspath(os.fsdecode(target))
    events.append([event, str(target)])


environ = RecordingEnviron(os.environ)
os.environ = environ  # os.getenv looks the module attribute up on every call
sys.addaudithook(hook)

import spine_dagster.definitions as location

if mode == "load":
    location.defs()  # what Dagster does when it loads the code location

recording = False
print(json.dumps({"events": events, "env_read": environ.read, "modules": sorted(sys.modules)}))
"""

GROUP = "name: g\nsteps: [{name: a, pipeline: spine.sleep, params: {seconds: 0}}]\n"


def _run(tmp_path: Path, mode: str) -> tuple[dict[str, list], Path]:
    root = tmp_path.resolve()
    groups, home, cwd = root / "groups", root / "home", root / "cwd"
    for folder in (groups, home, cwd):
        folder.mkdir()
    (groups / "g.yaml").write_text(GROUP)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SPINE_")},
        "SPINE_GROUPS_DIR": str(groups),
        "SPINE_HOME": str(home),
        "SPINE_WAREHOUSE_URL": f"duckdb:///{home / 'warehouse.duckdb'}",
        "SPINE_STRICT": "1",
        "DAGSTER_HOME": str(home / "dagster"),
    }
    # -P: no cwd entry on sys.path, so the import system itself never lists the temporary dir.
    result = subprocess.run(
        [sys.executable, "-P", "-c", _CHILD, mode],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), root


def _under(events: list[list[str]], folder: Path) -> list[list[str]]:
    return [e for e in events if Path(e[1]) == folder or folder in Path(e[1]).parents]


def test_importing_the_code_location_reads_nothing(tmp_path: Path) -> None:
    seen, root = _run(tmp_path, "import")
    # Nothing under the temporary dir: the groups dir (and its group file), SPINE_HOME, the cwd.
    assert _under(seen["events"], root) == []
    assert [key for key in seen["env_read"] if key.startswith("SPINE_")] == []
    assert [m for m in seen["modules"] if m.startswith(("spine_dagster.defs", "spine_dagster.domains"))] == []
    assert "spine_dagster.composition" not in seen["modules"]


def test_loading_the_code_location_is_seen_reading_the_groups(tmp_path: Path) -> None:
    # Guard the guard: the recording sees the reads when they do happen.
    seen, root = _run(tmp_path, "load")
    assert ["open", str(root / "groups" / "g.yaml")] in seen["events"]
    assert "SPINE_GROUPS_DIR" in seen["env_read"]
    assert "spine_dagster.defs" in seen["modules"]
