"""AutoGen's model-level types ↔ nex's OpenAI-shaped records.

One conversion serves both the model bridge (what a nex model is asked) and the recorder (what a
trajectory says the model was asked), so the two can never disagree.

AutoGen keeps an assistant turn's text beside its tool calls in ``thought`` (its OpenAI client
does the same), so ``thought`` with tool calls is the message's content; ``thought`` beside plain
text is reasoning.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from autogen_core import FunctionCall, Image
from autogen_core.models import (
    AssistantMessage,
    CreateResult,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool
from autogen_core.tools import ToolSchema as AutogenToolSchema

from nex_core.models.token_capture import TOKEN_CAPTURE_KEY, capture_note, read_client_tokens
from nex_core.trajectory.schema import (
    LLMResponse,
    Message,
    Tokens,
    ToolCall,
    ToolSchema,
    TopLogprobs,
    Usage,
)

USER_SOURCE = "user"
"""AutoGen's source name for messages that came from the person running the task."""

_FINISH_TO_NEX = {"function_calls": "tool_calls"}
_FINISH_FROM_NEX = {
    "tool_calls": "function_calls",
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
}


def _content(parts: str | Sequence[str | Image]) -> str | list[dict[str, Any]]:
    if isinstance(parts, str):
        return parts
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, str):
            out.append({"type": "text", "text": part})
        elif isinstance(part, Image):
            out.append({"type": "image_url", "image_url": {"url": part.data_uri}})
        else:  # pragma: no cover - AutoGen admits only str and Image here
            out.append({"type": "text", "text": str(part)})
    return out


def _speaker(source: str | None) -> str | None:
    return None if not source or source == USER_SOURCE else source


def to_nex_messages(messages: Sequence[LLMMessage]) -> list[Message]:
    """AutoGen ``LLMMessage``s as nex messages; a batch of tool results becomes one tool message
    per result, as the OpenAI API receives them."""
    out: list[Message] = []
    for m in messages:
        out.extend(to_nex_message(m))
    return out


def to_nex_message(m: LLMMessage) -> list[Message]:
    """One AutoGen ``LLMMessage`` as the nex messages it stands for (see ``to_nex_messages``)."""
    if isinstance(m, SystemMessage):
        return [Message.system(m.content)]
    if isinstance(m, UserMessage):
        return [Message(role="user", content=_content(m.content), name=_speaker(m.source))]
    if isinstance(m, AssistantMessage):
        return [_assistant(m.content, m.thought, name=_speaker(m.source))]
    if isinstance(m, FunctionExecutionResultMessage):
        return [Message.tool(r.call_id, r.content) for r in m.content]
    raise TypeError(f"unknown AutoGen message type {type(m).__name__}")  # pragma: no cover


def _assistant(
    content: str | list[FunctionCall], thought: str | None, *, name: str | None
) -> Message:
    if isinstance(content, str):
        return Message(role="assistant", content=content, reasoning=thought, name=name)
    calls = [ToolCall.make(c.id, c.name, c.arguments) for c in content]
    return Message(role="assistant", content=thought or None, tool_calls=calls or None, name=name)


def to_autogen_messages(messages: Sequence[Message], agent: str) -> list[LLMMessage]:
    """nex messages back as the ``LLMMessage``s ``agent``'s model context held: the inverse of
    :func:`to_nex_messages` for a conversation it wrote (a run resumed from its trajectory).

    An assistant message without a speaker is ``agent``'s (a recorded reply has none; the
    agent adds it to its context under its own name), consecutive tool results are one
    ``FunctionExecutionResultMessage`` named after the calls they answer."""
    out: list[LLMMessage] = []
    names: dict[str, str] = {}
    results: list[FunctionExecutionResult] = []
    for m in messages:
        if m.role == "tool":
            call_id = m.tool_call_id or ""
            results.append(
                FunctionExecutionResult(
                    content=m.text(), call_id=call_id, name=names.get(call_id, ""), is_error=False
                )
            )
            continue
        if results:
            out.append(FunctionExecutionResultMessage(content=results))
            results = []
        if m.role == "system":
            out.append(SystemMessage(content=m.text()))
        elif m.role == "user":
            out.append(UserMessage(content=_parts(m.content), source=m.name or USER_SOURCE))
        elif m.tool_calls:
            calls = [
                FunctionCall(id=c.id, arguments=c.function.arguments, name=c.function.name)
                for c in m.tool_calls
            ]
            names.update((c.id, c.name) for c in calls)
            thought = m.text() or None
            out.append(AssistantMessage(content=calls, thought=thought, source=m.name or agent))
        else:
            text, reasoning = m.text(), m.reasoning
            out.append(AssistantMessage(content=text, thought=reasoning, source=m.name or agent))
    if results:
        out.append(FunctionExecutionResultMessage(content=results))
    return out


