"""What an Agents SDK model call holds, in nex's shapes, and back.

The SDK speaks the OpenAI Responses item format (``function_call``, ``function_call_output``,
output messages with content parts). nex records the OpenAI chat shape, so the input items are
converted with the SDK's own Chat Completions converter (``Converter.items_to_messages``): the
messages recorded are those the SDK itself would send to a chat endpoint. Tool schemas are the
SDK's too (``FunctionTool.params_json_schema``, ``Handoff.input_json_schema``), as sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from agents import FunctionTool, Handoff, ModelSettings, Tool
from agents.items import ModelResponse, TResponseInputItem
from agents.models.chatcmpl_converter import Converter
from agents.usage import Usage as SDKUsage
from openai.types.chat import ChatCompletionMessage
from openai.types.chat.chat_completion_message_tool_call import (
    ChatCompletionMessageFunctionToolCall,
    Function,
)
from openai.types.responses import ResponseOutputItem
from openai.types.responses.response_reasoning_item import ResponseReasoningItem

from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    Message,
    Tokens,
    ToolCall,
    ToolSchema,
    TopLogprobs,
    Usage,
)

_SETTINGS_RECORDED = (
    "temperature",
    "top_p",
    "max_tokens",
    "parallel_tool_calls",
    "tool_choice",
    "frequency_penalty",
    "presence_penalty",
    "seed",
)


def chat_message(raw: Any) -> Message:
    """One chat-completions message dict as a nex :class:`Message`."""
    role = raw.get("role")
    content = raw.get("content")
    if isinstance(content, list):
        if all(isinstance(p, dict) and p.get("type") == "text" for p in content):
            content = "".join(str(p.get("text", "")) for p in content)
        else:
            content = [dict(p) for p in content]
    if role in ("system", "developer"):
        return Message.system(content if isinstance(content, str) else json.dumps(content))
    if role == "tool":
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return Message.tool(str(raw.get("tool_call_id")), text)
    if role == "assistant":
        calls = [
            ToolCall.make(c["id"], c["function"]["name"], c["function"].get("arguments") or "")
            for c in raw.get("tool_calls") or []
            if c.get("type", "function") == "function"
        ]
        reasoning = raw.get("reasoning_content") or raw.get("reasoning")
        return Message.assistant(
            content or None, calls or None, reasoning=reasoning if reasoning else None
        )
    return Message(role="user", content=content, name=raw.get("name"))


def input_messages(
    system_instructions: str | None, items: str | Sequence[TResponseInputItem]
) -> list[Message]:
    """The system prompt and input items as the chat messages a model is sent."""
    chat = Converter.items_to_messages(list(items) if not isinstance(items, str) else items)
    messages = [chat_message(m) for m in chat]
    if system_instructions:
        messages.insert(0, Message.system(system_instructions))
    return messages


class InputCache:
    """Converts one agent's model inputs, reusing the previous call's messages when the input
    extends the previous input.

    The runner sends each call the whole conversation so far: converting it anew every call
    costs time quadratic in the run's length, and gives every request new message objects
    (which the secret scrub and the sink then compare one by one). The SDK's converter keeps
    no state across a tool output or a user, system or developer message (it flushes the
    assistant message and drops pending reasoning there), so when the previous input ended with
    one of those and the new input begins with the same items, converting only the new items
    gives exactly the messages converting all of them would.
    """

    __slots__ = ("_last", "_ordered", "_schemas", "_system")

    def __init__(self, *, ordered_results: bool = False) -> None:
        self._ordered = ordered_results
        """Put each batch's tool results in the order of the model's calls (see
        :func:`order_results`): for a nex model the adapter drives, not for an app's own."""
        self._last: tuple[list[Any], list[Message]] = ([], [])
        self._system: Message | None = None
        self._schemas: dict[int, tuple[Any, ToolSchema]] = {}

    def messages(
        self, system_instructions: str | None, items: str | Sequence[TResponseInputItem]
    ) -> list[Message]:
        if isinstance(items, str):
            return input_messages(system_instructions, items)
        given = list(items)
        before, converted = self._last  # one read: another thread may replace it meanwhile
        n = len(before)
        if n and len(given) >= n and _ends_clean(before[-1]) and given[:n] == before:
            fresh = Converter.items_to_messages(given[n:])
            messages = [*converted, *map(chat_message, fresh)]
            if self._ordered:
                order_results(messages, len(converted))
        else:
            messages = [chat_message(m) for m in Converter.items_to_messages(given)]
            if self._ordered:
                order_results(messages, 0)
        self._last = (given, messages)
        if not system_instructions:
            return list(messages)
        system = self._system
        if system is None or system.content != system_instructions:
            system = self._system = Message.system(system_instructions)
        return [system, *messages]

    def schema(self, tool: Tool | Handoff[Any, Any]) -> ToolSchema:
        """The tool's schema, built once per tool object (the SDK passes the same ones)."""
        hit = self._schemas.get(id(tool))
        if hit is not None and hit[0] is tool:
            return hit[1]
        schema = handoff_schema(tool) if isinstance(tool, Handoff) else tool_schema(tool)
        self._schemas[id(tool)] = (tool, schema)
        return schema


