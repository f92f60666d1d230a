"""MCP servers as tool providers, over stdio or streamable HTTP, with the ``mcp`` SDK.

A :class:`MCPPool` starts each server the first time one of its tools is needed and keeps the
session for the rest of the run. The SDK's transports are anyio task groups that must be entered
and left in one task, so each server lives in a task of its own that owns its session; callers
talk to it through the session object, which is safe to share between tasks.

Starting is apart from calling. A start runs in a task of the pool's, under the pool's own
``start_timeout_s``, and every caller that needs the server waits for that one start: a tool's
``timeout`` bounds only the call, so a server that takes longer to start than a tool may take to
answer still starts, and a caller that gives up (its episode timed out) leaves the start to the
others instead of abandoning a half-started process. A start that fails or times out stops its
process (the SDK's shutdown terminates the process group and reaps it) and raises
:class:`~nex_core.errors.ToolUnavailableError` with the real cause.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from contextvars import ContextVar
from typing import Any

from nex_core.errors import NexError, ToolBindingError, ToolUnavailableError
from nex_core.protocol.secrets import resolve
from nex_core.protocol.spec import MCPServerSpec
from nex_core.runtime.mcp_start import StderrTail, command_line, describe, start_failure
from nex_core.trajectory.redact import register_secret

DEFAULT_START_TIMEOUT_S = 60.0
"""How long a server may take to start (spawn and MCP handshake) unless the pool says otherwise."""

_STOP_TIMEOUT_S = 10.0
_STDERR_SETTLE_S = 1.0
"""After a failed start, how long to wait for the rest of the server's stderr (the cause)."""

_SECRET_REFERENCE = re.compile(r"\$\{env:[A-Za-z_][A-Za-z0-9_]*\}")


class MCPToolError(NexError):
    """An MCP tool reported an error (``is_error``): the tool's answer, for the model to handle."""


def resolve_secret(value: str) -> str:
    """``value`` with its ``${env:NAME}`` references resolved; each referenced value is
    registered as a secret, so a server or tool that echoes it is scrubbed from the record."""
    for reference in _SECRET_REFERENCE.findall(value):
        register_secret(resolve(reference))
    return resolve(value)


