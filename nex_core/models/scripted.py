"""A scripted model: replies come from a script, in order, per agent. Deterministic.

Script (YAML or JSON)::

    model: demo-model            # optional id recorded in trajectories
    replies:                     # used by any agent without its own list
      - tool_calls:
          - {name: add, arguments: {a: 2, b: 3}}
          - {name: mul, arguments: {a: 2, b: 3}}      # two calls: a parallel batch
      - text: "2+3=5 and 2*3=6"
    agents:                      # per-agent queues (multi-agent systems)
      researcher:
        - text: "found it"
        - error: {message: "overloaded", retryable: true}
      ...

A reply has ``text``, ``tool_calls`` (``name``, ``arguments`` as a mapping or raw string, optional
``id``), ``reasoning``, ``finish_reason``, or ``error`` (a string, or ``message``/``retryable``).
The same script drives the native runtime and every framework bridge, so their trajectories can
be compared.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field

from nex_core._field_docs import DocumentedModel
from nex_core.errors import ModelError, ScriptExhausted
from nex_core.models._file_cache import load_cached
from nex_core.models.base import ChatModel, ModelCall, request_snapshot
from nex_core.protocol.loader import load_document
from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.schema import LLMRequest, LLMResponse, Message, ToolCall, Usage


class _Strict(DocumentedModel):
    model_config = ConfigDict(extra="forbid")


class ScriptedToolCall(_Strict):
    name: str
    """Tool to call."""
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    """Arguments; a string is sent as is (use it to script malformed JSON)."""
    id: str | None = None
    """Call id; generated (``call_N``) when absent."""


class ScriptedError(_Strict):
    message: str
    """Error message the model call fails with."""
    retryable: bool = False
    """Whether a retry may succeed (rate limit, overload)."""
    status: int | None = None
    """HTTP-like status, for realism."""


class ScriptedReply(_Strict):
    text: str | None = None
    """Assistant text."""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    """Tool calls (several = a parallel batch)."""
    reasoning: str | None = None
    """Reasoning text returned beside the content."""
    finish_reason: str | None = None
    """Overrides the derived finish reason."""
    error: ScriptedError | str | None = None
    """Make this call fail instead of replying."""


class Script(_Strict):
    model: str = "scripted"
    """Model id recorded in trajectories."""
    replies: list[ScriptedReply] = Field(default_factory=list)
    """Shared queue, for agents without their own."""
    agents: dict[str, list[ScriptedReply]] = Field(default_factory=dict)
    """Per-agent queues."""


# json.dumps with a keyword builds an encoder per call; the encoder keeps no state between calls.
_arguments_json = json.JSONEncoder(ensure_ascii=False).encode


def _tokens(text: str) -> int:
    # A stable stand-in for a tokenizer: about four characters a token.
    return max(1, len(text) // 4) if text else 0


class ScriptedModel(ChatModel):
    """Replies from a :class:`Script`; records every request it received in ``calls``."""

    provider = "scripted"

    def __init__(self, script: Script | dict[str, Any] | list[Any]) -> None:
        if isinstance(script, list):
            script = {"replies": script}
        self.script = script if isinstance(script, Script) else Script.model_validate(script)
        self.model_id = self.script.model
        self._lock = threading.Lock()
        self._shared: deque[ScriptedReply] = deque(self.script.replies)
        self._queues = {name: deque(replies) for name, replies in self.script.agents.items()}
        self._ids = itertools.count(1)
        self.calls: list[ModelCall] = []
        # Per agent: the messages of its last request and their token count. A request repeats
        # the previous one and adds a message or two, so only those are counted: counting the
        # whole history on every call made a run of n calls O(n^2).
        self._prompts: dict[str | None, tuple[list[Message], int]] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedModel:
        # Parsed once per unchanged file: GAP builds one scripted model per episode.
        return cls(load_cached(path, lambda: load_document(path, Script)))

    def _next(self, agent: str | None) -> ScriptedReply:
        queue = self._queues.get(agent) if agent is not None else None
        if queue is None:
            queue = self._shared
        if not queue:
            who = f"agent '{agent}'" if agent in self._queues else "the shared reply list"
            raise ScriptExhausted(f"the script has no reply left for {who}")
        return queue.popleft()

    def _prompt_tokens(self, agent: str | None, messages: list[Message]) -> int:
        last = self._prompts.get(agent)
        start, total = 0, 0
        if last is not None:
            seen, counted = last
            # List equality runs in C and takes identical (shared) messages as equal at once;
            # equal messages have equal text, so the count carries over either way.
            if len(messages) >= len(seen) and messages[: len(seen)] == seen:
                start, total = len(seen), counted
        total += sum(_tokens(m.text()) for m in messages[start:])
        self._prompts[agent] = (list(messages), total)
        return total

    def remaining(self) -> int:
        with self._lock:
            return len(self._shared) + sum(len(q) for q in self._queues.values())

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        with self._lock:
            self.calls.append(ModelCall(agent, request_snapshot(request), tool_format))
            reply = self._next(agent)
            ids = [tc.id or f"call_{next(self._ids)}" for tc in reply.tool_calls]
        if reply.error is not None:
            err = (
                reply.error
                if isinstance(reply.error, ScriptedError)
                else ScriptedError(message=reply.error)
            )
            raise ModelError(err.message, retryable=err.retryable, status=err.status)
        calls = [
            ToolCall.make(
                call_id,
                tc.name,
                tc.arguments if isinstance(tc.arguments, str) else _arguments_json(tc.arguments),
            )
            for call_id, tc in zip(ids, reply.tool_calls, strict=True)
        ]
        text = reply.text
        if calls and tool_format is not ToolFormat.NATIVE:
            # A scripted reply's calls, written as a model of that family writes them.
            from nex_core.toolformats import get_format

            text, calls = get_format(tool_format).render_calls(text, calls), []
        message = Message.assistant(text, calls or None, reasoning=reply.reasoning)
        prompt = self._prompt_tokens(agent, request.messages)
        completion = _tokens(text or "") + sum(_tokens(c.function.arguments) for c in calls)
        return LLMResponse(
            message=message,
            finish_reason=reply.finish_reason or ("tool_calls" if calls else "stop"),
            usage=Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            ),
        )
