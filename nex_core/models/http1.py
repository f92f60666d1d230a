"""A lean HTTP/1.1 transport for httpx, and so for the ``openai`` SDK, on plain-TCP endpoints.

Why: a pipeline drives a local inference server (vLLM, SGLang, Ollama on ``http://``) with dozens
of requests in flight from one asyncio process, so the client's CPU per request bounds the
throughput. httpx's own pool rescans every connection twice a request and probes idle sockets
through several layers; the SDK's aiohttp transport converts every request and response between
two object models. This transport keeps only what such an endpoint needs: one asyncio protocol
per connection, a last-in-first-out stack of idle connections per host, the request written with
one ``write``, and the response framed by ``Content-Length``, chunked encoding or the connection's
end. The SDK still builds the request, raises its own errors and applies its timeouts; httpx
still decodes the body and follows redirects. TLS and proxies are out of scope: the model uses
another transport for those endpoints.

Errors are httpx's: ``ConnectError``/``ConnectTimeout`` when connecting, ``ReadTimeout`` when the
server is silent past the read timeout, ``RemoteProtocolError`` when it closes mid-answer or
answers something that is not HTTP/1.x, ``PoolTimeout`` when no connection frees up in time.
A cancelled or failed request closes its connection; only a fully read answer from a server that
keeps the connection alive returns it to the pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx

MAX_HEAD = 64 * 1024
"""Largest response head (status line and headers) accepted."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("the server sent nothing within the read timeout"))


