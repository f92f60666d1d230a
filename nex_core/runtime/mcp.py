"""MCP servers as tool providers, over stdio or streamable HTTP, with the ``mcp`` SDK.

A :class:`MCPPool` starts each server the first time one of its tools is needed and keeps the
session for the rest of the run. The SDK's transports are anyio task groups that must be entered
and left in one task, so each server lives in a task of its own that owns its session; callers
talk to it through the session object, which is safe to share between tasks.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from contextvars import ContextVar
from typing import Any

from nex_core.errors import NexError
from nex_core.protocol.secrets import resolve
from nex_core.protocol.spec import MCPServerSpec
from nex_core.trajectory.redact import register_secret


class MCPToolError(NexError):
    """An MCP tool reported an error (``is_error``) or the server failed."""


class _Server:
    def __init__(self, name: str, spec: MCPServerSpec) -> None:
        self.name = name
        self.spec = spec
        self.session: Any = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._serve(), name=f"mcp-server-{self.name}")
        await self._ready.wait()
        if self._error is not None:
            raise MCPToolError(
                f"MCP server '{self.name}' failed to start: {self._error}"
            ) from self._error

    async def _serve(self) -> None:
        from mcp import ClientSession

        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(stack))
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                self.session = session
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # reported to whoever waits for the server
            self._error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            self._ready.set()

    def _transport(self, stack: AsyncExitStack) -> Any:
        spec = self.spec
        if spec.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            env = {**os.environ}
            for key, value in spec.env.items():
                env[key] = resolve(value)
            params = StdioServerParameters(
                command=_command(str(spec.command)), args=list(spec.args), env=env
            )
            return stdio_client(params, errlog=open(os.devnull, "w"))
        from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

        headers = {}
        for key, value in spec.headers.items():
            resolved = resolve(value)
            if resolved != value:
                register_secret(resolved)
            headers[key] = resolved
        client = create_mcp_http_client(headers=headers or None)
        return _http_transport(
            streamable_http_client(resolve(str(spec.url)), http_client=client), client
        )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (TimeoutError, Exception):
                self._task.cancel()


class _http_transport:
    """Enter the streamable-HTTP transport and close its HTTP client afterwards."""

    def __init__(self, inner: Any, client: Any) -> None:
        self._inner = inner
        self._client = client

    async def __aenter__(self) -> tuple[Any, Any]:
        streams = await self._inner.__aenter__()
        return streams[0], streams[1]

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self._inner.__aexit__(*exc)
        finally:
            await self._client.aclose()


class MCPPool:
    """Sessions to the MCP servers of one run, started lazily, closed together."""

    def __init__(self, servers: dict[str, MCPServerSpec]) -> None:
        self._specs = dict(servers)
        self._servers: dict[str, _Server] = {}
        self._lock = asyncio.Lock()
        self._tool_cache: dict[str, list[Any]] = {}

    def add(self, servers: dict[str, MCPServerSpec]) -> None:
        for name, spec in servers.items():
            self._specs.setdefault(name, spec)

    async def session(self, name: str) -> Any:
        async with self._lock:
            if name not in self._specs:
                raise MCPToolError(
                    f"no MCP server named '{name}' is declared (known: {sorted(self._specs)})"
                )
            if name not in self._servers:
                server = _Server(name, self._specs[name])
                await server.start()
                self._servers[name] = server
            return self._servers[name].session

    async def list_tools(self, name: str) -> list[Any]:
        if name not in self._tool_cache:
            session = await self.session(name)
            self._tool_cache[name] = list((await session.list_tools()).tools)
        return self._tool_cache[name]

    async def tool_schema(self, server: str, tool: str) -> tuple[str, dict[str, Any]]:
        for t in await self.list_tools(server):
            if t.name == tool:
                return t.description or "", dict(t.input_schema)
        raise MCPToolError(f"MCP server '{server}' has no tool '{tool}'")

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> Any:
        session = await self.session(server)
        result = await session.call_tool(tool, arguments)
        text = _result_text(result)
        if getattr(result, "is_error", False):
            raise MCPToolError(text or f"MCP tool '{tool}' failed")
        structured = getattr(result, "structured_content", None)
        return structured if structured is not None and not text else text

    async def aclose(self) -> None:
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            await server.stop()


_shared_pool: ContextVar[MCPPool | None] = ContextVar("nex_shared_mcp_pool", default=None)


def shared_pool() -> MCPPool | None:
    """The pool a caller asked runs to share (see :func:`use_shared_pool`), if any."""
    return _shared_pool.get()


@contextmanager
def use_shared_pool(pool: MCPPool) -> Iterator[MCPPool]:
    """Runs started inside this block use ``pool`` instead of starting their own servers.

    A batch runner (the GAP pipeline) starts each MCP server once and lets every episode share
    it; the runs neither start nor close the pool's servers.
    """
    token = _shared_pool.set(pool)
    try:
        yield pool
    finally:
        _shared_pool.reset(token)


def _command(command: str) -> str:
    """``python`` in a spec means the interpreter running nex, whose environment has the
    server installed, not whichever ``python`` comes first on PATH."""
    return sys.executable if command in {"python", "python3"} and sys.executable else command


def _result_text(result: Any) -> str:
    parts = []
    for item in getattr(result, "content", None) or []:
        text = getattr(item, "text", None)
        parts.append(text if text is not None else str(item))
    return "\n".join(parts)