_CLEAN_ROLES = frozenset({"user", "system", "developer"})


def order_results(messages: list[Message], start: int) -> None:
    """Sort each run of tool results from ``start`` on (and the run ``start`` falls in) by the
    order of the assistant's calls, in place. A resumed run whose call inside an agent called as
    a tool waited gets that call's result from the SDK after the results of its batch's other
    calls; the native runtime, and every run that did not pause, keep the model's order."""
    i = max(start - 1, 0)
    while i > 0 and messages[i].role == "tool":
        i -= 1
    while i < len(messages):
        calls = messages[i].tool_calls if messages[i].role == "assistant" else None
        j = i + 1
        while j < len(messages) and messages[j].role == "tool":
            j += 1
        if calls and j - i > 2:
            rank = {c.id: k for k, c in enumerate(calls)}
            block = messages[i + 1 : j]
            block.sort(key=lambda m: rank.get(m.tool_call_id or "", len(rank)))
            messages[i + 1 : j] = block
        i = j


def _ends_clean(item: Any) -> bool:
    """Whether the converter's state is reset after ``item`` (see :class:`InputCache`)."""
    if not isinstance(item, dict):
        return False
    kind = item.get("type")
    if kind == "function_call_output":
        return True
    return kind in (None, "message") and item.get("role") in _CLEAN_ROLES


def tool_schema(tool: Tool) -> ToolSchema:
    """A tool as the model is offered it. Hosted tools (web search, code interpreter ...) have no
    function schema; they are recorded by name with their type as the description."""
    if isinstance(tool, FunctionTool):
        return ToolSchema(
            name=tool.name, description=tool.description or "", parameters=tool.params_json_schema
        )
    name = getattr(tool, "name", None) or type(tool).__name__
    return ToolSchema(name=str(name), description=f"hosted tool: {type(tool).__name__}")


def handoff_schema(handoff: Handoff[Any, Any]) -> ToolSchema:
    return ToolSchema(
        name=handoff.tool_name,
        description=handoff.tool_description or "",
        parameters=handoff.input_json_schema,
    )


def request_params(settings: ModelSettings) -> dict[str, Any]:
    """The request parameters that are set (sampling, parallel calls, tool choice)."""
    out: dict[str, Any] = {}
    for key in _SETTINGS_RECORDED:
        value = getattr(settings, key, None)
        if value is not None:
            out[key] = value if isinstance(value, str | int | float | bool) else str(value)
    if settings.extra_args:
        out.update({k: v for k, v in settings.extra_args.items() if k not in out})
    return out


def llm_request(
    system_instructions: str | None,
    items: str | Sequence[TResponseInputItem],
    settings: ModelSettings,
    tools: Iterable[Tool],
    handoffs: Iterable[Handoff[Any, Any]],
    cache: InputCache | None = None,
) -> LLMRequest:
    """Everything one ``Model.get_response`` call was given, as nex records a request (with
    ``cache``, converted incrementally: see :class:`InputCache`)."""
    if cache is None:
        schemas = [tool_schema(t) for t in tools] + [handoff_schema(h) for h in handoffs]
        messages = input_messages(system_instructions, items)
    else:
        schemas = [cache.schema(t) for t in tools] + [cache.schema(h) for h in handoffs]
        messages = cache.messages(system_instructions, items)
    return LLMRequest(messages=messages, tools=schemas, params=request_params(settings))


