"""MCP-bound tools in AutoGen systems built from a spec, against a real server: mcp-server-time
over stdio.

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
from nex_autogen import AutogenAdapter

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.adapter import Capability
from nex_core.errors import AdapterError
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


def arun(spec: Any, task: Any, model: ScriptedModel) -> Any:
    return AutogenAdapter().arun(spec, task, model=model)


def test_matches_native_with_its_own_pool(native: Trajectory) -> None:
    model = ScriptedModel(SCRIPT)
    autogen = asyncio.run(arun(clock_spec(), TASK, model))
    check_protocol(autogen, model)
    same_as_native(autogen, native)


def test_a_run_under_a_shared_pool_uses_its_server_and_leaves_it_running(
    native: Trajectory,
) -> None:
    """The spec's own server command cannot start: the run succeeds only through the shared pool,
    whose server (declared under the same name) takes precedence, as in the GAP pipeline."""
    spec = clock_spec({"command": "/nonexistent/mcp-server"})

    async def main() -> Trajectory:
        args = ["-m", "mcp_server_time", "--local-timezone", "UTC"]
        pool = MCPPool({"time": MCPServerSpec(command=sys.executable, args=args)})
        session = await pool.session("time")
        try:
            with use_shared_pool(pool):
                traj = await arun(spec, TASK, ScriptedModel(SCRIPT))
            assert list(pool._servers) == ["time"] and await pool.session("time") is session
            now = await pool.call("time", "get_current_time", {"timezone": "Asia/Tokyo"})
            assert "Asia/Tokyo" in str(now)
        finally:
            await pool.aclose()
        return traj

    traj = asyncio.run(main())
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED
    same_as_native(traj, native)


def test_a_tool_the_server_lacks_fails_the_run_as_natively() -> None:
    spec = spec_from_data(
        {
            "name": "clock",
            "mcp_servers": {"time": TIME_SERVER},
            "tools": [{"name": "teleport", "binding": {"server": "time"}}],
        }
    )
    traj = asyncio.run(arun(spec, "Beam me up", ScriptedModel([{"text": "unused"}])))
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert traj.outcome.error is not None
    assert "MCP server 'time' has no tool 'teleport'" in traj.outcome.error.message
    assert traj.steps == []


def test_building_without_a_run_says_where_mcp_tools_run() -> None:
    adapter = AutogenAdapter()
    with pytest.raises(AdapterError, match=r"served by MCP server 'time'.*arun"):
        adapter.from_spec(clock_spec(), model=ScriptedModel([]))
    assert "mcp.tool(" in adapter.to_code(clock_spec())  # the program opens the servers itself
    assert adapter.supports(Capability.MCP_TOOLS)


SLOW_SERVER = """
import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("slow")


@server.tool(description="Wait, then answer.")
async def wait(seconds: float) -> str:
    await anyio.sleep(seconds)
    return "done waiting"


server.run("stdio")
"""


def test_the_tool_timeout_applies_to_mcp_calls_as_natively() -> None:
    spec = spec_from_data(
        {
            "name": "waiter",
            "mcp_servers": {"slow": {"command": "python", "args": ["-c", SLOW_SERVER]}},
            "tools": [{"name": "wait", "binding": {"server": "slow"}}],
            "limits": {"tool_timeout_s": 0.3},
        }
    )
    script = [
        {"tool_calls": [call("wait", "long", seconds=30), call("wait", "short", seconds=0.01)]},
        {"text": "One of them took too long."},
    ]
    task = TaskInfo(id="t", turns=["wait"])
    native = asyncio.run(run_native(spec, task, model=ScriptedModel(script)))
    autogen = asyncio.run(arun(spec, task, ScriptedModel(script)))
    same_as_native(autogen, native)
    steps = {s.call_id: s for s in autogen.steps if isinstance(s, ToolStep)}
    assert steps["short"].result == "done waiting"
    error = steps["long"].error
    assert error is not None and error.type == "TimeoutError"
    assert error.message == "tool 'wait' timed out after 0.3 s"


def test_an_mcp_tool_that_needs_approval_pauses_and_resumes_with_servers_of_its_own() -> None:
    """The resume needs only the trajectory: it starts the servers again (where the paused
    run's pool closed with it), and equals the native resume."""
    from nex_core.protocol.approval import Decision
    from nex_core.runtime.resume import resume_native

    spec = spec_from_data(
        {
            "name": "clock",
            "system_prompt": "Answer with the time tools.",
            "mcp_servers": {"time": TIME_SERVER},
            "tools": [
                {"name": "convert_time", "binding": {"server": "time"}, "approval": "required"}
            ],
        }
    )
    assert isinstance(spec, AgentSpec)
    args = {"source_timezone": "UTC", "time": "09:30", "target_timezone": "Asia/Tokyo"}
    script = {"replies": [{"tool_calls": [call("convert_time", "c1", **args)]}, {"text": "18:30"}]}
    decision = Decision(action="approve")

    async def native() -> list[Trajectory]:
        model = ScriptedModel(script)
        paused = await run_native(spec, TASK, model=model)
        return [paused, await resume_native(spec, paused, decision, model=model)]

    async def autogen() -> list[Trajectory]:
        model, adapter = ScriptedModel(script), AutogenAdapter()
        paused = await adapter.arun(spec, TASK, model=model)
        return [paused, await adapter.aresume(spec, paused, decision, model=model)]

    expected, got = asyncio.run(native()), asyncio.run(autogen())
    assert got[0].outcome is not None and got[0].outcome.stop_reason == "approval_required"
    (step,) = [s for s in got[1].steps if isinstance(s, ToolStep)]
    assert step.status is StepStatus.OK and "18:30" in str(step.result)
    for n, a in zip(expected, got, strict=True):
        assert normalize(a) == normalize(n), json.dumps(normalize(a), indent=1)
