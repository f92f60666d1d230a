"""Agent Framework's chat types ↔ nex's OpenAI-shaped records.

One conversion serves the model bridge (what a nex model is asked) and the recorder (what a
trajectory says the model was asked), so the two never disagree. Agent Framework passes an
agent's ``instructions`` beside the messages (in the request options); its own OpenAI clients
send them as the first system message, and so does this conversion.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import compress, count
from operator import is_not
from typing import Any

from agent_framework import ChatResponse, ChatResponseUpdate, Content, FunctionTool, Message

from nex_core.runtime.structured import response_format
from nex_core.runtime.tools import ANY_OBJECT
from nex_core.trajectory import _build
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    Tokens,
    ToolCall,
    ToolSchema,
    Usage,
)
from nex_core.trajectory.schema import Message as NexMessage

_SAMPLING = ("temperature", "top_p", "max_tokens", "seed")
_BOUND = 64
"""Most instructions and tools a bounded :class:`ConversionCache` keeps before starting over."""


def result_text(result: Any) -> str:
    """A function result's text as the model is shown it (Agent Framework keeps results as
    lists of contents)."""
    if type(result) is list and len(result) == 1:
        # A tool's result as the framework parses it: one text content (what the join below
        # gives for it, without a generator a call).
        item = result[0]
        if type(item) is Content and type(item.text) is str:
            return item.text
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    if isinstance(result, Content):
        return result.text or ""
    if isinstance(result, list):
        return "".join(result_text(item) for item in result)
    return str(result)


def _arguments(value: str | Mapping[str, Any] | None) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    return json.dumps(dict(value), ensure_ascii=False)


class ConversionCache:
    """Conversions of the messages and tools one run's requests share.

    Agent Framework's function loop sends the same ``Message`` and tool objects again with every
    request of a run; converting each once keeps recording linear in the run's length, and the
    requests of a trajectory then share their message records (which its secret scrub visits
    once). Entries keep their source object alive, so an ``id`` is never reused while cached.

    ``bounded``: a cache that outlives one run (the model bridge's, one per client) keeps only
    the conversation of its latest request, so a long-lived client does not keep every message
    and tool it ever converted.
    """

    def __init__(self, *, bounded: bool = False) -> None:
        self.bounded = bounded
        self.messages: dict[int, tuple[Message, list[NexMessage], list[Content], int]] = {}
        """id(message) → (message, its conversion, its contents list and length when
        converted): a message whose contents were replaced or extended since is converted
        again (the function loop edits an answer's contents for approvals)."""
        self.tools: dict[int, tuple[Any, ToolSchema]] = {}
        self.systems: dict[str, NexMessage] = {}
        """Instructions → their system message, one object for every request that sends them
        (so consecutive requests share their whole prefix, which the scrub skips in C)."""
        self.last: tuple[list[Message], list[NexMessage], list[int]] = ([], [], [])
        """The previous request's messages, their conversion, and where each message's
        conversion ends in it: a request that extends the previous one converts only the
        rest (the function loop resends the run's messages with every request)."""

    def remember(self, message: Message, converted: NexMessage) -> None:
        """``converted`` is what :func:`to_nex_messages` makes of ``message`` (an answer the
        recorder has as the model gave it): the next request that resends it reuses it."""
        contents = message.contents
        self.messages[id(message)] = (message, [converted], contents, len(contents))


def to_nex_messages(
    messages: Sequence[Message],
    instructions: str | None = None,
    cache: ConversionCache | None = None,
) -> list[NexMessage]:
    """Agent Framework messages as the OpenAI-shaped list a model receives."""
    if cache is None:
        plain = [NexMessage.system(instructions)] if instructions else []
        for message in messages:
            plain.extend(_one(message))
        return plain
    system = cache.systems.get(instructions) if instructions else None
    if instructions and system is None:
        if cache.bounded and len(cache.systems) >= _BOUND:
            cache.systems.clear()
        system = cache.systems[instructions] = NexMessage.system(instructions)
    skip = 0 if system is None else 1
    given, converted, ends = cache.last
    shared = _shared_prefix(messages, given)
    if cache.bounded and not shared:  # another conversation: forget the previous one's
        cache.messages.clear()
    out: list[NexMessage] = [] if system is None else [system]
    if shared:
        out += converted[: ends[shared - 1]]
    new_ends = ends[:shared]
    known = cache.messages
    for message in messages[shared:]:
        hit = known.get(id(message))
        contents = message.contents
        if (
            hit is None
            or hit[0] is not message
            or hit[2] is not contents
            or hit[3] != len(contents)
        ):
            hit = known[id(message)] = (message, _one(message), contents, len(contents))
        out.extend(hit[1])
        new_ends.append(len(out) - skip)
    cache.last = (list(messages), out[skip:], new_ends)
    return out


def _shared_prefix(messages: Sequence[Message], previous: list[Message]) -> int:
    """How many leading messages are the very objects the previous request began with (the
    comparison runs in C)."""
    n = min(len(messages), len(previous))
    return next(compress(count(), map(is_not, messages, previous)), n)


def _one(message: Message) -> list[NexMessage]:
    role = str(message.role)
    texts = [c.text for c in message.contents if c.type == "text" and c.text is not None]
    text = "".join(texts)
    if role == "tool":
        return [
            _build.tool_message(str(c.call_id or ""), str(result_text(c.result)))
            for c in message.contents
            if c.type == "function_result"
        ]
    if role == "assistant":
        calls = [
            ToolCall.make(c.call_id or "", c.name or "", _arguments(c.arguments))
            for c in message.contents
            if c.type == "function_call"
        ]
        reasoning = "".join(
            c.text for c in message.contents if c.type == "text_reasoning" and c.text
        )
        return [NexMessage.assistant(text or None, calls or None, reasoning=reasoning or None)]
    if role == "system":
        return [NexMessage.system(text)]
    return [NexMessage.user(text, name=message.author_name or None)]


def _schema(tool: FunctionTool) -> ToolSchema:
    return ToolSchema(
        name=tool.name,
        description=tool.description or "",
        parameters=tool.parameters() or dict(ANY_OBJECT),
    )


def to_nex_tools(
    tools: Sequence[Any] | None, cache: ConversionCache | None = None
) -> list[ToolSchema]:
    """The function tools a request offers, as the schemas the model is shown."""
    out: list[ToolSchema] = []
    for tool in tools or ():
        if not isinstance(tool, FunctionTool):
            continue
        if cache is None:
            out.append(_schema(tool))
            continue
        hit = cache.tools.get(id(tool))
        if hit is None or hit[0] is not tool:
            if cache.bounded and len(cache.tools) >= _BOUND:
                cache.tools.clear()
            hit = cache.tools[id(tool)] = (tool, _schema(tool))
        out.append(hit[1])
    return out


def request_params(options: Mapping[str, Any]) -> dict[str, Any]:
    """Sampling and tool-use parameters of a request, named as nex records them."""
    out = {k: options[k] for k in _SAMPLING if options.get(k) is not None}
    if options.get("allow_multiple_tool_calls") is False and options.get("tools"):
        out["parallel_tool_calls"] = False
    choice = options.get("tool_choice")
    if choice is not None and choice != "auto":
        out["tool_choice"] = choice if isinstance(choice, str) else dict(choice)
    if options.get("response_format") is not None:
        from nex_agent_framework.structured import schema_of_format

        schema = schema_of_format(options["response_format"])
        if schema is not None:
            out["response_format"] = response_format(schema)
    return out


def to_nex_request(
    messages: Sequence[Message], options: Mapping[str, Any], cache: ConversionCache | None = None
) -> LLMRequest:
    """The request as a nex model receives it (and a trajectory records it)."""
    instructions = options.get("instructions")
    system = instructions if isinstance(instructions, str) else None
    # Built without validation: every part is a new list or dict of records made here (the
    # bridge and the recorder convert each model call's request, so this is per step).
    return _build.request(
        to_nex_messages(messages, system, cache),
        to_nex_tools(options.get("tools"), cache),
        request_params(options),
    )


TOKENS_KEY = "nex_tokens"
"""``additional_properties`` key under which the model bridge hands a nex model's token record
(``LLMResponse.tokens`` as plain JSON data) to the recorder; Agent Framework merges an update's
properties into the response it builds from a stream, so streamed answers keep it too."""


def _token_properties(response: LLMResponse) -> dict[str, Any] | None:
    if response.tokens is None:
        return None
    return {TOKENS_KEY: response.tokens.model_dump(exclude_none=True)}


def _tokens_of(response: ChatResponse) -> Tokens | None:
    data = (response.additional_properties or {}).get(TOKENS_KEY)
    return Tokens.model_validate(data) if isinstance(data, Mapping) else None


def _usage(usage: Any) -> Usage | None:
    if not usage:
        return None
    prompt = int(usage.get("input_token_count") or 0)
    completion = int(usage.get("output_token_count") or 0)
    total = int(usage.get("total_token_count") or prompt + completion)
    # Agent Framework's name for the prompt tokens a provider served from its cache.
    cached = usage.get("cache_read_input_token_count")
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cached_tokens=None if cached is None else int(cached),
    )


def to_nex_response(response: ChatResponse) -> LLMResponse:
    """A chat response as nex records it: the assistant message (its tool calls included)."""
    replies = [m for m in response.messages if str(m.role) == "assistant"] or list(
        response.messages
    )
    text_parts: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[str] = []
    for message in replies:
        for c in message.contents:
            if c.type == "text" and c.text:
                text_parts.append(c.text)
            elif c.type == "function_call":
                calls.append(ToolCall.make(c.call_id or "", c.name or "", _arguments(c.arguments)))
            elif c.type == "text_reasoning" and c.text:
                reasoning.append(c.text)
    finish = response.finish_reason
    return LLMResponse(
        message=NexMessage.assistant(
            "".join(text_parts) or None, calls or None, reasoning="".join(reasoning) or None
        ),
        finish_reason=str(finish) if finish is not None else ("tool_calls" if calls else "stop"),
        usage=_usage(response.usage_details),
        tokens=_tokens_of(response),
    )


def kept_as_given(response: LLMResponse) -> bool:
    """Whether the answer a nex model gave through the bridge converts back unchanged: then
    :func:`to_nex_response` of its :func:`to_chat_response` equals ``response``, and
    :func:`to_nex_messages` makes ``response.message`` of the answer a later request resends,
    so the recorder may keep the model's own record instead of converting twice. The few
    shapes the round trip normalises (empty text, content parts, a speaker name, no finish
    reason, a total of 0 beside other counts) are converted as before."""
    message = response.message
    content = message.content
    usage = response.usage
    return (
        message.role == "assistant"
        and message.name is None
        and message.tool_call_id is None
        and (content is None or (type(content) is str and content != ""))
        and message.reasoning != ""
        and message.tool_calls != []
        and response.finish_reason is not None
        and (
            usage is None
            or usage.total_tokens != 0
            or usage.prompt_tokens + usage.completion_tokens == 0
        )
    )


def _contents(message: NexMessage) -> list[Content]:
    contents: list[Content] = []
    if message.reasoning:
        contents.append(Content.from_text_reasoning(text=message.reasoning))
    text = message.text()
    if text:
        contents.append(Content.from_text(text))
    for call in message.tool_calls or []:
        contents.append(
            Content.from_function_call(
                call.id, call.function.name, arguments=call.function.arguments
            )
        )
    return contents


def _usage_details(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    details = {
        "input_token_count": usage.prompt_tokens,
        "output_token_count": usage.completion_tokens,
        "total_token_count": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        details["cache_read_input_token_count"] = usage.cached_tokens
    return details


def to_chat_response(response: LLMResponse, *, model: str | None = None) -> ChatResponse:
    """A nex model's response as Agent Framework's ``ChatResponse``."""
    # The nex answer rides along as the provider's raw representation (Agent Framework's
    # field for it): the light recording path keeps it instead of converting back.
    return ChatResponse(
        messages=[Message("assistant", _contents(response.message))],
        finish_reason=response.finish_reason,  # type: ignore[arg-type]
        usage_details=_usage_details(response.usage),  # type: ignore[arg-type]
        model=model,
        additional_properties=_token_properties(response),
        raw_representation=response,
    )


def to_updates(
    response: LLMResponse, *, model: str | None = None, text: bool = True
) -> list[ChatResponseUpdate]:
    """The same response as the stream of updates a streaming client yields: the text (unless
    ``text`` is false: it was streamed already), then each tool call, then the finish reason
    and usage."""
    updates = [
        ChatResponseUpdate(role="assistant", contents=[content], model=model)
        for content in _contents(response.message)
        if text or content.type != "text"
    ]
    usage = _usage_details(response.usage)
    updates.append(
        ChatResponseUpdate(
            role="assistant",
            contents=[Content.from_usage(usage)] if usage else [],  # type: ignore[arg-type]
            finish_reason=response.finish_reason,  # type: ignore[arg-type]
            model=model,
            additional_properties=_token_properties(response),
        )
    )
    return updates