def llm_response(response: ModelResponse) -> LLMResponse:
    """A model's output items as one assistant message (text, tool calls, reasoning)."""
    items = [_output_dict(item) for item in response.output]
    reasoning = "".join(_reasoning_text(item) for item in response.output)
    calls: list[ToolCall] = []
    texts: list[str] = []
    for item in items:
        if item.get("type") == "function_call":
            calls.append(ToolCall.make(item["call_id"], item["name"], item.get("arguments") or ""))
        elif item.get("type") == "message":
            for part in item.get("content") or []:
                if part.get("type") == "output_text":
                    texts.append(str(part.get("text", "")))
                elif part.get("type") == "refusal":
                    texts.append(str(part.get("refusal", "")))
    return LLMResponse(
        message=Message.assistant(
            "".join(texts) if texts else None, calls or None, reasoning=reasoning or None
        ),
        finish_reason="tool_calls" if calls else "stop",
        usage=_usage(response.usage),
        tokens=_logprobs(response.output),
    )


def _usage(usage: SDKUsage | None) -> Usage | None:
    """The SDK's usage; ``cached_tokens`` when the server reported some (the SDK reads the
    chat endpoint's ``prompt_tokens_details.cached_tokens`` into ``input_tokens_details`` and
    makes an absent value 0, so 0 cannot be told from "not reported" and is left out)."""
    if usage is None or not usage.total_tokens:
        return None
    details = getattr(usage, "input_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or None
    return Usage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cached_tokens=cached,
    )


def _logprobs(output: Sequence[Any]) -> Tokens | None:
    """What the SDK keeps of a model's token-level output: the logprobs of a text answer
    (``ModelSettings(top_logprobs=N)``; on ``output_text`` parts, with each token's text and its
    top candidates). It keeps no token ids (a server's ``prompt_token_ids`` / ``token_ids`` are
    dropped with the rest of the unknown fields) and no logprobs of tool-call turns."""
    chosen: list[float] = []
    top: list[list[float]] = []
    top_text: list[list[str]] = []
    for item in output:
        for part in getattr(item, "content", None) or ():
            for lp in getattr(part, "logprobs", None) or ():
                chosen.append(float(lp.logprob))
                top.append([float(t.logprob) for t in lp.top_logprobs or ()])
                top_text.append([str(t.token) for t in lp.top_logprobs or ()])
    if not chosen:
        return None
    ranked = TopLogprobs(logprobs=top, tokens=top_text) if any(top) else None
    return Tokens(logprobs=chosen, top_logprobs=ranked)


def model_response(response: LLMResponse) -> ModelResponse:
    """A nex model's answer as the SDK's ``ModelResponse`` (built by the SDK's own converter)."""
    message = response.message
    calls: list[Any] = [
        ChatCompletionMessageFunctionToolCall(
            id=c.id,
            type="function",
            function=Function(name=c.function.name, arguments=c.function.arguments),
        )
        for c in message.tool_calls or []
    ]
    chat = ChatCompletionMessage(
        role="assistant", content=message.text() or None, tool_calls=calls or None
    )
    output: list[Any] = list(Converter.message_to_output_items(chat))
    if message.reasoning:
        output.insert(0, _reasoning_item(message.reasoning))
    usage = response.usage
    return ModelResponse(
        output=output,
        usage=SDKUsage(
            requests=1,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            total_tokens=usage.total_tokens if usage else 0,
        ),
        response_id=None,
    )


def _reasoning_item(text: str) -> ResponseReasoningItem:
    from openai.types.responses.response_reasoning_item import Summary

    return ResponseReasoningItem(
        id=f"rs_{uuid.uuid4().hex[:16]}",
        type="reasoning",
        summary=[Summary(type="summary_text", text=text)],
    )


def _reasoning_text(item: ResponseOutputItem | Any) -> str:
    if not isinstance(item, ResponseReasoningItem):
        return ""
    parts = [s.text for s in item.summary]
    parts += [c.text for c in item.content or []]
    return "".join(parts)


def _output_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    dumped = item.model_dump(exclude_unset=False)
    return dumped if isinstance(dumped, dict) else {}
