"""An MCP server's life around the calls: secrets in its environment, a slow start, a start that
fails, a start that times out — against real servers over stdio (``mcp_probe_server.py``, built
with the ``mcp`` SDK, and ``python -m`` of a module that does not exist)."""

from __future__ import annotations

import asyncio
import sys

import pytest
from mcp_probe import leftovers, new_tag, probe_server
from native_helpers import call, run

from nex_core.errors import ToolBindingError, ToolUnavailableError
from nex_core.protocol import spec_from_data
from nex_core.protocol.spec import MCPServerSpec
from nex_core.runtime.mcp import MCPPool, probe_servers
from nex_core.trajectory.redact import REDACTED
from nex_core.trajectory.schema import OutcomeStatus, StepStatus, ToolStep

# A secret of no recognisable shape: only registration can keep it out of the record.
CANARY = "plum7Quiet3Harbor"


def _probe_agent(server: dict[str, object], **limits: object) -> dict[str, object]:
    # Schemas given, so nothing asks the server before the first call: the call starts it.
    name = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    return {
        "name": "prober",
        "mcp_servers": {"probe": server},
        "tools": [
            {"name": "read_env", "parameters": name, "binding": {"server": "probe"}},
            {"name": "whoami", "parameters": {"type": "object"}, "binding": {"server": "probe"}},
        ],
        "limits": {"max_steps": 4, **limits},
    }


def test_a_server_that_echoes_a_secret_from_its_env_is_scrubbed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEX_TEST_PROBE_SECRET", CANARY)
    tag = new_tag()
    server = probe_server(tag, env={"PROBE_TOKEN": "${env:NEX_TEST_PROBE_SECRET}"})
    spec = spec_from_data(_probe_agent(server))
    script = [
        {"tool_calls": [call("read_env", {"name": "PROBE_TOKEN"}, id="leak")]},
        {"text": "done"},
    ]
    traj, model = run(spec, script)
    (step,) = [s for s in traj.steps if isinstance(s, ToolStep)]
    # The server did receive and return the secret (the model saw it, as a tool result does)...
    fed_back = [m.text() for m in model.calls[1].request.messages if m.role == "tool"]
    assert fed_back == [CANARY]
    # ...and the record never holds it.
    assert step.status is StepStatus.OK and step.result == REDACTED
    assert CANARY not in traj.to_json()


def test_a_server_slower_to_start_than_the_tool_timeout_still_serves_every_call() -> None:
    """The start is not cut short by the first call's tool_timeout_s; no process is left."""
    tag = new_tag()
    spec = spec_from_data(_probe_agent(probe_server(tag, start_delay=3), tool_timeout_s=1))
    script = [
        {"tool_calls": [call("whoami", {}, id="first")]},
        {"tool_calls": [call("whoami", {}, id="second")]},
        {"text": "done"},
    ]
    traj, _ = run(spec, script)
    steps = {s.call_id: s for s in traj.steps if isinstance(s, ToolStep)}
    assert steps["first"].status is StepStatus.OK, steps["first"].error
    assert (
        steps["second"].status is StepStatus.OK and steps["second"].result == steps["first"].result
    )  # one server process served both
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED
    assert leftovers(tag) == {}


def test_a_start_slower_than_the_start_timeout_fails_clearly_and_kills_the_process() -> None:
    tag = new_tag()
    spec = MCPServerSpec.model_validate(probe_server(tag, start_delay=60))

    async def go() -> ToolUnavailableError:
        pool = MCPPool({"slow": spec}, start_timeout_s=1)
        try:
            with pytest.raises(ToolUnavailableError) as caught:
                await pool.call("slow", "whoami", {}, timeout=30)
            return caught.value
        finally:
            await pool.aclose()

    error = asyncio.run(go())
    assert "MCP server 'slow' did not start within 1 s" in str(error)
    assert f"mcp_probe_server.py --tag {tag}" in str(error)  # the command line
    assert leftovers(tag) == {}


def test_callers_that_give_up_waiting_leave_one_start_for_the_others() -> None:
    """A caller cancelled while the server starts (its episode timed out) neither aborts the
    start nor leaves a second process behind: the next caller gets the same server."""
    tag = new_tag()
    spec = MCPServerSpec.model_validate(probe_server(tag, start_delay=2))

    async def go() -> tuple[str, str]:
        pool = MCPPool({"p": spec})
        try:
            for _ in range(3):
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await pool.call("p", "whoami", {})
            first = await pool.call("p", "whoami", {}, timeout=30)
            second = await pool.call("p", "whoami", {}, timeout=30)
            return first, second
        finally:
            await pool.aclose()

    first, second = asyncio.run(go())
    assert first == second and first.startswith("pid ")
    assert leftovers(tag) == {}


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (
            "nex-no-such-command",
            ["--serve"],
            [
                "command not found: 'nex-no-such-command'",
                "command line: nex-no-such-command --serve",
            ],
        ),
        (
            "python",
            ["-m", "nex_no_such_mcp_module"],
            [
                "the server process exited before it answered",
                f"command line: {sys.executable} -m nex_no_such_mcp_module",
                "No module named nex_no_such_mcp_module",
            ],
        ),
    ],
)
def test_a_server_that_dies_while_starting_says_why(
    command: str, args: list[str], expected: list[str]
) -> None:
    spec = spec_from_data(
        {
            "name": "clock",
            "mcp_servers": {"time": {"command": command, "args": args}},
            "tools": [
                {
                    "name": "get_current_time",
                    "parameters": {"type": "object", "properties": {}},
                    "binding": {"server": "time"},
                }
            ],
        }
    )
    script = [{"tool_calls": [call("get_current_time", {}, id="t")]}, {"text": "no clock"}]
    traj, _ = run(spec, script)
    (step,) = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert step.error is not None and step.error.type == "ToolUnavailableError"
    message = step.error.message
    assert message.startswith("MCP server 'time' failed to start: ")
    assert "TaskGroup" not in message and "sub-exception" not in message
    for part in expected:
        assert part in message


def test_probe_servers_reports_each_server_by_name() -> None:
    tag = new_tag()
    servers = {
        "probe": MCPServerSpec.model_validate(probe_server(tag)),
        "gone": MCPServerSpec(command="python", args=["-m", "nex_no_such_mcp_module"]),
    }
    found = asyncio.run(probe_servers(servers, {"probe": {"whoami", "teleport"}, "gone": set()}))
    assert (
        isinstance(found["gone"], str) and "No module named nex_no_such_mcp_module" in found["gone"]
    )
    assert isinstance(found["probe"], str)
    assert "MCP server 'probe' has no tool(s) 'teleport'" in found["probe"]
    assert "it has: crash, fail, read_env, sleep, whoami" in found["probe"]
    ok = asyncio.run(probe_servers({"probe": servers["probe"]}, {"probe": {"whoami"}}))
    assert ok == {"probe": ["crash", "fail", "read_env", "sleep", "whoami"]}
    assert leftovers(tag) == {}


def test_an_undeclared_server_is_a_binding_error() -> None:
    async def go() -> None:
        pool = MCPPool({})
        try:
            await pool.call("nowhere", "x", {})
        finally:
            await pool.aclose()

    with pytest.raises(ToolBindingError, match="no MCP server named 'nowhere'"):
        asyncio.run(go())
