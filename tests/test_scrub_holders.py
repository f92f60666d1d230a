"""The scrub visits a record held in several places once (a message in every later request, a
response's message as the next request's, an error class shared by steps and the outcome), and
skips what a request shares with the one before it. A secret must be found whichever holder is
the only one of a record; and what the fast walk (``trajectory/_walk.py``) does not expect (a
record subclass, a record where another class is declared, a record inside a free value, a
tuple for a list) must still be decided, by the generic walk or the JSON text."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from nex_core.trajectory import _walk, redact
from nex_core.trajectory.recorder import Recorder, scrub
from nex_core.trajectory.schema import (
    ErrorInfo,
    InputStep,
    LLMRequest,
    LLMResponse,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    SubAgentStep,
    Tokens,
    ToolCall,
    ToolSchema,
    TopLogprobs,
    Trajectory,
)

SECRET = "hunter2-holders"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(redact, "_secrets", set())
    redact.register_secret(SECRET)
    yield


def _run(rounds: int = 6) -> Trajectory:
    """A run whose requests share their history (long enough to skip the shared prefix)."""
    rec = Recorder(provenance=Provenance(framework="t", adapter="t", nex_version="0"))
    history = [Message.system("be brief"), Message.user("add")]
    tools = [ToolSchema(name="add", parameters={"type": "object"})]
    for i in range(rounds):
        step = rec.begin_llm(agent="a", request=LLMRequest(messages=list(history), tools=tools))
        call = Message.assistant(tool_calls=[ToolCall.make(f"c{i}", "add", {"a": i})])
        rec.end_llm(step, LLMResponse(message=call))
        tool = rec.begin_tool(agent="a", name="add", call_id=f"c{i}", arguments={"a": i})
        rec.end_tool(tool, i)
        history += [call, Message.tool(f"c{i}", str(i))]
    step = rec.begin_llm(agent="a", request=LLMRequest(messages=list(history), tools=tools))
    rec.end_llm(step, LLMResponse(message=Message.assistant("done")))
    return rec.finish(Outcome(status=OutcomeStatus.COMPLETED, final_output="done"))


def _leaks(traj: Trajectory) -> bool:
    """Whether the scrub leaves the secret anywhere in the full JSON form."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic warns of the values put unvalidated
        return SECRET in scrub(traj).model_dump_json()


def test_the_recorded_run_is_read_by_the_fast_walk_and_is_clean() -> None:
    traj = _run()
    found = _walk.strings(traj)
    assert found is not None and {"be brief", "add", "done", "c5"} <= found
    assert scrub(traj) is traj


# Each place is the only holder of the record changed: the other holders of its class are
# read, and this one must be too.
PLACES = [
    lambda t: setattr(t.steps[-1].response.message, "content", SECRET),  # a response only
    lambda t: setattr(t.steps[-1].request.messages[-1], "content", SECRET),  # newest message
    lambda t: setattr(t.steps[0].request.messages[0], "content", SECRET),  # the first, shared
    lambda t: setattr(t.steps[2].request.messages[-2].tool_calls[0].function, "arguments",
                      SECRET),  # a tool call in a message the next requests share
    lambda t: setattr(t.steps[1], "error", ErrorInfo(type="E", message=SECRET)),
    lambda t: setattr(t, "outcome", Outcome(status=OutcomeStatus.ERROR,
                                            error=ErrorInfo(type="E", message=SECRET))),
    lambda t: setattr(t.steps[0].request.tools[0], "description", SECRET),
    lambda t: t.steps[0].request.tools[0].parameters.update({SECRET: {"type": "string"}}),
    lambda t: t.steps[1].arguments.update(nested=[{"deep": [[SECRET]]}]),
    lambda t: setattr(t.steps[-1].response, "tokens",
                      Tokens(completion_token_ids=[1, 2, 3], top_logprobs=TopLogprobs(
                          logprobs=[[-0.1]], tokens=[[SECRET]]))),
    lambda t: t.steps.append(SubAgentStep(id="s", started_at=T0, child="c", mode="tool",
                                          input=[Message.user(SECRET)])),
    lambda t: t.steps.append(InputStep(id="i", started_at=T0, value={"v": [SECRET]})),
    lambda t: t.steps[4].request.messages.insert(3, Message.user(SECRET)),  # parts from the last
    lambda t: t.steps[10].request.messages.insert(10, Message.user(SECRET)),  # just past it
]


@pytest.mark.parametrize("place", range(len(PLACES)))
def test_a_secret_held_in_one_place_only_is_found(place: int) -> None:
    traj = _run()
    PLACES[place](traj)
    assert _walk.strings(traj) is not None  # read by the fast walk, not handed on
    assert _leaks(traj) is False


class _Other(Message):
    pass


# What the schema does not declare there.
ODD = [
    lambda t: t.steps[0].request.messages.append(_Other(role="user", content=SECRET)),
    lambda t: t.steps[1].__dict__.update(result=Message.user(SECRET)),  # a record in a value
    lambda t: t.steps[0].request.messages.append(
        ToolCall.make("x", SECRET, {})),  # a record of another class where messages are
    lambda t: t.steps.append("not a step"),
    lambda t: t.steps[0].request.__dict__.update(tools=(ToolSchema(name=SECRET),)),  # a tuple
]


@pytest.mark.parametrize("place", range(len(ODD)))
def test_what_the_schema_does_not_declare_is_still_decided(place: int) -> None:
    traj = _run()
    traj.steps[-1].response.message.content = f"and {SECRET}"
    ODD[place](traj)
    assert _leaks(traj) is False


def test_a_str_subclass_among_the_values_sends_the_run_to_the_generic_walk() -> None:
    class Tagged(str):
        pass

    traj = _run()
    traj.steps[1].arguments["t"] = Tagged(SECRET)
    assert _walk.strings(traj) is None
    assert _leaks(traj) is False


def test_a_deep_value_is_read_to_its_bottom() -> None:
    traj = _run()
    deep: Any = SECRET
    for i in range(200):
        deep = {f"k{i}": deep} if i % 2 else [deep, i]
    traj.steps[1].arguments["deep"] = deep
    assert _walk.strings(traj) is not None
    assert SECRET in _walk.strings(traj)  # type: ignore[operator]


def test_threads_scrubbing_at_once_agree() -> None:
    runs = [_run(3 + i % 4) for i in range(16)]
    for i in range(0, 16, 2):
        runs[i].steps[-1].response.message.content = SECRET
    verdicts: dict[int, bool] = {}

    def work(k: int) -> None:
        for _ in range(20):
            for i in range(k, 16, 4):
                verdicts[i] = scrub(runs[i]) is not runs[i]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verdicts == {i: i % 2 == 0 for i in range(16)}
