"""Why an MCP server did not start, said plainly.

The SDK's transports are anyio task groups, so a server that dies while starting surfaces as
"unhandled errors in a TaskGroup (1 sub-exception)". :func:`start_failure` unwraps the groups to
the exception that caused it and words it for the user (command not found, the process exited
before the handshake), with the command line and the last lines the server wrote to stderr —
where ``No module named mcp_server_time`` is found. :class:`StderrTail` keeps those lines: a
bounded tail of the server's stderr, read by a thread so the pipe never fills.
"""

from __future__ import annotations

import errno
import os
import shlex
import threading
from typing import IO

from nex_core.protocol.spec import MCPServerSpec

_TAIL_BYTES = 4096
_SHOWN_LINES = 6


class StderrTail:
    """A pipe for a server's stderr whose last few kilobytes are kept (the rest is dropped)."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self._read_fd = read_fd
        self.writer: IO[str] | None = open(write_fd, "w", closefd=True)  # noqa: SIM115
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="mcp-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._read_fd, 65536):
                with self._lock:
                    self._tail += chunk
                    del self._tail[:-_TAIL_BYTES]
        except OSError:
            pass
        finally:
            os.close(self._read_fd)

    def spawned(self) -> None:
        """The server process holds the write end now: close ours, so its exit ends the pipe."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def wait_closed(self, timeout: float) -> None:
        """Wait (in a thread) until the server's stderr is closed, e.g. after it exited."""
        self.spawned()
        self._thread.join(timeout)

    def text(self) -> str:
        """The last lines the server wrote to stderr."""
        with self._lock:
            data = bytes(self._tail)
        lines = [line.rstrip() for line in data.decode("utf-8", "replace").splitlines()]
        return "\n".join(line for line in lines if line)[-_TAIL_BYTES:]


def command_line(spec: MCPServerSpec, command: str | None = None) -> str:
    """``command line: …`` of a stdio server, ``url: …`` of an HTTP one, for messages."""
    if spec.transport == "http":
        return f"url: {spec.url}"
    return f"command line: {shlex.join([command or str(spec.command), *spec.args])}"


def root_cause(error: BaseException) -> BaseException:
    """The first non-cancellation exception inside nested exception groups (else ``error``)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        inner: list[BaseException] = list(error.exceptions)
        error = next((e for e in inner if isinstance(e, Exception)), inner[0])
    return error


def _is_closed_connection(error: BaseException) -> bool:
    import anyio

    if isinstance(error, anyio.ClosedResourceError | anyio.BrokenResourceError | EOFError):
        return True
    return type(error).__name__ == "MCPError" and "connection closed" in str(error).lower()


def _refused(error: BaseException) -> bool:
    """Whether ``error`` comes from a refused TCP connection (nothing listening on the port).

    httpx words it "All connection attempts failed" (anyio tried each address of the host); the
    ``ConnectionRefusedError`` of each attempt is in its causes, or in the groups among them."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending and len(seen) < 64:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or (
            isinstance(current, OSError) and current.errno == errno.ECONNREFUSED
        ):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return False


def start_failure(
    name: str, spec: MCPServerSpec, error: BaseException, stderr: str, command: str | None = None
) -> str:
    """The message for a server that failed to start: its name, the cause, the command line,
    and the end of its stderr."""
    cause = root_cause(error)
    line = command_line(spec, command)
    if spec.transport == "stdio" and isinstance(cause, FileNotFoundError):
        what = f"command not found: {command or spec.command!r}"
    elif spec.transport == "stdio" and isinstance(cause, PermissionError):
        what = f"command cannot be executed (permission denied): {command or spec.command!r}"
    elif spec.transport == "http" and _refused(cause):
        what = "connection refused (nothing is listening at that address; is the server running?)"
    elif _is_closed_connection(cause):
        what = (
            "the server process exited before it answered"
            if spec.transport == "stdio"
            else "the server closed the connection before it answered"
        )
    else:
        what = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
    message = f"MCP server '{name}' failed to start: {what} ({line})"
    if stderr:
        shown = "\n".join(stderr.splitlines()[-_SHOWN_LINES:])
        message += f"; its stderr ends with:\n{shown}"
    return message


def describe(error: BaseException) -> str:
    """``Type: message`` of the root cause of ``error`` (exception groups unwrapped)."""
    cause = root_cause(error)
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
