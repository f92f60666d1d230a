"""A real chat-completions server on 127.0.0.1, for tests and benchmarks.

It speaks enough of the OpenAI protocol for the ``openai`` client: ``POST .../chat/completions``
answered as JSON or, with ``"stream": true``, as server-sent events (usage last when
``stream_options.include_usage`` is set). Replies come from a queue of :class:`Reply` and
:class:`Fault` items, then from ``default``; every request is kept with its headers. A fixed
``latency_s`` delays every answer, and threads serve connections concurrently, so the same server
measures pipeline throughput.

With ``tokens="vllm"`` (the default) it answers as vLLM's OpenAI server does when a request asks
for token ids or logprobs: ``"return_token_ids": true`` adds ``prompt_token_ids`` (top level; a
stream's first chunk) and each choice's ``token_ids`` (each chunk's, for its delta), and
``logprobs``/``top_logprobs`` add ``choices[0].logprobs.content`` (``token_id:N`` tokens under
``return_tokens_as_token_ids``). Its tokenizer is bytes: a conversation is rendered as
``<role>text</role>`` turns (tool calls as ``<call name="N">ARGS</call>``) ending in
``<assistant>``, and the reply as its text, its calls and ``</assistant>``, so a next request's
prompt ids begin with the previous prompt and completion ids exactly, as a real chat template's
do. Usage reports the
longest prompt prefix shared with an earlier request as cached tokens. ``tokens="reject"`` answers
such a request HTTP 400 naming the field (as OpenAI does); ``tokens="ignore"`` drops the fields.

Use::

    with ChatServer([Reply(text="hi")]) as server:
        model = OpenAICompatibleModel("m", base_url=server.base_url)
        ...
        server.requests[0].body["messages"]

or the ``chat_server`` fixture (import it into a conftest).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

ToolCallSpec = tuple[str, str, dict[str, Any] | str]
"""``(id, name, arguments)``; a string is sent as the raw argument text."""


@dataclass
class Reply:
    """One scripted assistant reply."""

    text: str | None = None
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    reasoning: str | None = None
    """Sent as ``reasoning_content`` (the vLLM / DeepSeek field)."""
    finish_reason: str | None = None
    usage: tuple[int, int] | None = None
    """``(prompt_tokens, completion_tokens)``; derived from the text when absent."""
    delay_s: float = 0.0
    """Extra wait before answering (a slow reply, to trip client timeouts)."""
    completion_ids: list[int] | None = None
    """Token ids to answer instead of the reply's bytes (ids that disagree with the text)."""


@dataclass
class Fault:
    """An HTTP error answer instead of a reply."""

    status: int
    message: str = "injected failure"
    retry_after: float | None = None
    """Sent as a ``Retry-After`` header (seconds) when set."""
    delay_s: float = 0.0


@dataclass
class Raw:
    """A verbatim answer, whatever the request (a broken or odd server): status, content type
    and body, sent with its length."""

    body: bytes | str
    content_type: str = "application/json"
    status: int = 200
    delay_s: float = 0.0


Item = Reply | Fault | Raw
Default = Item | Callable[[dict[str, Any]], Item] | None


