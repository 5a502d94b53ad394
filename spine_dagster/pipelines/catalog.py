"""The default registry: built-in utility pipelines plus every domain.

This is the one framework module that names domains; everything else receives a registry.
"""

from __future__ import annotations

from .builtin import BUILTIN_PIPELINES
from .registry import PipelineRegistry


def build_default_registry() -> PipelineRegistry:
    """A fresh registry with everything this code base ships (a new instance on every call)."""
    from ..domains import finra_otc

    registry = PipelineRegistry(BUILTIN_PIPELINES)
    finra_otc.register(registry)
    return registry
