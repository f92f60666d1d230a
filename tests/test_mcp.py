"""MCP tools in the native runtime, against real servers: mcp-server-time over stdio, and a
streamable-HTTP server built with the ``mcp`` SDK and served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from native_helpers import call, run

from nex_core.models.scripted import ScriptedModel
from nex_core.protocol import load_spec, spec_from_data
from nex_core.trajectory.schema import LLMStep, OutcomeStatus, StepStatus, ToolStep

pytest.importorskip("mcp_server_time")

TIME_SERVER = {
    "command": sys.executable,
    "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"],
}


def test_stdio_time_server_schemas_are_discovered_and_calls_recorded() -> None:
    spec = spec_from_data(
        {
            "name": "clock",
            "mcp_servers": {"time": TIME_SERVER},
            "tools": [
                {"name": "get_current_time", "binding": {"server": "time"}},
                {"name": "now_in", "binding": {"server": "time", "tool": "get_current_time"}},
            ],
        }
    )
    script = [
        {
            "tool_calls": [
                call("get_current_time", {"timezone": "Asia/Tokyo"}, id="ok"),
                call("now_in", {"timezone": "Mars/Olympus_Mons"}, id="bad"),
            ]
        },
        {"text": "It is some time in Tokyo."},
    ]
    traj, model = run(spec, script)
    offered = {t.name: t for t in model.calls[0].request.tools}
    schema = offered["get_current_time"].parameters
    assert schema["type"] == "object"
    assert "timezone" in schema["properties"] and schema["required"] == ["timezone"]
    assert offered["get_current_time"].description == "Get current time in a specific timezone"
    assert offered["now_in"].parameters == schema  # renamed tool, same server schema
    llm = next(s for s in traj.steps if isinstance(s, LLMStep))
    assert {t.name for t in llm.request.tools} == {"get_current_time", "now_in"}
    steps = {s.call_id: s for s in traj.steps if isinstance(s, ToolStep)}
    assert steps["ok"].status is StepStatus.OK
    assert "Asia/Tokyo" in str(steps["ok"].result) and "day_of_week" in str(steps["ok"].result)
    assert steps["bad"].status is StepStatus.ERROR
    assert steps["bad"].error is not None and steps["bad"].error.type == "MCPToolError"
    assert "Invalid timezone" in steps["bad"].error.message
    seen = {m.tool_call_id: m.text() for m in model.calls[1].request.messages if m.role == "tool"}
    assert seen["bad"].startswith("Error: MCPToolError: ")
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED


def test_mcp_time_example(repo: Path) -> None:
    spec = load_spec(repo / "examples/mcp_time/agent.yaml")
    model = ScriptedModel.from_file(repo / "examples/mcp_time/script.yaml")
    traj, _ = run(spec, model, "What time is it in Tokyo?")
    results = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert [s.status for s in results] == [StepStatus.OK, StepStatus.OK]
    conversion = next(s for s in results if s.name == "convert_time")
    assert '"time_difference": "+9.0h"' in str(conversion.result)


def test_a_tool_the_server_lacks_fails_the_run_clearly() -> None:
    spec = spec_from_data(
        {
            "name": "clock",
            "mcp_servers": {"time": TIME_SERVER},
            "tools": [{"name": "teleport", "binding": {"server": "time"}}],
        }
    )
    traj, _ = run(spec, [{"text": "unused"}])
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert traj.outcome.error is not None
    assert "MCP server 'time' has no tool 'teleport'" in traj.outcome.error.message


# --------------------------------------------------------------------------- streamable HTTP

HTTP_SERVER = textwrap.dedent(
    """
    import sys

    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer("nex-test-http")


    @server.tool(name="add", description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b


    @server.tool(name="fail", description="Always fails.")
    def fail(reason: str) -> str:
        raise ToolError(reason)  # the SDK hides other exceptions' messages


    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[1]),
                log_level="warning")
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    script = tmp_path / "server.py"
    script.write_text(HTTP_SERVER)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"MCP HTTP server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("MCP HTTP server did not start within 20 s")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_streamable_http_server(http_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEX_TEST_MCP_TOKEN", "tok-abcdef-123456")
    spec = spec_from_data(
        {
            "name": "mathy",
            "mcp_servers": {
                "math": {
                    "transport": "http",
                    "url": http_server,
                    "headers": {"X-Token": "${env:NEX_TEST_MCP_TOKEN}"},
                }
            },
            "tools": [
                {"name": "add", "binding": {"server": "math"}},
                {"name": "fail", "binding": {"server": "math"}},
            ],
        }
    )
    script = [
        {
            "tool_calls": [
                call("add", {"a": 2, "b": 40}, id="a"),
                call("fail", {"reason": "nope"}, id="f"),
            ]
        },
        {"text": "42"},
    ]
    traj, model = run(spec, script)
    offered = {t.name: t.parameters for t in model.calls[0].request.tools}
    assert set(offered["add"]["properties"]) == {"a", "b"}
    steps = {s.call_id: s for s in traj.steps if isinstance(s, ToolStep)}
    assert steps["a"].status is StepStatus.OK and str(steps["a"].result) == "42"
    assert steps["f"].status is StepStatus.ERROR and "nope" in (
        steps["f"].error.message if steps["f"].error else ""
    )
    assert traj.outcome is not None and traj.outcome.final_output == "42"
    assert "tok-abcdef-123456" not in traj.to_json()
