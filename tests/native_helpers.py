"""Helpers for nex-core's tests: build specs from Python callables and run them natively.

Only the model is fake (nex's ScriptedModel); tools are real functions, MCP servers real processes.
Kept out of conftest.py so test modules can import them by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.spec import AgentSpec, CallableBinding, SubAgentSpec, ToolSpec
from nex_core.runtime.loop import run_native
from nex_core.trajectory.schema import TaskInfo, Trajectory
from nex_core.trajectory.sinks import MemorySink

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

OBJECT = {"type": "object"}


def params(**props: str) -> dict[str, Any]:
    """A JSON Schema object whose properties are all required, ``name=json type``."""
    return {
        "type": "object",
        "properties": {k: {"type": t} for k, t in props.items()},
        "required": list(props),
    }


def tool(
    func: Callable[..., Any],
    parameters: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    **kw: Any,
) -> ToolSpec:
    """A tool bound to an in-process callable."""
    name = name or func.__name__
    return ToolSpec(
        name=name,
        description=(func.__doc__ or "").strip(),
        parameters=parameters if parameters is not None else OBJECT,
        binding=CallableBinding(ref=name, func=func),
        **kw,
    )


def agent(
    name: str, *tools: ToolSpec, subs: list[SubAgentSpec] | None = None, **kw: Any
) -> AgentSpec:
    return AgentSpec(
        name=name,
        system_prompt=f"You are {name}.",
        tools=list(tools),
        sub_agents=subs or [],
        **kw,
    )


def sub(child: AgentSpec, mode: str = "tool") -> SubAgentSpec:
    return SubAgentSpec(agent=child, mode=mode)  # type: ignore[arg-type]


def run(
    spec: Any,
    script: Any,
    *turns: str,
    sinks: list[Any] | None = None,
) -> tuple[Trajectory, ScriptedModel]:
    """Run ``spec`` natively on ``turns`` with a scripted model: (trajectory, model)."""
    model = script if isinstance(script, ScriptedModel) else ScriptedModel(script)
    task = TaskInfo(id="t1", turns=list(turns) or ["go"])
    traj = asyncio.run(run_native(spec, task, model=model, sinks=sinks or [MemorySink()]))
    return traj, model


def call(name: str, arguments: Any = None, id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "arguments": {} if arguments is None else arguments}
    if id is not None:
        out["id"] = id
    return out
