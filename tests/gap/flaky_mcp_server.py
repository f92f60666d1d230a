"""A real MCP server over stdio for the GAP tests: ``lookup`` answers, ``crash`` kills the server.

``crash`` sends SIGKILL to its own process, so the client sees exactly what a server dying of an
out-of-memory kill looks like: the pipe closes in the middle of a call.
"""

from __future__ import annotations

import os
import signal

from mcp.server.mcpserver import MCPServer

server = MCPServer("flaky")


@server.tool()
def lookup(key: str) -> str:
    """Return the value stored under key."""
    return f"value-of-{key} (pid {os.getpid()})"


@server.tool()
def crash(reason: str = "") -> str:
    """Kill this server process immediately."""
    os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"


if __name__ == "__main__":
    server.run("stdio")
