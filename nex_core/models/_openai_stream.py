"""Streamed answers: server-sent events read line by line into :class:`ResponseChunk`s.

nex reads the SSE body itself rather than through the SDK's stream class, so that every way a
stream can be wrong is a :class:`ModelError` that says so: a body that is not an event stream,
an event whose data is not JSON (a truncated chunk), an error event, fields of the wrong type,
and a stream that ends before its last chunk (no ``[DONE]`` and no finish reason), which an
empty body is too. What can be retried is marked retryable: a cut or garbled stream may come
through whole next time; a server sending the wrong types will send them again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from nex_core.errors import ModelError
from nex_core.models._openai_response import (
    arguments_text,
    error_text,
    malformed,
    no_choices,
    optional_str,
    reasoning_of,
    usage_from_json,
)
from nex_core.models._openai_tokens import TokenAccumulator
from nex_core.models.base import ResponseChunk
from nex_core.trajectory.schema import LLMResponse, Message, ToolCall, Usage

DONE = "[DONE]"


@dataclass
class ServerSentEvent:
    event: str | None
    data: str


class SSEDecoder:
    """Lines of an SSE body in, events out: ``data:`` lines joined by newlines, dispatched at
    a blank line; comments (``:``) and other fields skipped; a last event without its blank
    line is still an event (:meth:`end`)."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None

    def line(self, raw: str) -> ServerSentEvent | None:
        line = raw.rstrip("\r\n")
        if not line:
            return self.end()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def end(self) -> ServerSentEvent | None:
        event = ServerSentEvent(self._event, "\n".join(self._data)) if self._data else None
        self._data, self._event = [], None
        return event


def parse_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """The events of an SSE body given as lines."""
    decoder = SSEDecoder()
    for line in lines:
        event = decoder.line(line)
        if event is not None:
            yield event
    event = decoder.end()
    if event is not None:
        yield event


async def aparse_sse(lines: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    """:func:`parse_sse` over an async line source (a response's ``aiter_lines()``)."""
    decoder = SSEDecoder()
    async for line in lines:
        event = decoder.line(line)
        if event is not None:
            yield event
    event = decoder.end()
    if event is not None:
        yield event


def not_an_event_stream(content_type: str, sample: bytes) -> ModelError:
    shown = sample[:80].decode("utf-8", "replace")
    kind = content_type or "no content type"
    return ModelError(f"the server answered a streamed request with {kind}, not an event stream "
                      f"(text/event-stream): {shown!r}. Check that it supports stream=true.",
                      retryable=True)


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class StreamAssembler:
    """Turns the JSON chunks of a stream into :class:`ResponseChunk`s and the whole response.

    ``event`` takes one SSE event; ``feed`` one parsed ``chat.completion.chunk`` (a dict);
    ``response`` gives the whole answer once the stream has ended, and raises if it ended
    before it was complete."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, _PartialCall] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.done = False
        self.chunks = 0
        self.saw_choice = False
        self.tokens = TokenAccumulator()

    def event(self, sse: ServerSentEvent) -> list[ResponseChunk]:
        if self.done:
            return []
        if sse.data.strip() == DONE:
            self.done = True
            return []
        try:
            data = json.loads(sse.data)
        except ValueError:
            shown = sse.data[:80]
            raise ModelError(f"the server's stream has an event whose data is not JSON: "
                             f"{shown!r} (a cut or garbled chunk).", retryable=True) from None
        if sse.event == "error" or (isinstance(data, dict) and "error" in data
                                    and "choices" not in data):
            error = data.get("error", data) if isinstance(data, dict) else data
            raise ModelError(f"the server's stream reported an error: {error_text(error)}",
                             retryable=True)
        return self.feed(data)

    def feed(self, chunk: Any) -> list[ResponseChunk]:
        at = f"chunk {self.chunks}"
        self.chunks += 1
        if not isinstance(chunk, dict):
            raise malformed(at, chunk, "an object")
        out: list[ResponseChunk] = []
        if chunk.get("usage") is not None:
            self.usage = usage_from_json(chunk["usage"], f"{at}.usage")
        self.tokens.top_level(chunk, f"{at}.")
        choices = chunk.get("choices")
        if choices is None:
            return out
        if not isinstance(choices, list):
            raise malformed(f"{at}.choices", choices, "a list")
        for choice in choices[:1]:
            if not isinstance(choice, dict):
                raise malformed(f"{at}.choices[0]", choice, "an object")
            self.saw_choice = True
            delta = choice.get("delta")
            if delta is None:
                delta = {}
            if not isinstance(delta, dict):
                raise malformed(f"{at}.choices[0].delta", delta, "an object")
            out.extend(self._delta(delta, f"{at}.choices[0].delta"))
            self.tokens.choice(choice, f"{at}.choices[0]")
            finish = optional_str(choice, "finish_reason", f"{at}.choices[0]")
            if finish:
                self.finish_reason = finish
        return out

    def _delta(self, delta: dict[str, Any], at: str) -> list[ResponseChunk]:
        out: list[ResponseChunk] = []
        reasoning = reasoning_of(delta)
        if reasoning:
            self.reasoning.append(reasoning)
        content = optional_str(delta, "content", at)
        if content:
            self.content.append(content)
            out.append(ResponseChunk(content=content))
        calls = delta.get("tool_calls")
        if calls is None:
            return out
        if not isinstance(calls, list):
            raise malformed(f"{at}.tool_calls", calls, "a list")
        for i, tc in enumerate(calls):
            where = f"{at}.tool_calls[{i}]"
            if not isinstance(tc, dict):
                raise malformed(where, tc, "an object")
            index = tc.get("index", i)
            if isinstance(index, bool) or not isinstance(index, int):
                raise malformed(f"{where}.index", index, "a whole number")
            function = tc.get("function")
            if function is None:
                function = {}
            if not isinstance(function, dict):
                raise malformed(f"{where}.function", function, "an object")
            call_id = optional_str(tc, "id", where)
            name = optional_str(function, "name", f"{where}.function")
            args = arguments_text(function.get("arguments"), f"{where}.function.arguments")
            partial = self.calls.setdefault(index, _PartialCall())
            if call_id:
                partial.id = call_id
            if name:
                partial.name += name
            partial.arguments.append(args)
            out.append(ResponseChunk(tool_call_index=index, tool_call_id=call_id,
                                     tool_name=name, arguments_delta=args))
        return out

    def response(self) -> LLMResponse:
        if not self.done and self.finish_reason is None:
            what = "was empty" if self.chunks == 0 else f"ended after {self.chunks} chunks"
            raise ModelError(f"the server's stream {what}, without its last chunk ([DONE] or a "
                             "finish reason): the answer is incomplete.", retryable=True)
        if not self.saw_choice:
            raise no_choices()
        calls = [
            ToolCall.make(p.id or f"call_{i + 1}", p.name, "".join(p.arguments))
            for i, (_, p) in enumerate(sorted(self.calls.items()))
        ]
        return LLMResponse(
            message=Message.assistant("".join(self.content) or None, calls or None,
                                      reasoning="".join(self.reasoning) or None),
            finish_reason=self.finish_reason,
            usage=self.usage,
            tokens=self.tokens.tokens(),
        )