def _parts(content: str | list[dict[str, Any]] | None) -> str | list[str | Image]:
    if content is None or isinstance(content, str):
        return content or ""
    out: list[str | Image] = []
    for part in content:
        if part.get("type") == "image_url":
            out.append(Image.from_uri(str((part.get("image_url") or {}).get("url", ""))))
        else:
            out.append(str(part.get("text", "")))
    return out


def to_nex_tools(tools: Sequence[Tool | AutogenToolSchema]) -> list[ToolSchema]:
    """Tool schemas as offered to the model."""
    return [to_nex_tool(tool) for tool in tools]


def to_nex_tool(tool: Tool | AutogenToolSchema) -> ToolSchema:
    """One tool (or AutoGen tool schema) as the schema offered to the model."""
    return schema_to_nex(tool.schema if isinstance(tool, Tool) else tool)


def schema_to_nex(schema: Mapping[str, Any]) -> ToolSchema:
    """An AutoGen tool schema (a dict) as the schema offered to the model."""
    return ToolSchema(
        name=schema["name"],
        description=schema.get("description", "") or "",
        parameters=dict(schema.get("parameters") or {"type": "object", "properties": {}}),
    )


def to_nex_response(result: CreateResult, notes: dict[str, Any] | None = None) -> LLMResponse:
    """A ``CreateResult`` as the assistant message the model returned (validated in one pass:
    every recorded model call goes through here). ``notes`` (the LLM step's metadata) gets what
    a non-nex client dropped of the call's tokens, under ``TOKEN_CAPTURE_KEY``."""
    content, thought = result.content, result.thought
    message: dict[str, Any]
    if isinstance(content, str):
        message = {"role": "assistant", "content": content, "reasoning": thought}
    else:
        calls = [
            {"id": c.id, "function": {"name": c.name, "arguments": _arguments(c.arguments)}}
            for c in content
        ]
        message = {"role": "assistant", "content": thought or None, "tool_calls": calls or None}
    usage = result.usage
    usage_data: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }
    cached = cached_tokens_of(result)
    if cached is not None:
        usage_data["cached_tokens"] = cached
    tokens = tokens_of(result)
    if tokens is None and result.logprobs:
        tokens = _client_tokens(result, notes)
    return LLMResponse.model_validate(
        {
            "message": message,
            "finish_reason": _FINISH_TO_NEX.get(result.finish_reason, result.finish_reason),
            "usage": usage_data,
            "tokens": tokens,
        }
    )


def _client_tokens(result: CreateResult, notes: dict[str, Any] | None) -> Tokens | None:
    """What a non-nex client (AutoGen's OpenAI client) kept of the call's tokens: per-token
    logprobs, the ids only as vLLM's ``token_id:N`` tokens, top-k logprobs without their tokens;
    never the prompt ids nor cached-token usage (``RequestUsage`` has no field for it)."""
    entries = result.logprobs or []
    dropped = ["cached_tokens"]
    wrote = result.usage.completion_tokens
    if wrote and len(entries) != wrote:
        # Its stream keeps only the last chunk's entries: a part must not pass for the whole.
        note = capture_note("autogen:openai", None, also_dropped=["logprobs", *dropped])
        note["incomplete"] = f"{len(entries)} logprob entries for {wrote} completion tokens"
        if notes is not None:
            notes[TOKEN_CAPTURE_KEY] = note
        return None
    content = [{"token": e.token, "logprob": e.logprob} for e in entries]
    top = [[t.logprob for t in e.top_logprobs or []] for e in entries]
    if any(top):
        dropped.append("top_logprobs.token_ids")
    tokens, note = read_client_tokens("autogen:openai", content, also_dropped=dropped)
    if notes is not None:
        notes[TOKEN_CAPTURE_KEY] = note
    if tokens is not None and any(top):
        tokens.top_logprobs = TopLogprobs(logprobs=top)
    return tokens


