"""What an OpenAI-compatible server answers, read into an :class:`LLMResponse`.

Servers differ and some are broken, so nothing in an answer is trusted to have its documented
type: a field of the wrong type is a :class:`ModelError` naming the field and what it held
(never a ``TypeError`` or a pydantic ``ValidationError`` from deep inside). Arguments sent as a
JSON object rather than a string (Ollama does) are written back as JSON text.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from nex_core.errors import ModelError
from nex_core.trajectory.schema import LLMResponse, Message, ToolCall, Usage

_CHECK = "Check that the server speaks the chat.completions API."


def malformed(where: str, value: Any, expected: str, *, retryable: bool = False) -> ModelError:
    """The error for a field of the wrong type (``value`` shown short: it is the server's)."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ModelError(f"the server's answer has {where} = {shown} ({type(value).__name__}), "
                      f"not {expected}. {_CHECK}", retryable=retryable)


def no_choices() -> ModelError:
    return ModelError("the server answered with no choices; it may not support this model or "
                      "request. Check the model id and the server's logs.", retryable=True)


def optional_str(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise malformed(f"{where}.{key}", value, "a string")


def _count(raw: dict[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise malformed(f"{where}.{key}", value, "a whole number of tokens")
    return value


def usage_from_json(raw: Any, where: str = "usage") -> Usage | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise malformed(where, raw, "an object")
    prompt = _count(raw, "prompt_tokens", where)
    completion = _count(raw, "completion_tokens", where)
    total = _count(raw, "total_tokens", where) or prompt + completion
    details = raw.get("prompt_tokens_details")
    cached = None
    if details is not None:  # OpenAI's and vLLM's prompt-cache hits
        if not isinstance(details, dict):
            raise malformed(f"{where}.prompt_tokens_details", details, "an object")
        if details.get("cached_tokens") is not None:
            cached = _count(details, "cached_tokens", f"{where}.prompt_tokens_details")
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
        cached_tokens=cached,
    )


def reasoning_of(data: dict[str, Any]) -> str | None:
    # Reasoning servers return it beside the content under one of several names.
    for name in ("reasoning_content", "reasoning"):
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def arguments_text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    raise malformed(where, value, "a JSON string")


def _tool_calls(message: dict[str, Any], where: str) -> list[ToolCall]:
    raw = message.get("tool_calls")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise malformed(f"{where}.tool_calls", raw, "a list")
    calls = []
    for i, tc in enumerate(raw):
        at = f"{where}.tool_calls[{i}]"
        if not isinstance(tc, dict):
            raise malformed(at, tc, "an object")
        function = tc.get("function")
        if function is None:
            continue  # not a function call (a type this client does not run)
        if not isinstance(function, dict):
            raise malformed(f"{at}.function", function, "an object")
        call_id = optional_str(tc, "id", at) or f"call_{i + 1}"
        name = optional_str(function, "name", f"{at}.function") or ""
        arguments = arguments_text(function.get("arguments"), f"{at}.function.arguments")
        calls.append(ToolCall.make(call_id, name, arguments))
    return calls


def response_from_json(data: Any) -> LLMResponse:
    """A chat.completions JSON answer (parsed) as an :class:`LLMResponse` (first choice)."""
    if not isinstance(data, dict):
        raise ModelError(f"the server answered with {type(data).__name__} JSON, not a chat "
                         f"completion. {_CHECK}")
    if isinstance(data.get("error"), dict | str):
        raise ModelError(f"the server answered with an error: {error_text(data['error'])}",
                         retryable=True)
    choices = data.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise no_choices()
    choice = choices[0]
    message = choice.get("message")
    if message is None:
        message = {}
    if not isinstance(message, dict):
        raise malformed("choices[0].message", message, "an object")
    where = "choices[0].message"
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise malformed(f"{where}.content", content, "a string")
    calls = _tool_calls(message, where)
    finish = optional_str(choice, "finish_reason", "choices[0]")
    usage = usage_from_json(data.get("usage"))
    try:
        return LLMResponse(
            message=Message.assistant(content, calls or None, reasoning=reasoning_of(message)),
            finish_reason=finish,
            usage=usage,
        )
    except (ValidationError, TypeError, ValueError) as exc:  # content parts of unknown shapes
        raise ModelError(f"the server's answer is not a chat completion nex can read: "
                         f"{_first_line(exc)}. {_CHECK}") from None


def error_text(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
    return str(error)[:200]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def response_from_completion(completion: Any) -> LLMResponse:
    """A ``ChatCompletion`` (the SDK's typed answer) as an :class:`LLMResponse`."""
    dump = getattr(completion, "model_dump", None)
    return response_from_json(dump(mode="json") if callable(dump) else completion)