@dataclass
class Received:
    """A request as the server received it."""

    path: str
    headers: dict[str, str]
    """Lower-cased header names."""
    body: dict[str, Any]
    at: float
    """``time.monotonic()`` on arrival."""


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _arguments(value: dict[str, Any] | str) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class ChatServer:
    """A threaded chat-completions server on a free port of 127.0.0.1."""

    def __init__(
        self,
        replies: Iterable[Item] = (),
        *,
        default: Default = None,
        latency_s: float = 0.0,
        model: str = "test-model",
        port: int = 0,
        tokens: str = "vllm",
    ) -> None:
        self.default = default
        self.tokens = tokens
        """``vllm``, ``reject`` or ``ignore``: how token-id and logprob requests are answered."""
        self._prompts: list[list[int]] = []  # earlier prompts' ids, for cached-token usage
        self.latency_s = latency_s
        self.model = model
        self.requests: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        """Most requests waiting for their answer at once so far."""
        self.keep_requests = True
        """Keep every request in :attr:`requests` (off for long benchmark runs)."""
        self._queue: deque[Item] = deque(replies)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.chat = self
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *items: Item) -> None:
        with self._lock:
            self._queue.extend(items)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def start(self) -> ChatServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name="chat-server",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ serving

    def _take(self, body: dict[str, Any]) -> Item:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        default = self.default
        if callable(default):
            return default(body)
        if default is not None:
            return default
        return Fault(400, "the test chat server has no scripted reply left")

    def _record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        if not self.keep_requests:
            return
        with self._lock:
            self.requests.append(Received(path, headers, body, time.monotonic()))

    def sleep(self, seconds: float) -> None:
        """Wait, returning early when the server stops (so slow replies never hold it up)."""
        if seconds > 0:
            self._closing.wait(seconds)

    def rejected_field(self, body: dict[str, Any]) -> str | None:
        """The token field a ``tokens="reject"`` server refuses, if the request has one."""
        if self.tokens != "reject":
            return None
        return next((f for f in _TOKEN_FIELDS if f in body), None)

    def _cached(self, prompt: list[int]) -> int:
        with self._lock:
            best = max((_common(prompt, p) for p in self._prompts), default=0)
            self._prompts.append(prompt)
            del self._prompts[:-8]
        return best

    def token_view(self, reply: Reply, body: dict[str, Any]) -> _TokenView | None:
        """Ids and logprobs for this reply, when the request asked for them (vLLM mode)."""
        if self.tokens != "vllm":
            return None
        want_ids = bool(body.get("return_token_ids"))
        want_logprobs = bool(body.get("logprobs"))
        if not (want_ids or want_logprobs):
            return None
        prompt = list(_render_prompt(body.get("messages", [])).encode())
        completion = (
            list(reply.completion_ids)
            if reply.completion_ids is not None
            else list(_render_reply(reply).encode())
        )
        return _TokenView(
            prompt=prompt,
            completion=completion,
            ids=want_ids,
            logprobs=want_logprobs,
            top=int(body.get("top_logprobs") or 0),
            as_ids=bool(body.get("return_tokens_as_token_ids")),
            cached=self._cached(prompt),
        )

    def completion(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        view = self.token_view(reply, body)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": cid,
                    "type": "function",
                    "function": {"name": name, "arguments": _arguments(args)},
                }
                for cid, name, args in reply.tool_calls
            ]
        choice: dict[str, Any] = {
            "index": 0, "message": message, "finish_reason": _finish(reply), "logprobs": None
        }
        answer: dict[str, Any] = {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [choice],
            "usage": _usage(reply, body, view),
        }
        if view is not None:
            if view.ids:
                answer["prompt_token_ids"] = view.prompt
                choice["token_ids"] = view.completion
            if view.logprobs:
                choice["logprobs"] = {"content": view.logprob_entries(view.completion)}
        return answer

    def chunks(self, reply: Reply, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The reply as ``chat.completion.chunk`` objects, split the way servers split them."""
        base = {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", self.model),
        }

        view = self.token_view(reply, body)
        # Each chunk carries the ids of the text it adds; framing text (call tags, the end tag)
        # goes with the next chunk, and replacement ids (completion_ids) with the last one.
        pending: list[int] = []
        custom = reply.completion_ids is not None

        def chunk(
            delta: dict[str, Any], finish: str | None = None, text: str = ""
        ) -> dict[str, Any]:
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
            out = {**base, "choices": [choice]}
            if view is not None:
                ids = [*pending, *([] if custom else text.encode())]
                pending.clear()
                if finish is not None and custom:
                    ids = view.completion
                if view.ids:
                    choice["token_ids"] = ids
                if view.logprobs:
                    choice["logprobs"] = {"content": view.logprob_entries(ids)}
            return out

        first = chunk({"role": "assistant", "content": ""})
        if view is not None and view.ids:
            first["prompt_token_ids"] = view.prompt
        yield first
        if reply.reasoning:
            for piece in _split(reply.reasoning):
                yield chunk({"reasoning_content": piece})
        for piece in _split(reply.text or ""):
            yield chunk({"content": piece}, text=piece)
        for index, (cid, name, args) in enumerate(reply.tool_calls):
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": cid,
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ]
                },
                text=f'<call name="{name}">',
            )
            for piece in _split(_arguments(args), size=7):
                yield chunk(
                    {"tool_calls": [{"index": index, "function": {"arguments": piece}}]},
                    text=piece,
                )
            pending.extend(b"</call>")
        yield chunk({}, _finish(reply), text="</assistant>")
        if (body.get("stream_options") or {}).get("include_usage"):
            yield {**base, "choices": [], "usage": _usage(reply, body, view)}


def _finish(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _usage(reply: Reply, body: dict[str, Any], view: _TokenView | None = None) -> dict[str, Any]:
    if reply.usage is not None:
        prompt, completion = reply.usage
    elif view is not None:
        prompt, completion = len(view.prompt), len(view.completion)
    else:
        prompt = sum(_tokens(json.dumps(m.get("content") or "")) for m in body.get("messages", []))
        completion = _tokens(reply.text or "") + sum(
            _tokens(_arguments(a)) for _, _, a in reply.tool_calls
        )
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if view is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": view.cached}
    return usage


_TOKEN_FIELDS = ("return_token_ids", "return_tokens_as_token_ids", "logprobs", "top_logprobs")


def _render_calls(calls: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<call name="{name}">{args}</call>' for name, args in calls)


def _render_prompt(messages: list[dict[str, Any]]) -> str:
    """The server's chat template: ``<role>text</role>`` turns, then ``<assistant>``."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        calls = [
            (c["function"]["name"], c["function"]["arguments"]) for c in m.get("tool_calls") or []
        ]
        role = m.get("role", "user")
        out.append(f"<{role}>{content or ''}{_render_calls(calls)}</{role}>")
    return "".join(out) + "<assistant>"


