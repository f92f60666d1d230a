"""The recording's unvalidated records equal the validated ones (fields, values, fields-set, JSON).

``to_nex_response`` and ``RecordingClient._request`` build their records without running
pydantic's validator when every value is already plain; these tests hold them to what
validation makes, so a schema change shows here and not in a trajectory.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage, SystemMessage, UserMessage
from autogen_core.tools import BaseTool, FunctionTool
from nex_autogen import AutogenAdapter, bridge_model, messages
from nex_autogen.messages import _built_response, attach_cached, attach_tokens, to_nex_response
from nex_autogen.record import RecordingClient, RecordingTool
from nex_autogen.run import plain_outcome

from nex_core import ScriptedModel, __version__
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    Outcome,
    OutcomeStatus,
    Provenance,
    TaskInfo,
    Tokens,
)


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


def _same_record(a: Any, b: Any) -> None:
    _same(a, b)
    assert a.model_dump_json() == b.model_dump_json()
    assert a.model_dump(exclude_unset=True) == b.model_dump(exclude_unset=True)


@pytest.mark.parametrize(
    "given",
    [
        {"status": OutcomeStatus.COMPLETED, "stop_reason": "no_turns"},
        {
            "status": OutcomeStatus.COMPLETED,
            "final_output": "done",
            "structured_output": None,
            "stop_reason": "final_answer",
        },
        {
            "status": OutcomeStatus.COMPLETED,
            "final_output": '{"a": 1}',
            "structured_output": {"a": 1},
            "stop_reason": "final_answer",
        },
        {"status": OutcomeStatus.INTERRUPTED, "stop_reason": "x", "pending": [{"a": 1}]},
    ],
)
def test_plain_outcome_is_the_validated_one(given: dict[str, Any]) -> None:
    _same_record(plain_outcome(**given), Outcome(**given))


def test_foreign_provenance_is_the_validated_one() -> None:
    adapter = AutogenAdapter()
    agent = AssistantAgent("a", model_client=bridge_model(ScriptedModel({"replies": []})))
    made = adapter.foreign_provenance(agent, TaskInfo(id="t1", turns=["hi"]))
    validated = Provenance(
        framework=adapter.framework,
        framework_version=adapter.framework_version,
        adapter=adapter.name,
        adapter_version=adapter.version,
        nex_version=__version__,
        model=made.model,
        task_id="t1",
    )
    _same_record(made, validated)


def test_tool_proxies_hold_what_base_tool_init_sets() -> None:
    def add(a: float, b: float) -> float:
        """Add."""
        return a + b

    tool = FunctionTool(add, description="Add.")
    recorder = Recorder(provenance=Provenance(framework="a", adapter="a", nex_version="0"))
    proxy = RecordingTool(tool, agent="a", recorder=recorder)
    reference = RecordingTool.__new__(RecordingTool)
    BaseTool.__init__(reference, tool.args_type(), tool.return_type(), tool.name, tool.description)
    for name in ("_args_type", "_return_type", "_name", "_description", "_strict"):
        assert getattr(proxy, name) == getattr(reference, name), name
    assert proxy.schema == tool.schema
