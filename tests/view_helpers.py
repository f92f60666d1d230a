"""Trajectories for the viewer's tests, recorded by the native runtime with nex's scripted model
(the only fake): a lead agent that calls two tools in parallel, one of which fails, then a
researcher sub-agent as a tool; model text carries markup that must render as text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from native_helpers import agent, call, params, run, sub, tool

from nex_core.trajectory.schema import Trajectory

SCRIPT_TAG = "<script>window.__pwned = 1</script>"
IMG_TAG = '<img src=x onerror="window.__pwned = 2">'


def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key} {IMG_TAG}"


def divide(a: int, b: int) -> float:
    """Divide a by b."""
    return a / b


def team() -> Any:
    researcher = agent("researcher", tool(lookup, params(key="string")), description="Finds.")
    return agent(
        "lead",
        tool(lookup, params(key="string")),
        tool(divide, params(a="integer", b="integer")),
        subs=[sub(researcher)],
    )


def script(answer: str = f"The answer is 42 {SCRIPT_TAG}") -> dict[str, Any]:
    return {
        "agents": {
            "lead": [
                {
                    "reasoning": "I should look x up and divide at once.",
                    "tool_calls": [
                        call("lookup", {"key": "x"}, id="c1"),
                        call("divide", {"a": 1, "b": 0}, id="c2"),
                    ],
                },
                {"tool_calls": [call("researcher", {"task": "find y"}, id="c3")]},
                {"text": answer},
            ],
            "researcher": [
                {"tool_calls": [call("lookup", {"key": "y"}, id="r1")]},
                {"text": "y is found"},
            ],
        }
    }


def recorded(answer: str | None = None) -> Trajectory:
    traj, _ = run(team(), script(answer) if answer is not None else script(), "Work out x and y.")
    return traj


def write(path: Path, *trajectories: Trajectory, extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [t.to_json() for t in trajectories] + list(extra_lines)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def as_data(traj: Trajectory) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(traj.model_dump_json(exclude_none=True))
    return data
