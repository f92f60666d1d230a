"""nex-ray: the GAP pipeline's executor for Ray clusters."""

from nex_ray.executor import RayExecutor

__all__ = ["RayExecutor"]
