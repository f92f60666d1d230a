"""The light recording path (``record_light``) and its shortcuts on nex's own bridge record
exactly what the middleware path records.

On a plain agent the recording wraps the client and the tools instead of installing middleware;
on a bridged client it hands the bridge the request it converted and keeps the nex model's own
answer. Every recorded field but ids, timestamps and latencies must be what the middleware path
(which converts everything from the framework's objects) writes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from af_docs_agents import travel_agent, weather_agent
from af_support import run
from agent_framework import Agent, Content, Message, tool
from nex_agent_framework import AgentFrameworkAdapter, bridge_model, record
from nex_agent_framework.messages import (
    ConversionCache,
    kept_as_given,
    to_chat_response,
    to_nex_messages,
    to_nex_response,
)

from nex_core import ScriptedModel, TaskInfo
from nex_core.trajectory.schema import LLMResponse, LLMStep, Tokens, ToolCall, Trajectory, Usage
from nex_core.trajectory.schema import Message as NexMessage

_VOLATILE = {"id", "parent_id", "started_at", "ended_at", "latency_ms"}


def fields(traj: Trajectory) -> list[dict[str, Any]]:
    """Every recorded field of every step, parents as step positions, times left out."""
    index = {s.id: i for i, s in enumerate(traj.steps)}
    out = []
    for step in traj.steps:
        data = step.model_dump(exclude=_VOLATILE)
        data["parent"] = index.get(step.parent_id) if step.parent_id else None
        out.append(data)
    return out


@contextmanager
def middleware_path() -> Iterator[None]:
    light = record.eligible
    record.eligible = lambda agents: False
    try:
        yield
    finally:
        record.eligible = light


def call(id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": id, "name": name, "arguments": arguments}


WEATHER = {
    "agents": {
        "WeatherAgent": [
            {"tool_calls": [call("c1", "get_weather", location="Oslo")]},
            {
                "text": "Checking the clock too.",
                "reasoning": "Atlantis may not exist.",
                "tool_calls": [call("c2", "get_time", city="Atlantis")],
            },
            {"text": "Cloudy in Oslo; Atlantis has no clock."},
        ]
    }
}
TRAVEL = {
    "agents": {
        "TravelAgent": [
            {"tool_calls": [call("t1", "WeatherAgent", task="Weather in Rome?")]},
            {"text": "Pack an umbrella."},
        ],
        "WeatherAgent": [
            {"tool_calls": [call("w1", "get_weather", location="Rome")]},
            {"text": "Cloudy in Rome."},
        ],
    }
}


@pytest.mark.parametrize("mode", ["run", "stream"])
@pytest.mark.parametrize(
    ("make", "script", "task"),
    [
        (weather_agent, WEATHER, "Weather in Oslo, time in Atlantis?"),
        (travel_agent, TRAVEL, "Plan Rome."),
        (weather_agent, WEATHER, TaskInfo(turns=["Oslo?", "And Atlantis?", "Thanks."])),
    ],
)
def test_the_light_path_records_what_the_middleware_path_records(
    adapter: AgentFrameworkAdapter, make: Any, script: Any, task: Any, mode: str
) -> None:
    assert record.eligible(record.agents_of(make(ScriptedModel(script))))
    light = run(adapter.arecord(make(ScriptedModel(script)), task, mode=mode))
    with middleware_path():
        middleware = run(adapter.arecord(make(ScriptedModel(script)), task, mode=mode))
    assert len(light.steps) > 2
    assert fields(light) == fields(middleware)
    assert light.outcome == middleware.outcome


def test_the_bridged_model_receives_the_very_request_recorded(
    adapter: AgentFrameworkAdapter,
) -> None:
    model = ScriptedModel(WEATHER)
    traj = run(adapter.arecord(weather_agent(model), "Weather?"))
    llm = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert len(llm) == len(model.calls) == 3
    for step, received in zip(llm, model.calls, strict=True):
        # The test model copies the lists it keeps; the messages are the recorded objects.
        sent, got = step.request.messages, received.request.messages
        assert all(a is b for a, b in zip(sent, got, strict=True))
    # An answer the next request resends is one record, not a second conversion of it.
    answer = llm[0].response
    assert answer is not None and llm[1].request.messages[2] is answer.message


def _answers() -> list[LLMResponse]:
    calls = [ToolCall.make("a", "add", '{"a":1}'), ToolCall.make("", "noop", "")]
    return [
        LLMResponse(message=NexMessage.assistant("hi"), finish_reason="stop"),
        LLMResponse(message=NexMessage.assistant(None, calls), finish_reason="tool_calls"),
        LLMResponse(
            message=NexMessage.assistant("x", calls[:1], reasoning="why"),
            finish_reason="length",
            usage=Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5, cached_tokens=1),
            tokens=Tokens(prompt_token_ids=[1, 2], completion_token_ids=[3], logprobs=[-0.5]),
        ),
        LLMResponse(message=NexMessage.assistant("0 total"), finish_reason="stop", usage=Usage()),
        # Shapes the round trip normalises: they are converted as before.
        LLMResponse(message=NexMessage.assistant(""), finish_reason="stop"),
        LLMResponse(message=NexMessage.assistant("no finish reason")),
        LLMResponse(message=NexMessage.assistant("named", name="bob"), finish_reason="stop"),
        LLMResponse(
            message=NexMessage(role="assistant", content=[{"type": "text", "text": "part"}]),
            finish_reason="stop",
        ),
        LLMResponse(
            message=NexMessage.assistant("t"),
            finish_reason="stop",
            usage=Usage(prompt_tokens=3, completion_tokens=2, total_tokens=0),
        ),
        LLMResponse(message=NexMessage.assistant("r", reasoning=""), finish_reason="stop"),
    ]


def test_an_answer_is_kept_as_given_only_where_converting_it_back_would_give_it_again() -> None:
    kept = 0
    for answer in _answers():
        chat = to_chat_response(answer)
        back = to_nex_response(chat)
        resent = to_nex_messages(chat.messages)
        same = back == answer and resent == [answer.message]
        assert kept_as_given(answer) == same, answer
        kept += same
    assert kept == 4  # the first four; the other six really change in the round trip


def test_a_remembered_answer_whose_contents_changed_is_converted_again() -> None:
    """The function loop edits an answer's contents (approval requests) after the model gave
    it and before a request resends it: the answer the recorder remembered no longer holds."""
    user = Message("user", [Content.from_text("go")])
    for edit in ("append", "replace"):
        cache = ConversionCache()
        to_nex_messages([user], cache=cache)
        answer = Message("assistant", [Content.from_text("first")])
        cache.remember(answer, NexMessage.assistant("first"))
        if edit == "append":
            answer.contents.append(Content.from_text(" and more"))
        else:
            answer.contents = [Content.from_text("first and more")]
        sent = to_nex_messages([user, answer], cache=cache)
        assert [m.text() for m in sent] == ["go", "first and more"]
    cache = ConversionCache()
    to_nex_messages([user], cache=cache)
    kept = NexMessage.assistant("first")
    answer = Message("assistant", [Content.from_text("first")])
    cache.remember(answer, kept)
    assert to_nex_messages([user, answer], cache=cache)[1] is kept


@tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


def test_the_bridge_converts_each_message_once_and_forgets_a_finished_conversation() -> None:
    replies = [{"tool_calls": [call(f"e{i}", "echo", text=str(i))]} for i in range(3)]
    model = ScriptedModel({"replies": [*replies, {"text": "done"}, {"text": "again"}]})
    client = bridge_model(model, agent="echoer")
    agent = Agent(client=client, name="echoer", instructions="Echo.", tools=[echo])
    asyncio.run(agent.run("Echo three times."))  # type: ignore[arg-type]
    requests = [c.request for c in model.calls]
    # Each request extends the one before with the very same message records.
    for before, after in itertools.pairwise(requests):
        n = len(before.messages)
        assert all(a is b for a, b in zip(before.messages, after.messages[:n], strict=True))
    assert [m.role for m in requests[-1].messages] == ["system", "user"] + [
        "assistant",
        "tool",
    ] * 3
    held = len(client._cache.messages)
    asyncio.run(agent.run("Once more."))  # type: ignore[arg-type]  # a new conversation
    assert len(client._cache.messages) < held
    assert [m.text() for m in model.calls[-1].request.messages] == ["Echo.", "Once more."]
