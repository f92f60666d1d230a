"""A minimal chat-completions server for throughput benchmarks: ``python -m bench._fast_server``.

``tests/chat_server.py`` is a thread per connection (about 0.5 ms of CPU a request): at a
thousand requests a second it would use most of a core of a two-core machine, and measure itself.
This one is a single asyncio protocol that answers every POST, after ``--latency`` seconds, with
the same one-choice completion, so the client's ceiling is what a benchmark sees. It prints its
base URL on the first line and serves until stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

_BODY = json.dumps({
    "id": "c1", "object": "chat.completion", "model": "bench-model",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "done"}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
}).encode()
_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
           + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY)


class _Conn(asyncio.Protocol):
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            start = head.find(b"content-length:")
            length = int(head[start + 15:].split(b"\r\n", 1)[0]) if start >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            asyncio.get_running_loop().call_later(self.latency, self._answer)

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_ANSWER)


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._fast_server")
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Conn(args.latency), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
