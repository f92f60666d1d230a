"""The recording's unvalidated records equal the validated ones (fields, values, fields-set, JSON).

``to_nex_response`` and ``RecordingClient._request`` build their records without running
pydantic's validator when every value is already plain; these tests hold them to what
validation makes, so a schema change shows here and not in a trajectory.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage, SystemMessage, UserMessage
from nex_autogen import bridge_model, messages
from nex_autogen.messages import _built_response, attach_cached, attach_tokens, to_nex_response
from nex_autogen.record import RecordingClient

from nex_core import ScriptedModel
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import LLMRequest, LLMResponse, Provenance, Tokens


def _same(a: Any, b: Any) -> None:
    """Equal records, to the fields-set of every nested record."""
    assert type(a) is type(b)
    if hasattr(a, "__pydantic_fields_set__"):
        assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__
        assert list(a.__dict__) == list(b.__dict__)
        for name in a.__dict__:
            _same(a.__dict__[name], b.__dict__[name])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    else:
        assert a == b and type(a) is type(b)


def _validated(result: CreateResult) -> LLMResponse:
    """What ``to_nex_response`` made before it built records: ``model_validate`` of its parts."""
    built = messages._built_response
    messages._built_response = lambda *_: None  # type: ignore[assignment]
    try:
        return to_nex_response(result)
    finally:
        messages._built_response = built


USAGE = RequestUsage(prompt_tokens=9, completion_tokens=4)
RESULTS = [
    CreateResult(finish_reason="stop", content="done", usage=USAGE, cached=False),
    CreateResult(finish_reason="stop", content="", usage=USAGE, cached=False, thought="hmm"),
    CreateResult(finish_reason="length", content="cut", usage=USAGE, cached=False),
    CreateResult(
        finish_reason="function_calls",
        content=[FunctionCall(id="c1", name="add", arguments='{"a": 1}')],
        usage=USAGE,
        cached=False,
    ),
    CreateResult(
        finish_reason="function_calls",
        content=[
            FunctionCall(id="c1", name="add", arguments='{"a": 1}'),
            FunctionCall(id="c2", name="mul", arguments="not json"),
        ],
        usage=USAGE,
        cached=False,
        thought="two at once",
    ),
]


@pytest.mark.parametrize("result", RESULTS, ids=range(len(RESULTS)))
def test_built_response_is_the_validated_one(result: CreateResult) -> None:
    built = to_nex_response(result)
    _same(built, _validated(result))
    assert built.model_dump_json() == _validated(result).model_dump_json()


def test_cached_tokens_and_token_records_are_kept() -> None:
    tokens = Tokens(prompt_token_ids=[1, 2], completion_token_ids=[3])
    result = attach_cached(attach_tokens(RESULTS[0].model_copy(), tokens), 5)
    built = to_nex_response(result)
    assert built.usage is not None and built.usage.cached_tokens == 5
    assert built.tokens is tokens
    _same(built, _validated(result))


def test_values_that_are_not_plain_are_validated() -> None:
    class Text(str):
        pass

    message = {"role": "assistant", "content": Text("x"), "reasoning": None}
    assert _built_response(message, "stop", {"prompt_tokens": 1}, None) is None
    message = {"role": "assistant", "content": "x", "reasoning": None}
    assert _built_response(message, "stop", {"prompt_tokens": True}, None) is None
    result = CreateResult(finish_reason="stop", content=Text("x"), usage=USAGE, cached=False)
    assert type(to_nex_response(result).message.content) is str  # validation made it plain


def test_recorded_request_is_the_validated_one() -> None:
    client = bridge_model(ScriptedModel({"replies": [{"text": "ok"}]}), agent="a")
    recorder = Recorder(
        provenance=Provenance(framework="autogen", adapter="autogen", nex_version="0")
    )
    wrapped = RecordingClient(client, agent="a", recorder=recorder)
    messages = [SystemMessage(content="Be brief."), UserMessage(content="hi", source="user")]
    tools = [{"name": "add", "description": "Add.", "parameters": {"type": "object"}}]
    request = wrapped._request(messages, tools, "auto", {"temperature": 0.5})
    validated = LLMRequest(messages=request.messages, tools=request.tools, params=request.params)
    _same(request, validated)
    assert request.params == {"temperature": 0.5}
    result = asyncio.run(wrapped.create(messages, tools=tools))
    assert result.content == "ok"
    step = recorder.trajectory.steps[0]
    assert step.response is not None and step.response.message.content == "ok"
