"""nex-ray: the GAP pipeline's executor for Ray clusters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nex_ray.executor import RayExecutor

__all__ = ["RayExecutor"]


if not TYPE_CHECKING:  # type checkers see the imports above, not a catch-all

    def __getattr__(name: str) -> Any:
        # Imported on first use: nex loads this distribution's plugin module (nex_ray.plugin) with
        # every plugin manager, and the executor pulls in the whole GAP pipeline.
        if name == "RayExecutor":
            from nex_ray.executor import RayExecutor

            return RayExecutor
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
