"""Runs that ``spine run``/``spine rerun`` create belong to the code location, exactly as the UI's launches.

Dagster's own in-process entry points (``execute_job``, ``dagster job execute``) create runs without a
*remote job origin*; the UI counts a job's runs, its partitions and its re-execution by that origin (its
``.dagster/repository`` label ``__repository__@spine``), so such runs were invisible in the job's Runs and
Partitions tabs, could not be re-executed from the UI, and were not seen by run-status sensors of the
location. :func:`create_run` creates the run with the same two origins ``dagster job launch -w
workspace.yaml`` and the Launchpad give it (``/work/shared/reference/dagster-operations.md`` §1): the job's
Python origin (for the step processes) and the remote origin of location ``spine``, repository
``__repository__`` (what a ``Definitions`` object is called), built by hand rather than by starting a code
server (0.06 s instead of 1.3 s). The UI resolves the job from its own workspace when it re-executes.

The location name is the one ``workspace.yaml`` in the working directory gives the module
``spine_dagster.definitions`` (the shipped file says ``spine``), else ``spine``; ``spine dev`` without a
workspace file generates one with that name, so the two always agree.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dagster as dg

MODULE = "spine_dagster.definitions"
ATTRIBUTE = "defs"
DEFAULT_LOCATION = "spine"
REPOSITORY = "__repository__"  # the repository name Dagster gives a Definitions object
PARENT_TAG, ROOT_TAG = "dagster/parent_run_id", "dagster/root_run_id"


def location_name(workdir: Path | None = None) -> str:
    """The code location name of ``spine_dagster.definitions`` in ``workspace.yaml``, else ``spine``."""
    import yaml

    path = (workdir or Path.cwd()) / "workspace.yaml"
    try:
        entries = (yaml.safe_load(path.read_text()) or {}).get("load_from") or []
    except (OSError, yaml.YAMLError, AttributeError):
        return DEFAULT_LOCATION
    for entry in entries:
        target = entry.get("python_module") if isinstance(entry, dict) else None
        if isinstance(target, dict) and target.get("module_name") == MODULE:
            return str(target.get("location_name") or MODULE)  # Dagster's default is the module name
    return DEFAULT_LOCATION


def workspace_yaml(workdir: Path) -> str:
    """A workspace file for ``spine dev`` when the working directory has none (location ``spine``)."""
    return (
        "# Written by `spine dev`: the code location that `spine run` attributes its runs to.\n"
        "load_from:\n"
        "  - python_module:\n"
        f"      module_name: {MODULE}\n"
        f"      attribute: {ATTRIBUTE}\n"
        f"      working_directory: {workdir}\n"
        f"      location_name: {DEFAULT_LOCATION}\n"
    )


def remote_job_origin(job_name: str, workdir: Path | None = None) -> Any:
    """The remote origin a launched run of ``job_name`` carries (location and repository as in the UI)."""
    from dagster._core.remote_origin import RemoteJobOrigin

    return RemoteJobOrigin(remote_repository_origin(workdir), job_name)


def remote_repository_origin(workdir: Path | None = None) -> Any:
    """The code location's repository as the UI and the daemon name it (location ``spine``, ``__repository__``)."""
    from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin, RemoteRepositoryOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    workdir = (workdir or Path.cwd()).resolve()
    target = LoadableTargetOrigin(
        executable_path=sys.executable,
        module_name=MODULE,
        attribute=ATTRIBUTE,
        working_directory=str(workdir),
    )
    location = ManagedGrpcPythonEnvCodeLocationOrigin(target, location_name=location_name(workdir))
    return RemoteRepositoryOrigin(location, REPOSITORY)


def create_run(
    instance: dg.DagsterInstance,
    job_def: dg.JobDefinition,
    recon_job: Any,
    *,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
    parent: dg.DagsterRun | None = None,
) -> dg.DagsterRun:
    """Create (not start) a run of ``job_def`` as the UI would, or a re-execution of ``parent`` from its
    failure (only failed and not-run steps, Dagster's ``KnownExecutionState``), with the UI's lineage tags."""
    from dagster._core.execution.api import create_execution_plan
    from dagster._core.execution.plan.state import KnownExecutionState

    all_tags = {**job_def.run_tags, **tags}  # create_run_for_job does not merge the job's own tags
    plan = None
    root = None
    if parent is not None:
        step_keys, known_state = KnownExecutionState.build_resume_retry_reexecution(
            instance, parent_run=parent
        )
        plan = create_execution_plan(
            recon_job, run_config, step_keys_to_execute=step_keys, known_state=known_state, tags=parent.tags
        )
        root = parent.root_run_id or parent.run_id
        all_tags.update({PARENT_TAG: parent.run_id, ROOT_TAG: root})
    return instance.create_run_for_job(
        job_def=job_def,
        execution_plan=plan,
        run_config=run_config,
        tags=all_tags,
        root_run_id=root,
        parent_run_id=parent.run_id if parent is not None else None,
        job_code_origin=recon_job.get_python_origin(),
        remote_job_origin=remote_job_origin(job_def.name),
    )


__all__ = ["create_run", "location_name", "remote_job_origin", "remote_repository_origin", "workspace_yaml"]