_TOKENS_ATTR = "_nex_tokens"
"""Where a bridged ``CreateResult`` keeps the nex model's token record for the recorder.

``CreateResult`` has no field for token ids (its ``logprobs`` holds OpenAI's per-token text
entries, and AutoGen ignores unknown fields), so the record rides as a plain instance attribute:
pydantic leaves it out of ``model_dump``, ``repr`` and ``==``, so AutoGen and the app see the
result they always saw, while ``model_copy`` keeps it."""


def attach_tokens(result: CreateResult, tokens: Tokens | None) -> CreateResult:
    """``result`` carrying ``tokens`` for :func:`tokens_of` (nothing is added for ``None``)."""
    if tokens is not None:
        object.__setattr__(result, _TOKENS_ATTR, tokens)
    return result


_CACHED_ATTR = "_nex_cached_tokens"
"""Likewise for ``Usage.cached_tokens``: ``RequestUsage`` has only prompt and completion counts."""


def attach_cached(result: CreateResult, cached: int | None) -> CreateResult:
    if cached is not None:
        object.__setattr__(result, _CACHED_ATTR, cached)
    return result


def cached_tokens_of(result: CreateResult) -> int | None:
    """Cached prompt tokens the bridge attached to ``result``, or a usage object's own
    ``cached_tokens`` (clients that subclass ``RequestUsage`` to keep it)."""
    cached = result.__dict__.get(_CACHED_ATTR)
    if cached is None:
        cached = getattr(result.usage, "cached_tokens", None)
    return cached if isinstance(cached, int) and not isinstance(cached, bool) else None


def tokens_of(result: CreateResult) -> Tokens | None:
    """The token record the bridge attached to ``result``, if any."""
    tokens = result.__dict__.get(_TOKENS_ATTR)
    return tokens if isinstance(tokens, Tokens) else None


def _arguments(value: Any) -> str:
    """Arguments as ``ToolCall.make`` writes them (AutoGen declares a string; a dict is dumped)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def to_create_result(response: LLMResponse) -> CreateResult:
    """A nex response as AutoGen's ``CreateResult`` (tool calls with their ids and raw JSON)."""
    message = response.message
    text = message.text() or None
    usage = response.usage or Usage()
    request_usage = RequestUsage(
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens
    )
    if message.tool_calls:
        calls = [
            FunctionCall(id=c.id, name=c.function.name, arguments=c.function.arguments)
            for c in message.tool_calls
        ]
        result = CreateResult(
            finish_reason="function_calls",
            content=calls,
            usage=request_usage,
            cached=False,
            thought=text or message.reasoning,
        )
        return attach_cached(attach_tokens(result, response.tokens), usage.cached_tokens)
    finish = _FINISH_FROM_NEX.get(response.finish_reason or "stop", "unknown")
    result = CreateResult(
        finish_reason=finish,  # type: ignore[arg-type]
        content=text or "",
        usage=request_usage,
        cached=False,
        thought=message.reasoning,
    )
    return attach_cached(attach_tokens(result, response.tokens), usage.cached_tokens)


def answer_of(message: Any) -> tuple[str, Any]:
    """An agent's answer as nex records it: ``(text, structured value)``. A
    ``StructuredMessage`` (an agent with ``output_content_type``) is its content as JSON, the
    text that JSON written out (as every adapter writes it); any other message is its model
    text, with no structured value."""
    from autogen_agentchat.messages import StructuredMessage

    if isinstance(message, StructuredMessage):
        value = message.content.model_dump(mode="json")
        return json.dumps(value, ensure_ascii=False), value
    return message.to_model_text(), None
