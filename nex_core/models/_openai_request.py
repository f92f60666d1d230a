"""What an OpenAI-compatible model sends: nex requests as chat.completions bodies."""

from __future__ import annotations

import inspect
from typing import Any

from openai.resources.chat.completions import AsyncCompletions

from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.schema import LLMRequest, Message

# Request fields the runtime or a caller may put in ``LLMRequest.params`` that are nex's own, or
# that this provider sets itself; they never go to the server as given.
_NEX_ONLY = frozenset({"agent", "tool_format", "model", "messages", "tools", "stream",
                       "stream_options", "timeout", "extra_headers", "extra_query"})
_TOOL_ONLY = ("tool_choice", "parallel_tool_calls")
_CREATE_KWARGS = frozenset(
    inspect.signature(AsyncCompletions.create).parameters
) - {"self", "extra_body"}


def openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """nex messages as chat.completions messages (``reasoning`` is nex's record, not sent)."""
    out = []
    for m in messages:
        content = m.content
        if type(content) is str and m.tool_calls is None:
            # The usual message (text, no calls) by hand: the same dict pydantic's dump gives,
            # field order included, at a fraction of its cost (it is most of a request's build).
            data: dict[str, Any] = {"role": m.role, "content": content}
            if m.name is not None:
                data["name"] = m.name
            if m.tool_call_id is not None:
                data["tool_call_id"] = m.tool_call_id
        else:
            data = m.model_dump(mode="json", exclude_none=True, exclude={"reasoning"})
            if m.role == "assistant" and "content" not in data:
                data["content"] = None
        out.append(data)
    return out


def request_kwargs(
    request: LLMRequest, model: str, defaults: dict[str, Any], tool_format: ToolFormat
) -> dict[str, Any]:
    """``chat.completions.create`` keyword arguments for ``request``.

    Request params override the model's sampling defaults. Parameters the SDK does not name
    (``top_k``, ``repetition_penalty`` ...) travel in ``extra_body``. Under a text tool format the
    runtime has already described the tools in the system prompt, so no ``tools`` are sent.
    """
    params = {**defaults, **request.params}
    extra_body = dict(params.pop("extra_body", None) or {})
    native = tool_format is ToolFormat.NATIVE and bool(request.tools)
    kwargs: dict[str, Any] = {"model": model, "messages": openai_messages(request.messages)}
    if native:
        kwargs["tools"] = [t.openai() for t in request.tools]
    for key, value in params.items():
        if key in _NEX_ONLY or key.startswith("nex_") or value is None:
            continue
        if key in _TOOL_ONLY and not native:
            continue
        if key in _CREATE_KWARGS:
            kwargs[key] = value
        else:
            extra_body[key] = value
    if extra_body:
        kwargs["extra_body"] = extra_body
    return kwargs


def request_body(
    request: LLMRequest, model: str, defaults: dict[str, Any], tool_format: ToolFormat
) -> dict[str, Any]:
    """The JSON body the SDK's ``create(**request_kwargs(...))`` sends, built directly:
    ``extra_body`` entries merged in last, as the SDK merges them."""
    kwargs = request_kwargs(request, model, defaults, tool_format)
    extra = kwargs.pop("extra_body", None)
    return {**kwargs, **extra} if extra else kwargs