class _Server:
    def __init__(self, name: str, spec: MCPServerSpec) -> None:
        self.name = name
        self.spec = spec
        self.session: Any = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._stderr: StderrTail | None = None
        self.command = _command(str(spec.command)) if spec.transport == "stdio" else None

    async def start(self, timeout: float | None) -> None:
        """Start the server; on failure or timeout its process is stopped before this raises."""
        self._task = asyncio.create_task(self._serve(), name=f"mcp-server-{self.name}")
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            await self._abort()
            raise ToolUnavailableError(
                f"MCP server '{self.name}' did not start within {timeout} s "
                f"({command_line(self.spec, self.command)}){self._stderr_note()}"
            ) from None
        except BaseException:  # cancelled while starting: leave no process behind
            await asyncio.shield(self._abort())
            raise
        if self._error is not None:
            error = self._error
            if self._stderr is not None:
                await asyncio.to_thread(self._stderr.wait_closed, _STDERR_SETTLE_S)
            stderr = self._stderr.text() if self._stderr is not None else ""
            raise ToolUnavailableError(
                start_failure(self.name, self.spec, error, stderr, self.command)
            ) from error

    def _stderr_note(self) -> str:
        text = self._stderr.text() if self._stderr is not None else ""
        return f"; its stderr ends with:\n{text}" if text else ""

    async def _serve(self) -> None:
        from mcp import ClientSession

        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(stack))
                if self._stderr is not None:
                    self._stderr.spawned()
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
            if self._stderr is not None:
                self._stderr.spawned()  # also when the spawn itself failed
            self._ready.set()

    def _transport(self, stack: AsyncExitStack) -> Any:
        spec = self.spec
        if spec.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            env = {**os.environ}
            for key, value in spec.env.items():
                env[key] = resolve_secret(value)
            params = StdioServerParameters(command=str(self.command), args=list(spec.args), env=env)
            self._stderr = StderrTail()
            return stdio_client(params, errlog=self._stderr.writer)  # type: ignore[arg-type]
        from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

        headers = {key: resolve_secret(value) for key, value in spec.headers.items()}
        client = create_mcp_http_client(headers=headers or None)
        return _http_transport(
            streamable_http_client(resolve(str(spec.url)), http_client=client), client
        )

    async def _abort(self) -> None:
        """Cancel a start in progress; the transports' shutdown stops and reaps the process."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=_STOP_TIMEOUT_S)
            except (TimeoutError, Exception):
                await self._abort()


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
    """Sessions to the MCP servers of one run, started lazily, closed together.

    ``start_timeout_s`` bounds each server's start (spawn and handshake), apart from any tool
    call's timeout.
    """

    def __init__(
        self,
        servers: dict[str, MCPServerSpec],
        *,
        start_timeout_s: float | None = DEFAULT_START_TIMEOUT_S,
    ) -> None:
        self._specs = dict(servers)
        self._servers: dict[str, _Server] = {}
        self._starting: dict[str, asyncio.Task[_Server]] = {}
        self._lock = asyncio.Lock()
        self._tool_cache: dict[str, list[Any]] = {}
        self.start_timeout_s = start_timeout_s

    def add(self, servers: dict[str, MCPServerSpec]) -> None:
        for name, spec in servers.items():
            self._specs.setdefault(name, spec)

    def spec(self, name: str) -> MCPServerSpec | None:
        """The spec the pool starts server ``name`` from (the first one added wins)."""
        return self._specs.get(name)

    async def session(self, name: str) -> Any:
        """The server's session, starting the server first if it is not running."""
        server = self._servers.get(name)
        if server is not None:
            return server.session
        if name not in self._specs:
            raise ToolBindingError(
                f"no MCP server named '{name}' is declared (known: {sorted(self._specs)})"
            )
        starting = self._starting.get(name)
        if starting is None:
            starting = asyncio.create_task(self._start(name), name=f"mcp-start-{name}")
            self._starting[name] = starting
            starting.add_done_callback(_retrieve)
        # Shielded: a caller that stops waiting (its own timeout, its episode cancelled) does not
        # cancel the start that other callers, and later ones, will use.
        server = await asyncio.shield(starting)
        return server.session

    async def _start(self, name: str) -> _Server:
        server = _Server(name, self._specs[name])
        try:
            await server.start(self.start_timeout_s)
        except ToolUnavailableError as exc:
            self._start_failed(name, exc)
            raise
        finally:
            self._starting.pop(name, None)
        self._servers[name] = server
        return server

    def _start_failed(self, name: str, error: ToolUnavailableError) -> None:
        """Called once per failed start of server ``name`` (subclasses count them)."""

    async def list_tools(self, name: str) -> list[Any]:
        if name not in self._tool_cache:
            session = await self.session(name)
            self._tool_cache[name] = list((await session.list_tools()).tools)
        return self._tool_cache[name]

    async def tool_schema(self, server: str, tool: str) -> tuple[str, dict[str, Any]]:
        for t in await self.list_tools(server):
            if t.name == tool:
                return t.description or "", dict(t.input_schema)
        raise ToolBindingError(f"MCP server '{server}' has no tool '{tool}'")

    async def call(
        self, server: str, tool: str, arguments: dict[str, Any], timeout: float | None = None
    ) -> Any:
        """Call ``tool`` on ``server``; ``timeout`` bounds the call, not the server's start."""
        session = await self.session(server)
        try:
            async with asyncio.timeout(timeout):
                result = await session.call_tool(tool, arguments)
        except TimeoutError:
            raise TimeoutError(
                f"MCP tool '{tool}' on server '{server}' timed out after {timeout} s"
            ) from None
        text = _result_text(result)
        if getattr(result, "is_error", False):
            raise MCPToolError(text or f"MCP tool '{tool}' failed")
        structured = getattr(result, "structured_content", None)
        return structured if structured is not None and not text else text

    async def aclose(self) -> None:
        if not self._starting and not self._servers:
            return  # nothing started (every run without MCP tools ends here)
        starting, self._starting = list(self._starting.values()), {}
        for task in starting:
            task.cancel()
        await asyncio.gather(*starting, return_exceptions=True)
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            await server.stop()


def _retrieve(task: asyncio.Task[Any]) -> None:
    # Every waiter may have gone (cancelled) by the time a start fails: mark its error as seen.
    if not task.cancelled():
        task.exception()


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


async def probe_servers(
    servers: dict[str, MCPServerSpec],
    tools: dict[str, set[str]],
    *,
    start_timeout_s: float | None = DEFAULT_START_TIMEOUT_S,
) -> dict[str, list[str] | str]:
    """Start every server, list its tools, stop it: per server, its tool names, or the problem
    (failed to start, with the cause and command line; or a tool in ``tools[name]`` it lacks).

    What ``nex gap check`` runs before a run, so a missing server is found before its episodes
    fail one by one.
    """
    pool = MCPPool(servers, start_timeout_s=start_timeout_s)
    names = list(servers)
    try:
        listed = await asyncio.gather(*(pool.list_tools(n) for n in names), return_exceptions=True)
    finally:
        await pool.aclose()
    out: dict[str, list[str] | str] = {}
    for name, found in zip(names, listed, strict=True):
        if isinstance(found, BaseException):
            if not isinstance(found, Exception):
                raise found
            out[name] = str(found) if isinstance(found, NexError) else describe(found)
            continue
        have = sorted(t.name for t in found)
        missing = sorted(tools.get(name, set()) - set(have))
        out[name] = (
            f"MCP server '{name}' has no tool(s) {', '.join(map(repr, missing))} "
            f"(it has: {', '.join(have) or 'none'}; "
            f"{command_line(servers[name], _command(str(servers[name].command)))})"
            if missing
            else have
        )
    return out
