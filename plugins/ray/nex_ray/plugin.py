"""Registers the ``ray`` executor through the ``nex_executors`` hook."""

from __future__ import annotations

from typing import Any

from nex_core.hookspecs import hookimpl


@hookimpl
def nex_executors() -> dict[str, Any]:
    from nex_ray.executor import RayExecutor

    return {"ray": RayExecutor}
