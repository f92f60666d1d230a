"""MCP-bound tools in Agent Framework agents built from a spec, served through nex's MCP pool,
against a real server: mcp-server-time over stdio.

The same spec and script give the native runtime's normal form: schemas asked of the server
(also for a sub-agent that uses its parent's server), a successful call, a call the server reports
as an error (fed back as ``Error: MCPToolError: ...``). A run under ``use_shared_pool`` calls the
given pool's server and starts none of its own.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest
from nex_agent_framework import AgentFrameworkAdapter

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.adapter import Capability
from nex_core.protocol import spec_from_data
from nex_core.protocol.spec import AgentSpec, MCPServerSpec
from nex_core.runtime.mcp import MCPPool, use_shared_pool
from nex_core.trajectory.schema import LLMStep, OutcomeStatus, StepStatus, ToolStep, Trajectory

pytest.importorskip("mcp_server_time")

TIME_SERVER = {"command": "python", "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}
TASK = TaskInfo(id="t1", turns=["What is 09:30 UTC in Tokyo, and what time is it on Mars?"])


def call(name: str, id: str, **arguments: Any) -> dict[str, Any]:
    return {"id": id, "name": name, "arguments": arguments}


def clock_spec(server: dict[str, Any] | None = None) -> AgentSpec:
    """A root agent with discovered MCP schemas and a sub-agent that inherits its server."""
    spec = spec_from_data(
        {
            "name": "clock",
            "system_prompt": "Answer with the time tools.",
            "mcp_servers": {"time": server or TIME_SERVER},
            "tools": [
                {"name": "get_current_time", "binding": {"server": "time"}},
                {"name": "convert_time", "binding": {"server": "time"}},
            ],
            "sub_agents": [
                {
                    "agent": {
                        "name": "zones",
                        "description": "Looks up the time in one zone.",
                        "tools": [
                            {
                                "name": "now_in",
                                "description": "The time now in a zone.",
                                "binding": {"server": "time", "tool": "get_current_time"},
                            }
                        ],
                        "limits": {"tool_timeout_s": 15},
                    }
                }
            ],
            "limits": {"max_steps": 4, "tool_timeout_s": 20},
        }
    )
    assert isinstance(spec, AgentSpec)
    return spec


SCRIPT = {
    "agents": {
        "clock": [
            {
                "tool_calls": [
                    call(
                        "convert_time",
                        "ok",
                        source_timezone="UTC",
                        time="09:30",
                        target_timezone="Asia/Tokyo",
                    ),
                    call("get_current_time", "bad", timezone="Mars/Olympus_Mons"),
                ]
            },
            {"tool_calls": [call("zones", "ask", task="What time is it on Mars?")]},
            {"text": "09:30 UTC is 18:30 in Tokyo; Mars has no time zone."},
        ],
        "zones": [
            {"tool_calls": [call("now_in", "mars", timezone="Mars/Olympus_Mons")]},
            {"text": "Mars has no IANA time zone."},
        ],
    }
}


@pytest.fixture(scope="module")
def native() -> Trajectory:
    return asyncio.run(run_native(clock_spec(), TASK, model=ScriptedModel(SCRIPT)))


def offered(traj: Trajectory) -> list[tuple[str, list[dict[str, Any]]]]:
    """The tools each model call was offered, whole (``normalize`` keeps only their names)."""
    return [
        (s.agent, [t.model_dump() for t in s.request.tools])
        for s in traj.steps
        if isinstance(s, LLMStep)
    ]


def same_as_native(traj: Trajectory, native: Trajectory) -> None:
    assert normalize(traj) == normalize(native), json.dumps(normalize(traj), indent=1)
    assert offered(traj) == offered(native)  # the server's schemas exactly, titles and all


def check_protocol(traj: Trajectory, model: ScriptedModel) -> None:
    """What the native runtime does with MCP tools, checked directly (not only by equality)."""
    offered = {t.name: t for t in model.calls[0].request.tools}
    assert offered["get_current_time"].description == "Get current time in a specific timezone"
    assert offered["get_current_time"].parameters["required"] == ["timezone"]
    steps = {s.call_id: s for s in traj.steps if isinstance(s, ToolStep)}
    assert steps["ok"].status is StepStatus.OK and '"time_difference": "+9.0h"' in str(
        steps["ok"].result
    )
    for bad in ("bad", "mars"):
        error = steps[bad].error
        assert error is not None and error.type == "MCPToolError"
        assert "Invalid timezone" in error.message
    second = model.calls[1].request.messages
    fed_back = {m.tool_call_id: m.text() for m in second if m.role == "tool"}
    assert fed_back["bad"].startswith("Error: MCPToolError: ")
    zones_llm = next(s for s in traj.steps if isinstance(s, LLMStep) and s.agent == "zones")
    (now_in,) = zones_llm.request.tools
    assert now_in.description == "The time now in a zone."  # the spec's, not the server's
    assert now_in.parameters == offered["get_current_time"].parameters
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED


ADAPTER = AgentFrameworkAdapter()


def test_mcp_tools_run_through_the_pool_as_natively(native: Trajectory) -> None:
    assert ADAPTER.supports(Capability.MCP_TOOLS)
    model = ScriptedModel(SCRIPT)
    traj = ADAPTER.run(clock_spec(), TASK, model=model)
    same_as_native(traj, native)
    check_protocol(traj, model)


@pytest.mark.slow  # starts the server once more (about ten seconds on a busy machine)
def test_a_shared_pool_serves_the_run_and_no_server_of_its_own_starts(native: Trajectory) -> None:
    async def go() -> Trajectory:
        pool = MCPPool({"time": MCPServerSpec(**TIME_SERVER)})
        try:
            with use_shared_pool(pool):
                # The spec names a server that cannot start: only the shared pool's is used.
                spec = clock_spec(
                    {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]}
                )
                return await ADAPTER.arun(spec, TASK, model=ScriptedModel(SCRIPT))
        finally:
            await pool.aclose()

    same_as_native(asyncio.run(go()), native)


def test_a_server_that_cannot_start_fails_the_run_with_its_error() -> None:
    spec = clock_spec({"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]})
    traj = ADAPTER.run(spec, TASK, model=ScriptedModel(SCRIPT))
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert not [s for s in traj.steps if isinstance(s, LLMStep)]
