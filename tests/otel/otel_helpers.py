"""Shared pieces of the OpenTelemetry tests: a native run with sub-agents, parallel calls and a
failing tool, and the spans an SDK exporter captured as plain records."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
for _entry in (str(REPO), str(REPO / "tests")):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)

from native_helpers import agent, params, run, sub, tool  # noqa: E402 (after the path)

from nex_core.trajectory.schema import Trajectory  # noqa: E402


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def lookup(key: str) -> dict[str, Any]:
    """Look a key up."""
    return {"key": key, "value": len(key)}


def broken() -> str:
    """Always fails."""
    raise RuntimeError("the disk is on fire")


SCRIPT = {
    "agents": {
        "boss": [
            {
                "tool_calls": [
                    {"name": "helper", "arguments": {"task": "add 1 and 2"}},
                    {"name": "broken"},
                    {"name": "lookup", "arguments": {"key": "abc"}},
                ],
                "reasoning": "delegate, then check",
            },
            {"text": "all done: 3"},
        ],
        "helper": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]},
            {"text": "3"},
        ],
    }
}


def team_run() -> Trajectory:
    """boss (lookup, broken, and helper as a sub-agent) -> helper (add): one of everything."""
    helper = agent("helper", tool(add, params(a="integer", b="integer")))
    boss = agent(
        "boss",
        tool(broken),
        tool(lookup, params(key="string")),
        subs=[sub(helper)],
    )
    traj, _ = run(boss, SCRIPT, "add 1 and 2, and look up abc")
    return traj