class _Connection(asyncio.Protocol):
    """One TCP connection: bytes in a buffer, and at most one reader waiting for more."""

    def __init__(self, loop: asyncio.AbstractEventLoop, key: tuple[str, int]) -> None:
        self.loop = loop
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.waiter: asyncio.Future[None] | None = None
        self.idle_since = 0.0

    # ------------------------------------------------------------------ protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ------------------------------------------------------------------ reading

    async def wait(self, timeout: float | None) -> None:
        """Wait until more bytes arrive or the server closes; ``ReadTimeout`` past ``timeout``."""
        if self.closed:
            raise httpx.RemoteProtocolError("the server closed the connection mid-answer")
        waiter: asyncio.Future[None] = self.loop.create_future()
        self.waiter = waiter
        timer = self.loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    async def read_until(self, delimiter: bytes, timeout: float | None, limit: int) -> bytes:
        """Bytes up to ``delimiter`` (consumed, not returned)."""
        start = 0
        while True:
            index = self.buffer.find(delimiter, start)
            if index >= 0:
                data = bytes(self.buffer[:index])
                del self.buffer[: index + len(delimiter)]
                return data
            if len(self.buffer) > limit:
                raise httpx.RemoteProtocolError("the server's answer has an oversized line or head")
            start = max(0, len(self.buffer) - len(delimiter) + 1)
            if self.closed:
                raise httpx.RemoteProtocolError("the server closed the connection mid-answer")
            await self.wait(timeout)

    async def read_exact(self, n: int, timeout: float | None) -> bytes:
        while len(self.buffer) < n:
            if self.closed:
                raise httpx.RemoteProtocolError("the server closed the connection mid-answer")
            await self.wait(timeout)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def reusable(self, now: float, expiry: float) -> bool:
        """An idle connection the server has not closed, sent nothing on, nor let expire."""
        return (
            not self.closed
            and not self.buffer
            and self.transport is not None
            and not self.transport.is_closing()
            and now - self.idle_since < expiry
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Exchange:
    """A whole answer read by :meth:`Http1Transport.exchange`."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: bytes) -> bytes | None:
        """The first header called ``name`` (lower case), if any."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class _Head:
    __slots__ = ("chunked", "headers", "keep_alive", "length", "reason", "status")

    def __init__(self, head: bytes, method: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise httpx.RemoteProtocolError(f"not an HTTP/1.x answer: {lines[0]!r:.80}")
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.length: int | None = None
        self.chunked = False
        self.keep_alive = parts[0] == b"HTTP/1.1"
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise httpx.RemoteProtocolError(f"malformed header line {line!r:.80}")
            name, value = name.strip(), value.strip()
            self.headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                try:
                    self.length = int(value)
                except ValueError:
                    raise httpx.RemoteProtocolError(f"bad Content-Length {value!r:.40}") from None
            elif lower == b"transfer-encoding":
                self.chunked = value.lower().endswith(b"chunked")
            elif lower == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"close" in tokens:
                    self.keep_alive = False
                elif b"keep-alive" in tokens:
                    self.keep_alive = True
        if method == b"HEAD" or self.status in (204, 304):
            self.length, self.chunked = 0, False
        elif not self.chunked and self.length is None:
            self.keep_alive = False  # the body runs to the connection's end


class _Body(httpx.AsyncByteStream):
    """The response body, read from the connection as httpx iterates it."""

    def __init__(
        self, pool: Http1Transport, conn: _Connection, head: _Head, timeout: float | None
    ) -> None:
        self.pool = pool
        self.conn: _Connection | None = conn
        self.head = head
        self.timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self.conn
        if conn is None:
            raise httpx.StreamClosed()
        try:
            async for piece in self._pieces(conn):
                yield piece
        except BaseException:
            self._finish(reuse=False)
            raise
        self._finish(reuse=self.head.keep_alive)

    async def _pieces(self, conn: _Connection) -> AsyncIterator[bytes]:
        head, timeout = self.head, self.timeout
        if head.chunked:
            while True:
                line = await conn.read_until(b"\r\n", timeout, 1024)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise httpx.RemoteProtocolError(f"bad chunk size {line!r:.40}") from None
                if size == 0:
                    while await conn.read_until(b"\r\n", timeout, MAX_HEAD):
                        pass  # trailers, up to the blank line
                    return
                data = await conn.read_exact(size + 2, timeout)
                yield data[:-2]
        elif head.length is not None:
            left = head.length
            while left:
                if not conn.buffer:
                    await conn.wait(timeout)
                data = bytes(conn.buffer[:left])
                del conn.buffer[: len(data)]
                left -= len(data)
                yield data
        else:
            while True:
                if conn.buffer:
                    data = bytes(conn.buffer)
                    conn.buffer.clear()
                    yield data
                elif conn.closed:
                    return
                else:
                    await conn.wait(timeout)

    def _finish(self, *, reuse: bool) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            self.pool._release(conn, reuse=reuse)

    async def aclose(self) -> None:
        self._finish(reuse=False)  # a body closed before its end leaves the connection unusable


class Http1Transport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` for ``http://`` URLs (see the module docstring).

    ``max_connections`` bounds the connections in use at once (a request past it waits, up to
    the pool timeout); ``max_keepalive`` the idle ones kept per host; ``keepalive_expiry`` how
    long an idle connection may be reused. One transport serves one event loop.
    """

    def __init__(
        self,
        *,
        max_connections: int = 1000,
        max_keepalive: int = 100,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self.max_keepalive = max_keepalive
        self.keepalive_expiry = keepalive_expiry
        self._max_connections = max_connections
        self._slots: asyncio.Semaphore | None = None
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self.connects = 0
        """Connections opened so far (tests check reuse with it)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"this transport speaks plain http, not {url.scheme}")
        timeouts: dict[str, Any] = request.extensions.get("timeout") or {}
        payload = await _payload(request)
        key = (url.host, url.port or 80)
        read = timeouts.get("read")
        conn, head = await self._send(
            key, payload, request.method.encode(), timeouts.get("pool"), timeouts.get("connect"),
            read,
        )
        return httpx.Response(
            status_code=head.status,
            headers=head.headers,
            stream=_Body(self, conn, head, read),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    async def exchange(
        self,
        host: str,
        port: int,
        payload: bytes,
        *,
        timeout: float | None,
        method: bytes = b"POST",
    ) -> Exchange:
        """Send one request already framed as bytes (head and body) and read its whole
        answer, without httpx's request and response objects: what a caller that builds its own
        JSON and reads the raw body needs (the OpenAI-compatible model's direct path). The
        errors are the same httpx ones as ``handle_async_request``; ``timeout`` bounds the wait
        for a free connection, connecting, and each silence while reading."""
        conn, head = await self._send((host, port), payload, method, timeout, timeout, timeout)
        length = head.length
        if length is not None and not head.chunked and len(conn.buffer) >= length:
            # The common case, a short answer that came with its head: taken as it is, without
            # the body's async iteration (the same bytes and the same release as below).
            data = bytes(conn.buffer[:length])
            del conn.buffer[:length]
            self._release(conn, reuse=head.keep_alive)
            return Exchange(head.status, head.headers, data)
        body = _Body(self, conn, head, timeout)
        pieces = [piece async for piece in body]  # the body releases the connection at its end
        return Exchange(head.status, head.headers, b"".join(pieces))

    async def _send(
        self,
        key: tuple[str, int],
        payload: bytes,
        method: bytes,
        pool: float | None,
        connect: float | None,
        read: float | None,
    ) -> tuple[_Connection, _Head]:
        """Write ``payload`` on a pooled connection and read the answer's head; the caller owns
        the connection (through a ``_Body``) from then on."""
        await self._acquire(pool)
        conn: _Connection | None = None
        try:
            conn = self._reuse(key) or await self._connect(key, connect)
            assert conn.transport is not None
            conn.transport.write(payload)
            while True:
                head = _Head(await conn.read_until(b"\r\n\r\n", read, MAX_HEAD), method)
                if not 100 <= head.status < 200:
                    break  # informational answers (100 Continue) precede the real one
        except BaseException:
            if conn is not None:
                conn.close()
                self._open.discard(conn)
            self._free()
            raise
        return conn, head

    # ------------------------------------------------------------------ pool

    async def _acquire(self, timeout: float | None) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_connections)
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no connection to the server freed up in time") from None

    def _free(self) -> None:
        assert self._slots is not None
        self._slots.release()

    def _reuse(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.reusable(now, self.keepalive_expiry):
                return conn
            conn.close()
            self._open.discard(conn)
        return None

    async def _connect(self, key: tuple[str, int], timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(lambda: _Connection(loop, key), *key)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {key[0]}:{key[1]} timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {key[0]}:{key[1]}: {exc}") from exc
        self.connects += 1
        self._open.add(conn)
        return conn

    def _release(self, conn: _Connection, *, reuse: bool) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if reuse and not conn.closed and not conn.buffer and len(idle) < self.max_keepalive:
            conn.idle_since = time.monotonic()
            idle.append(conn)
        else:
            conn.close()
            self._open.discard(conn)
        self._free()

    async def aclose(self) -> None:
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()


async def _payload(request: httpx.Request) -> bytes:
    """The request as bytes on the wire: head and body, framed by ``Content-Length``."""
    try:
        body = request.content
        streamed = False
    except httpx.RequestNotRead:
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        streamed = True
    lines = [request.method.encode() + b" " + request.url.raw_path + b" HTTP/1.1"]
    has_length = False
    for name, value in request.headers.raw:
        lower = name.lower()
        if streamed and lower in (b"transfer-encoding", b"content-length"):
            continue
        has_length = has_length or lower == b"content-length"
        lines.append(name + b": " + value)
    if body and not has_length:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body

