"""The lean HTTP/1.1 transport against real servers on 127.0.0.1: the chat server, and raw
asyncio servers that answer in the shapes a real server may (close-delimited, chunked, broken)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx2 as httpx
import pytest

from nex_core.models.http1 import Http1Transport
from tests.chat_server import ChatServer, Reply

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(answer: Answer) -> AsyncIterator[str]:
    """A TCP server whose every connection is handled by ``answer``; yields its base URL."""
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length) if length else b""


def client(**kw: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=Http1Transport(**kw), timeout=2.0)


def test_keep_alive_reuses_one_connection() -> None:
    async def main(base: str) -> tuple[list[str], int]:
        transport = Http1Transport()
        async with httpx.AsyncClient(transport=transport) as c:
            texts = []
            for i in range(20):
                r = await c.post(f"{base}/chat/completions", json={"messages": [], "i": i})
                texts.append(r.json()["choices"][0]["message"]["content"])
            return texts, transport.connects

    with ChatServer(default=Reply(text="ok")) as server:
        texts, connects = asyncio.run(main(server.base_url))
    assert texts == ["ok"] * 20 and connects == 1


def test_concurrent_requests_then_reuse() -> None:
    async def main(base: str) -> int:
        transport = Http1Transport()
        async with httpx.AsyncClient(transport=transport) as c:
            for _ in range(3):
                rs = await asyncio.gather(
                    *(c.post(f"{base}/chat/completions", json={"messages": []}) for _ in range(16))
                )
                assert all(r.status_code == 200 for r in rs)
            return transport.connects

    with ChatServer(default=Reply(text="ok"), latency_s=0.05) as server:
        assert asyncio.run(main(server.base_url)) == 16  # rounds two and three reuse round one's


def test_close_delimited_and_connection_close_answers() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nno length, ")
        await writer.drain()
        writer.write(b"ends with the connection")
        writer.close()

    async def main() -> tuple[list[str], int]:
        transport = Http1Transport()
        async with raw_server(answer) as base, httpx.AsyncClient(transport=transport) as c:
            texts = [(await c.get(f"{base}/x")).text for _ in range(3)]
        return texts, transport.connects

    texts, connects = asyncio.run(main())
    assert texts == ["no length, ends with the connection"] * 3 and connects == 3


def test_chunked_answer_with_trailers() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"
            )
            await writer.drain()

    async def main() -> tuple[list[str], int]:
        transport = Http1Transport()
        async with raw_server(answer) as base, httpx.AsyncClient(transport=transport) as c:
            texts = [(await c.post(f"{base}/x", content=b"body")).text for _ in range(2)]
        return texts, transport.connects

    texts, connects = asyncio.run(main())
    assert texts == ["hello world"] * 2 and connects == 1


def test_streamed_request_body_gets_a_length() -> None:
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    async def parts() -> AsyncIterator[bytes]:
        yield b"one "
        yield b"two"

    async def main() -> int:
        async with raw_server(answer) as base, client() as c:
            return (await c.post(f"{base}/x", content=parts())).status_code

    assert asyncio.run(main()) == 204 and seen == [b"one two"]


def test_silent_server_is_a_read_timeout() -> None:
    async def main(base: str) -> None:
        async with httpx.AsyncClient(transport=Http1Transport(), timeout=0.2) as c:
            await c.post(f"{base}/chat/completions", json={"messages": []})

    with (
        ChatServer(default=Reply(text="late", delay_s=2.0)) as server,
        pytest.raises(httpx.ReadTimeout),
    ):
        asyncio.run(main(server.base_url))


def test_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> None:
        async with client() as c:
            await c.get(f"http://127.0.0.1:{port}/x")

    with pytest.raises(httpx.ConnectError):
        asyncio.run(main())


def test_garbage_and_early_close_are_protocol_errors() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        writer.close()

    async def early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
        writer.close()

    async def main(answer: Answer) -> None:
        async with raw_server(answer) as base, client() as c:
            await c.get(f"{base}/x")

    for answer in (garbage, early):
        with pytest.raises(httpx.RemoteProtocolError):
            asyncio.run(main(answer))


def test_cancelled_request_frees_its_slot_and_pool_timeout() -> None:
    async def main(base: str) -> int:
        transport = Http1Transport(max_connections=1)
        async with httpx.AsyncClient(transport=transport, timeout=2.0) as c:
            url = f"{base}/chat/completions"
            slow = asyncio.create_task(c.post(url, json={"messages": []}))
            await asyncio.sleep(0.1)
            with pytest.raises(httpx.PoolTimeout):  # the one connection is busy
                await c.post(url, json={"messages": []}, timeout=httpx.Timeout(2.0, pool=0.1))
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            r = await c.post(url, json={"messages": []})  # the slot is free again
            return r.status_code

    with ChatServer(default=Reply(text="ok", delay_s=0.5)) as server:
        assert asyncio.run(main(server.base_url)) == 200


def test_only_plain_http() -> None:
    async def main() -> None:
        async with client() as c:
            await c.get("https://127.0.0.1:1/x")

    with pytest.raises(httpx.UnsupportedProtocol):
        asyncio.run(main())


def test_exchange_whole_or_in_pieces_and_reuse() -> None:
    """``exchange`` reads an answer that came with its head (taken at once) and one whose body
    comes later (read as it arrives) alike, and keeps the connection for the next request."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = b'{"ok": true}'
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
        while True:
            try:
                request = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            if b"split" in request:
                writer.write(head)
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(body)
            else:
                writer.write(head + body)
            await writer.drain()
        writer.close()

    async def main(base: str) -> tuple[list[bytes], int]:
        port = int(base.rsplit(":", 1)[1])
        transport = Http1Transport()
        bodies = []
        for kind in (b"whole", b"split", b"whole", b"split"):
            payload = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(kind)
                       + kind)
            got = await transport.exchange("127.0.0.1", port, payload, timeout=2.0)
            assert got.status == 200
            bodies.append(got.body)
        await transport.aclose()
        return bodies, transport.connects

    async def run() -> tuple[list[bytes], int]:
        async with raw_server(answer) as base:
            return await main(base)

    bodies, connects = asyncio.run(run())
    assert bodies == [b'{"ok": true}'] * 4 and connects == 1
