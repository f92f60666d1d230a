"""The records the recorder builds without validation are the ones validation makes.

``recorded_message`` and ``response_of`` build messages and answers with ``_build.built`` when
every value is plain; each case here is compared with the validated record: equal, the same
fields in the same order, the same "explicitly set" names, the same JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from nex_langgraph._messages import (
    _assistant_data,
    _usage_data,
    recorded_message,
    response_of,
    to_nex,
)
from pydantic import BaseModel

from nex_core.trajectory.schema import LLMResponse


def _same(built: Any, validated: Any) -> None:
    assert type(built) is type(validated)
    if isinstance(validated, BaseModel):
        assert list(built.__dict__) == list(validated.__dict__)
        assert built.__pydantic_fields_set__ == validated.__pydantic_fields_set__
        assert built.model_dump_json() == validated.model_dump_json()
        for name in validated.__dict__:
            _same(built.__dict__[name], validated.__dict__[name])
    elif isinstance(validated, list):
        assert len(built) == len(validated)
        for a, b in zip(built, validated, strict=True):
            _same(a, b)
    else:
        assert built == validated


CALLS = [{"id": "c1", "name": "add", "args": {"a": 1, "b": "é"}, "type": "tool_call"}]
BAD = [{"id": "c2", "name": "add", "args": "{not json", "error": "x", "type": "invalid_tool_call"}]

MESSAGES: list[BaseMessage] = [
    HumanMessage(content="hi"),
    HumanMessage(content="hi", name="ann"),
    SystemMessage(content="be brief", name="sys"),
    ToolMessage(content="5", tool_call_id="c1"),
    ToolMessage(content=[{"type": "text", "text": "5"}], tool_call_id="c1"),
    AIMessage(content="done"),
    AIMessage(content="done", name="lead"),
    AIMessage(content="", tool_calls=CALLS),
    AIMessage(content="also text", tool_calls=CALLS, invalid_tool_calls=BAD),
    AIMessage(content="x", additional_kwargs={"reasoning_content": "because"}),
    AIMessage(content=[{"type": "text", "text": "parts"}, "more"]),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: f"{m.type}-{str(m.content)[:12]}")
def test_recorded_message_is_the_validated_conversion(message: BaseMessage) -> None:
    _same(recorded_message(message), to_nex(message))


USAGES: list[dict[str, Any] | None] = [
    None,
    {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    {
        "input_tokens": 3,
        "output_tokens": 2,
        "total_tokens": 5,
        "input_token_details": {"cache_read": 1},
    },
]


@pytest.mark.parametrize("usage", USAGES)
@pytest.mark.parametrize("finish", [None, "stop", "tool_calls"])
@pytest.mark.parametrize("index", [5, 6, 7, 8, 9, 10])
def test_response_of_is_the_validated_response(
    index: int, finish: str | None, usage: dict[str, Any] | None
) -> None:
    message = MESSAGES[index].model_copy()
    assert isinstance(message, AIMessage)
    if usage is not None:
        message.usage_metadata = usage  # type: ignore[assignment]
    message.response_metadata = {"finish_reason": finish} if finish else {}
    validated = LLMResponse.model_validate(
        {
            "message": _assistant_data(message),
            "finish_reason": finish,
            "usage": _usage_data(usage) if usage else None,
            "tokens": None,
        }
    )
    _same(response_of(message), validated)


def test_plain_messages_and_answers_skip_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases above compare something: plain messages never reach the validating path."""
    import nex_langgraph._messages as messages

    def validating(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("validated")

    monkeypatch.setattr(messages, "to_nex", validating)
    monkeypatch.setattr(LLMResponse, "model_validate", validating)
    for message in MESSAGES[:4] + MESSAGES[5:10]:
        recorded_message(message)
    answer = AIMessage(content="", tool_calls=CALLS, usage_metadata=USAGES[2])  # type: ignore[arg-type]
    assert response_of(answer).usage is not None
