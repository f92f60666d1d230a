"""An HTTP MCP server with nothing listening on its port fails at once, saying the connection was
refused, not after the start timeout with the transport's wording."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from nex_core.errors import ToolUnavailableError
from nex_core.protocol.spec import MCPServerSpec
from nex_core.runtime.mcp import MCPPool

START_TIMEOUT_S = 60.0


def closed_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_fails_fast_and_says_so() -> None:
    pytest.importorskip("mcp.client.streamable_http")  # imported before the clock starts
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    pool = MCPPool({"down": MCPServerSpec(transport="http", url=url)},
                   start_timeout_s=START_TIMEOUT_S)

    async def go() -> tuple[str, float]:
        started = time.perf_counter()
        try:
            with pytest.raises(ToolUnavailableError) as caught:
                await pool.call("down", "anything", {})
        finally:
            await pool.aclose()
        return str(caught.value), time.perf_counter() - started

    message, elapsed = asyncio.run(go())
    assert "MCP server 'down' failed to start: connection refused" in message
    assert url in message
    # Not a timing benchmark: a bound far from what a refused connection takes (well under a
    # second) and far below the start timeout it must not wait for.
    assert elapsed < START_TIMEOUT_S / 3