def _render_reply(reply: Reply) -> str:
    calls = [(name, _arguments(args)) for _, name, args in reply.tool_calls]
    return f"{reply.text or ''}{_render_calls(calls)}</assistant>"


def _common(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class _TokenView:
    """What a vLLM-like server answers about one reply's tokens."""

    prompt: list[int]
    completion: list[int]
    ids: bool
    logprobs: bool
    top: int
    as_ids: bool
    cached: int

    def _token(self, token_id: int) -> str:
        return f"token_id:{token_id}" if self.as_ids else chr(token_id)

    def logprob_entries(self, ids: list[int]) -> list[dict[str, Any]]:
        """``logprobs.content`` for ``ids``: a logprob derived from each id, top-k around it."""
        entries = []
        for token_id in ids:
            chosen = -((token_id % 7) + 1) / 10
            entry: dict[str, Any] = {"token": self._token(token_id), "logprob": chosen}
            entry["bytes"] = [token_id] if token_id < 256 else None
            entry["top_logprobs"] = [
                {"token": self._token((token_id + k) % 256), "logprob": chosen - k}
                for k in range(self.top)
            ]
            entries.append(entry)
        return entries


def _split(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # many concurrent clients (pipeline benchmarks)
    chat: ChatServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read ``ChatServer.requests`` instead."""

    def do_POST(self) -> None:
        chat = self.server.chat
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(
                400,
                {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}},
            )
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        chat._record(self.path, headers, body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        item = chat._take(body)
        with chat._lock:  # requests being answered at once (the GAP limit tests count them)
            chat.in_flight += 1
            chat.max_in_flight = max(chat.max_in_flight, chat.in_flight)
        try:
            chat.sleep(chat.latency_s + item.delay_s)
        finally:
            with chat._lock:
                chat.in_flight -= 1
        if chat._closing.is_set():
            self.close_connection = True
            return
        try:
            if isinstance(item, Raw):
                data = item.body.encode() if isinstance(item.body, str) else item.body
                self.send_response(item.status)
                self.send_header("Content-Type", item.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif isinstance(item, Fault):
                extra = {} if item.retry_after is None else {"Retry-After": f"{item.retry_after:g}"}
                error = {
                    "message": item.message,
                    "type": "server_error" if item.status >= 500 else "invalid_request_error",
                    "code": str(item.status),
                }
                self._json(item.status, {"error": error}, extra)
            elif chat.rejected_field(body) is not None:
                field_name = chat.rejected_field(body)
                error = {
                    "message": f"Unrecognized request argument supplied: {field_name}",
                    "type": "invalid_request_error",
                    "code": "400",
                }
                self._json(400, {"error": error})
            elif body.get("stream"):
                self._sse(chat.chunks(item, body))
            else:
                self._json(200, chat.completion(item, body))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to answer

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, chunks: Iterable[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
        for event in events:
            data = event.encode()
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """A running :class:`ChatServer` with an empty queue; ``push`` replies onto it."""
    with ChatServer() as server:
        yield server


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.chat_server --port 0 --latency 0.1``: serve until stdin closes.

    Prints the base URL on its first line, so a benchmark can run the server in its own process
    (its CPU then never competes with the client's for one GIL). On exit it prints the process's
    CPU seconds as ``cpu_s=...``.
    """
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser(prog="python -m tests.chat_server")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--text", default="done", help="the reply to every request")
    args = parser.parse_args(argv)
    server = ChatServer(default=Reply(text=args.text), latency_s=args.latency, port=args.port)
    server.keep_requests = False  # a long benchmark must not grow the server's memory
    with server:
        print(server.base_url, flush=True)
        sys.stdin.read()
    times = os.times()
    print(f"cpu_s={times.user + times.system:.3f}", flush=True)


if __name__ == "__main__":
    main()
