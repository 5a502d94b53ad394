"""Stage 2: specs + pipeline registry -> validated, deterministic plans. Never imports dagster."""

from .batch import group_batch_id, new_batch_id
from .model import GroupPlan, StepPlan
from .params import UNRESOLVED, ParamSource, required_params, resolve_step_params
from .planner import check_run_params, plan_group

__all__ = [
    "UNRESOLVED",
    "GroupPlan",
    "ParamSource",
    "StepPlan",
    "check_run_params",
    "group_batch_id",
    "new_batch_id",
    "plan_group",
    "required_params",
    "resolve_step_params",
]
