"""LangChain messages ⇄ nex messages (OpenAI chat shape).

Both the model bridge (which hands LangChain's messages to a nex model) and the recorder (which
writes what LangChain sent and got back into a trajectory) need this one translation, so it lives
in one place and both sides of a comparison see the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.utils.function_calling import convert_to_openai_tool

from nex_core.models.token_capture import TOKEN_CAPTURE_KEY, read_client_tokens
from nex_core.trajectory._build import built, plain
from nex_core.trajectory.schema import (
    FunctionCall,
    LLMResponse,
    Message,
    ToolCall,
    ToolSchema,
    Usage,
)

TOKENS_KEY = "nex_tokens"
"""``response_metadata`` key under which the model bridge hands a nex model's token record
(``LLMResponse.tokens`` as plain JSON data) to the recorder: LangChain keeps the metadata on the
``AIMessage`` through ``invoke`` and stream merging, and the recorder only sees that message."""


def _content(value: Any) -> str | list[dict[str, Any]] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[dict[str, Any]] = []
        for part in value:
            parts.append({"type": "text", "text": part} if isinstance(part, str) else dict(part))
        return parts
    return str(value)


_encode = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(value, ensure_ascii=False)`` without building an encoder on every call."""


def _tool_call_data(call_id: str, name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
    """A tool call as ``ToolCall.make`` builds it (the same argument text), as data to validate
    together with its message: every recorded model answer goes through here."""
    text = arguments if isinstance(arguments, str) else _encode(arguments)
    return {"id": call_id, "function": {"name": name, "arguments": text}}


def _tool_calls_data(message: AIMessage) -> list[dict[str, Any]]:
    calls = [
        _tool_call_data(str(tc.get("id") or ""), tc["name"], tc.get("args") or {})
        for tc in message.tool_calls
    ]
    for bad in message.invalid_tool_calls:
        calls.append(
            _tool_call_data(str(bad.get("id") or ""), bad.get("name") or "", bad.get("args") or "")
        )
    return calls


def tool_calls_of(message: AIMessage) -> list[ToolCall]:
    """The message's tool calls: valid ones with JSON arguments, invalid ones with raw text."""
    return [ToolCall.model_validate(call) for call in _tool_calls_data(message)]


def _assistant_data(message: AIMessage) -> dict[str, Any]:
    """An ``AIMessage`` as the fields of a nex assistant message."""
    content = _content(message.content)
    reasoning = message.additional_kwargs.get("reasoning_content")
    calls = _tool_calls_data(message)
    if content == "" and calls:
        content = None
    return {
        "role": "assistant",
        "content": content,
        "name": message.name,
        "tool_calls": calls or None,
        "reasoning": reasoning if isinstance(reasoning, str) else None,
    }


def content_text(value: Any) -> str:
    """The text of a message's content, as ``to_nex(message).text()`` gives it (parts joined),
    without building the message."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p if isinstance(p, str) else str(dict(p).get("text", "")) for p in value)
    return str(value)


def to_nex(message: BaseMessage) -> Message:
    """One LangChain message as a nex message."""
    if isinstance(message, AIMessage):
        return Message.model_validate(_assistant_data(message))
    content = _content(message.content)
    name = message.name
    if isinstance(message, SystemMessage):
        return Message(role="system", content=content)
    if isinstance(message, HumanMessage):
        return Message(role="user", content=content, name=name)
    if isinstance(message, ToolMessage):
        return Message(role="tool", content=content, tool_call_id=message.tool_call_id)
    # ChatMessage or a custom class: map its role where it has one.
    role = getattr(message, "role", None) or message.type
    role = {"human": "user", "ai": "assistant"}.get(role, role)
    if role not in {"system", "user", "assistant", "tool"}:
        role = "user"
    return Message.model_validate({"role": role, "content": content, "name": name})


def to_nex_all(messages: Iterable[BaseMessage]) -> list[Message]:
    return [to_nex(m) for m in messages]


# --------------------------------------------------------------------------- records as recorded
# The recorder converts every message and answer of a run: built here without pydantic's
# validator when every value is already what validation would keep (plain strings, ints), the
# same record (fields, order, the names given) that ``to_nex``/``response_of`` validate, which
# ``tests/test_lg_fast_records.py`` checks; anything else goes through them.

_USER_GIVEN = frozenset({"role", "content", "name"})
_SYSTEM_GIVEN = frozenset({"role", "content"})
_TOOL_GIVEN = frozenset({"role", "content", "tool_call_id"})
_AI_GIVEN = frozenset({"role", "content", "name", "tool_calls", "reasoning"})
_CALL_GIVEN = frozenset({"id", "function"})
_FUNCTION_GIVEN = frozenset({"name", "arguments"})
_RESPONSE_GIVEN = frozenset({"message", "finish_reason", "usage", "tokens"})


def _message(
    role: str,
    content: Any,
    name: Any,
    calls: Any,
    call_id: Any,
    reasoning: Any,
    given: frozenset[str],
) -> Message:
    record: Message = built(
        Message,
        {
            "role": role,
            "content": content,
            "name": name,
            "tool_calls": calls,
            "tool_call_id": call_id,
            "reasoning": reasoning,
        },
        given,
    )
    return record


def _fast_calls(data: list[dict[str, Any]]) -> list[ToolCall] | None:
    calls = []
    for call in data:
        function = call["function"]
        if type(function["name"]) is not str or type(function["arguments"]) is not str:
            return None
        calls.append(
            built(
                ToolCall,
                {
                    "id": call["id"],
                    "type": "function",
                    "function": built(FunctionCall, dict(function), _FUNCTION_GIVEN),
                },
                _CALL_GIVEN,
            )
        )
    return calls


def _fast_assistant(message: AIMessage) -> Message | None:
    data = _assistant_data(message)
    content, name, reasoning = data["content"], data["name"], data["reasoning"]
    if not (plain(content) and plain(name) and plain(reasoning)):
        return None
    calls = None
    if data["tool_calls"] is not None:
        calls = _fast_calls(data["tool_calls"])
        if calls is None:
            return None
    return _message("assistant", content, name, calls, None, reasoning, _AI_GIVEN)


def recorded_message(message: BaseMessage) -> Message:
    """``to_nex(message)``, without validation for the common kinds of message."""
    kind, content = type(message), message.content
    if type(content) is str:
        if kind is HumanMessage and plain(message.name):
            return _message("user", content, message.name, None, None, None, _USER_GIVEN)
        if kind is SystemMessage:
            return _message("system", content, None, None, None, None, _SYSTEM_GIVEN)
        call_id = getattr(message, "tool_call_id", None)
        if kind is ToolMessage and type(call_id) is str:
            return _message("tool", content, None, None, call_id, None, _TOOL_GIVEN)
    if isinstance(message, AIMessage) and kind is AIMessage:
        fast = _fast_assistant(message)
        if fast is not None:
            return fast
    return to_nex(message)


def _fast_usage(data: dict[str, Any]) -> Usage | None:
    """``Usage`` of ``_usage_data``'s dict (counts made by ``int()``; a cached count checked)."""
    if "cached_tokens" in data and type(data["cached_tokens"]) is not int:
        return None
    fields = dict(data)
    fields.setdefault("cached_tokens", None)
    usage: Usage = built(Usage, fields, frozenset(data))
    return usage


def to_langchain(message: Message) -> BaseMessage:
    """One nex message as a LangChain message (used to carry histories and build answers)."""
    content: Any = message.content if message.content is not None else ""
    if message.role == "system":
        return SystemMessage(content=content)
    if message.role == "user":
        return HumanMessage(content=content, name=message.name)
    if message.role == "tool":
        return ToolMessage(content=content, tool_call_id=message.tool_call_id or "")
    return ai_message(message)


def ai_message(message: Message, *, chunk: bool = False) -> AIMessage:
    """A nex assistant message as an ``AIMessage``; unparsable arguments become invalid calls."""
    valid: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for tc in message.tool_calls or []:
        try:
            args = tc.parsed_arguments()
        except ValueError:
            invalid.append(
                {
                    "type": "invalid_tool_call",
                    "id": tc.id,
                    "name": tc.name,
                    "args": tc.function.arguments,
                    "error": "arguments are not a JSON object",
                }
            )
            continue
        valid.append({"type": "tool_call", "id": tc.id, "name": tc.name, "args": args})
    extra: dict[str, Any] = {}
    if message.reasoning:
        extra["reasoning_content"] = message.reasoning
    fields: dict[str, Any] = {
        "content": message.content if message.content is not None else "",
        "tool_calls": valid,
        "invalid_tool_calls": invalid,
        "additional_kwargs": extra,
        "name": message.name,
    }
    return AIMessageChunk(**fields) if chunk else AIMessage(**fields)


def response_to_ai(response: LLMResponse, *, model_id: str | None) -> AIMessage:
    """A nex model's response as the ``AIMessage`` LangChain expects from a chat model."""
    message = ai_message(response.message)
    usage = response.usage
    if usage is not None:
        message.usage_metadata = {
            "input_tokens": usage.prompt_tokens,
            "output_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
        if usage.cached_tokens is not None:  # where LangChain's own OpenAI client puts it
            message.usage_metadata["input_token_details"] = {"cache_read": usage.cached_tokens}
    message.response_metadata = {"finish_reason": response.finish_reason, "model_name": model_id}
    if response.tokens is not None:
        message.response_metadata[TOKENS_KEY] = response.tokens.model_dump(exclude_none=True)
    return message


def _usage_data(raw: Any) -> dict[str, Any]:
    """LangChain ``usage_metadata`` as nex usage: cached prompt tokens are
    ``input_token_details.cache_read`` (what ``ChatOpenAI`` reads from
    ``prompt_tokens_details.cached_tokens``)."""
    usage = {
        "prompt_tokens": int(raw.get("input_tokens", 0)),
        "completion_tokens": int(raw.get("output_tokens", 0)),
        "total_tokens": int(raw.get("total_tokens", 0)),
    }
    details = raw.get("input_token_details")
    cached = details.get("cache_read") if isinstance(details, dict) else None
    if isinstance(cached, int) and not isinstance(cached, bool):
        usage["cached_tokens"] = cached
    return usage


def _client_tokens(meta: dict[str, Any], notes: dict[str, Any] | None) -> dict[str, Any] | None:
    """The token record of an answer: the bridge's own (a nex model's), else what a LangChain
    OpenAI client kept (``logprobs``, ids only as ``token_id:N`` tokens), with a note in
    ``notes`` (the step's metadata) of what it dropped: it never keeps ``prompt_token_ids``."""
    tokens = meta.get(TOKENS_KEY)
    if isinstance(tokens, dict):
        return tokens
    logprobs = meta.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return None
    source = f"langchain:{meta.get('model_provider') or 'unknown'}"
    record, note = read_client_tokens(source, content)
    if notes is not None:
        notes[TOKEN_CAPTURE_KEY] = note
    return record.model_dump(exclude_none=True) if record is not None else None


def response_of(
    message: BaseMessage,
    generation_info: dict[str, Any] | None = None,
    notes: dict[str, Any] | None = None,
) -> LLMResponse:
    """What a LangChain chat model answered, as a nex response (finish reason, usage and token
    record kept); ``notes`` (the LLM step's metadata) gets what the client dropped of the
    tokens under ``TOKEN_CAPTURE_KEY``."""
    meta = dict(getattr(message, "response_metadata", None) or {})
    meta.update(generation_info or {})
    finish = meta.get("finish_reason") or meta.get("stop_reason")
    raw = getattr(message, "usage_metadata", None)
    usage = _usage_data(raw) if raw else None
    tokens = _client_tokens(meta, notes)
    if type(message) is AIMessage and tokens is None and plain(finish):
        nex_message = _fast_assistant(message)
        usage_record = _fast_usage(usage) if usage is not None else None
        if nex_message is not None and (usage_record is not None or usage is None):
            response: LLMResponse = built(
                LLMResponse,
                {
                    "message": nex_message,
                    "finish_reason": finish,
                    "usage": usage_record,
                    "tokens": None,
                },
                _RESPONSE_GIVEN,
            )
            return response
    nex: Message | dict[str, Any]
    if isinstance(message, AIMessage):
        nex = _assistant_data(message)  # validated with the response, in one pass
    else:
        nex = to_nex(message)
        if nex.role != "assistant":
            nex = Message.assistant(nex.text())
    return LLMResponse.model_validate(
        {"message": nex, "finish_reason": finish, "usage": usage, "tokens": tokens}
    )


def tool_schema(tool: Any) -> ToolSchema:
    """A LangChain tool, OpenAI tool dict or function as the schema the model is offered."""
    spec = tool if _is_openai_tool(tool) else convert_to_openai_tool(tool)
    fn = spec["function"]
    params = fn.get("parameters") or {"type": "object", "properties": {}}
    return ToolSchema.model_construct(
        name=str(fn["name"]), description=str(fn.get("description") or ""), parameters=dict(params)
    )


def tool_schemas(tools: Sequence[Any] | None) -> list[ToolSchema]:
    return [tool_schema(t) for t in tools or []]


def _is_openai_tool(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "function" and "function" in value


def final_text(messages: Sequence[BaseMessage]) -> str | None:
    """The answer a run ended with: the last message's text if an assistant or tool wrote it."""
    if not messages:
        return None
    last = messages[-1]
    if isinstance(last, AIMessage | ToolMessage):
        return content_text(last.content)
    return None


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
