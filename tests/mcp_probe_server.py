"""A real MCP server over stdio for nex's tests (built with the ``mcp`` SDK).

Tools: ``read_env`` returns one of its environment variables (to test that secrets handed to a
server are scrubbed when it echoes them), ``whoami`` returns its process id, ``sleep`` answers
late, ``fail`` answers with an error (``is_error``: the tool's own failure, for the model to
handle), ``crash`` kills the process with SIGKILL mid-call. ``--start-delay S`` makes it sleep
before it serves, as a server that loads a large model or index does; ``--tag`` is ignored, so
tests can find the processes they started (see ``mcp_probe.tagged_processes``).
"""

from __future__ import annotations

import argparse
import os
import signal
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("probe")


@server.tool()
def read_env(name: str) -> str:
    """Return the value of the environment variable ``name`` (empty if unset)."""
    return os.environ.get(name, "")


@server.tool()
def whoami() -> str:
    """Return this server's process id."""
    return f"pid {os.getpid()}"


@server.tool()
def sleep(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def fail(reason: str) -> str:
    """Answer with an error."""
    raise ToolError(reason)


@server.tool()
def crash() -> str:
    """Kill this server process immediately."""
    os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--start-delay", type=float, default=0.0)
    parser.add_argument("--tag", default="")
    options = parser.parse_args()
    time.sleep(options.start_delay)
    server.run("stdio")
