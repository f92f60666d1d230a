"""The stored form of trajectories: each conversation prefix written once (``messages_from``).

Checked against an expander written here from the format's definition alone, on conversations
that grow, branch, hand off, get edited, rebuilt or copied, and whose content parts hold numbers
that are equal in Python but not in JSON (1, 1.0, True).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from native_helpers import agent, run, tool
from pydantic import ValidationError

from nex_core.errors import TrajectoryError
from nex_core.trajectory import Recorder, iter_trajectories
from nex_core.trajectory.redact import REDACTED, redact
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    SubAgentStep,
    ToolCall,
    ToolStep,
    Trajectory,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PROV = Provenance(framework="test", adapter="test", nex_version="0")


def expand(data: dict[str, Any]) -> dict[str, Any]:
    """The full form of a stored trajectory, by the format's definition: a request with
    ``messages_from`` sends the first ``count`` messages of the latest earlier LLM step with id
    ``step`` (its full list), then its own."""
    full: dict[str, list[Any]] = {}
    for step in data["steps"]:
        if step["kind"] != "llm":
            continue
        request = step["request"]
        ref = request.pop("messages_from", None)
        if ref is not None:
            base = full[ref["step"]]
            assert 1 <= ref["count"] <= len(base)
            request["messages"] = base[: ref["count"]] + request["messages"]
        full[step["id"]] = request["messages"]
    return data


def canonical(value: Any) -> str:
    """Exact text (1, 1.0 and true stay apart, unlike with ==)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def check_round_trip(traj: Trajectory) -> dict[str, Any]:
    text = traj.to_json()
    full = traj.model_dump_json(exclude_none=True)
    stored = json.loads(text)
    assert canonical(expand(json.loads(text))) == canonical(json.loads(full))
    assert len(text) <= len(full)  # a reference is written only where it saves space
    for again in (Trajectory.model_validate_json(text), Trajectory.model_validate(stored)):
        assert again.model_dump_json(exclude_none=True) == full
        assert again.to_json() == text  # reading and writing again gives the same line
    return stored


def references(stored: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(step, referenced step, count) for each request written with messages_from."""
    return [
        (s["id"], s["request"]["messages_from"]["step"], s["request"]["messages_from"]["count"])
        for s in stored["steps"]
        if s["kind"] == "llm" and "messages_from" in s["request"]
    ]


# --------------------------------------------------------------------------- conversations

AGENTS = ["alpha", "beta", "gamma"]
numbers = st.sampled_from([1, 1.0, True, 0, 0.0, False, -0.0, 2**53])
parts = st.lists(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=8), "n": numbers}),
    min_size=1,
    max_size=2,
)
messages = st.one_of(
    st.builds(Message.user, st.text(max_size=30)),
    st.builds(Message.assistant, st.text(max_size=30)),
    st.builds(lambda t: Message(role="user", content=t), parts),
    st.builds(
        lambda i, a: Message.assistant(None, [ToolCall.make(f"c{i}", "f", a)]),
        st.integers(0, 3),
        st.sampled_from(['{"x": 1}', '{"x": 1.0}', "{}"]),
    ),
    st.builds(Message.tool, st.sampled_from(["c0", "c1"]), st.text(max_size=20)),
)
operations = st.sampled_from(
    ["call", "call", "call", "grow", "rebuild", "copy", "edit", "truncate", "handoff", "spawn"]
)


@st.composite
def conversations(draw: st.DrawFn) -> Trajectory:
    """Runs as frameworks record them: a few agents, each with a history that mostly grows."""
    histories: dict[str, list[Message]] = {
        name: [Message.system(f"You are {name}."), Message.user("task")] for name in AGENTS
    }
    parents: dict[str, str | None] = dict.fromkeys(AGENTS)
    steps: list[Any] = []

    def new_id() -> str:
        # A small pool of reused ids as well: a reference must name the right one of them.
        return draw(st.sampled_from(["dup", "dup2"]) | st.just(f"s{len(steps)}"))

    for op in draw(st.lists(operations, min_size=1, max_size=14)):
        name = draw(st.sampled_from(AGENTS))
        history = histories[name]
        if op == "call":
            steps.append(
                LLMStep(
                    id=new_id(),
                    agent=name,
                    parent_id=parents[name],
                    started_at=T0,
                    request=LLMRequest(messages=list(history)),
                    response=LLMResponse(message=draw(messages)),
                )
            )
        elif op == "grow":  # the reply and tool results join the history
            history.extend(draw(st.lists(messages, min_size=1, max_size=3)))
            if draw(st.booleans()):
                steps.append(ToolStep(id=new_id(), agent=name, name="f", started_at=T0))
        elif op == "rebuild":  # the system prompt rebuilt: a new, equal object
            history[0] = history[0].model_copy()
        elif op == "copy":  # requests built from fresh objects each time (no sharing at all)
            histories[name] = [m.model_copy(deep=True) for m in history]
        elif op == "edit":  # a message in the middle replaced: the prefix ends there
            position = draw(st.integers(0, len(history) - 1))
            history[position] = draw(messages)
        elif op == "truncate":  # summarised or trimmed history
            del history[draw(st.integers(1, len(history))) :]
        elif op == "handoff":  # another agent continues this history with its own prompt
            other = draw(st.sampled_from(AGENTS))
            sub = SubAgentStep(id=new_id(), agent=name, child=other, mode="handoff", started_at=T0)
            steps.append(sub)
            histories[other] = [Message.system(f"You are {other}."), *history[1:]]
            parents[other] = sub.id
        else:  # a sub-agent started afresh under a tool call
            other = draw(st.sampled_from(AGENTS))
            sub = SubAgentStep(id=new_id(), agent=name, child=other, mode="tool", started_at=T0)
            steps.append(sub)
            histories[other] = [Message.system(f"You are {other}."), Message.user("sub-task")]
            parents[other] = sub.id
    return Trajectory(id="t", provenance=PROV, started_at=T0, steps=steps)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations())
def test_stored_form_reads_back_exactly(traj: Trajectory) -> None:
    check_round_trip(traj)


# --------------------------------------------------------------------------- cases


def llm(step_id: str, history: list[Message], **kw: Any) -> LLMStep:
    return LLMStep(id=step_id, started_at=T0, request=LLMRequest(messages=list(history)), **kw)


def trajectory(*steps: Any) -> Trajectory:
    return Trajectory(id="t", provenance=PROV, started_at=T0, steps=list(steps))


SYSTEM = Message.system("You are a careful assistant who answers in full sentences.")


def test_a_growing_history_is_stored_once_and_read_back_shared() -> None:
    history = [SYSTEM, Message.user("What is 2+3?")]
    steps = []
    for i in range(4):
        steps.append(llm(f"s{i}", history, agent="a"))
        history = [*history, Message.assistant(f"step {i}"), Message.tool("c", "ok")]
    stored = check_round_trip(trajectory(*steps))
    assert references(stored) == [("s1", "s0", 2), ("s2", "s1", 4), ("s3", "s2", 6)]
    assert [len(s["request"]["messages"]) for s in stored["steps"]] == [2, 2, 2, 2]
    # Read back, later requests hold the earlier requests' own objects: memory stays linear.
    again = Trajectory.model_validate_json(trajectory(*steps).to_json())
    first, last = again.steps[0], again.steps[-1]
    assert isinstance(first, LLMStep) and isinstance(last, LLMStep)
    assert last.request.messages[0] is first.request.messages[0]
    assert all(isinstance(s, LLMStep) and s.request.messages_from is None for s in again.steps)


def test_an_edited_history_shares_only_the_unchanged_prefix() -> None:
    before = [SYSTEM, Message.user("a long question " * 4), Message.assistant("draft answer")]
    after = [SYSTEM, Message.user("a long question " * 4), Message.assistant("edited answer")]
    stored = check_round_trip(trajectory(llm("s0", before), llm("s1", after)))
    assert references(stored) == [("s1", "s0", 2)]
    assert stored["steps"][1]["request"]["messages"][0]["content"] == "edited answer"


def test_numbers_equal_in_python_but_not_in_json_are_not_shared() -> None:
    ones = [Message(role="user", content=[{"type": "text", "text": "x", "n": n}]) for n in (1, 1.0)]
    assert ones[0] == ones[1]  # pydantic's == cannot tell them apart; the stored form must
    stored = check_round_trip(trajectory(llm("s0", [ones[0]]), llm("s1", [ones[1], SYSTEM])))
    assert references(stored) == []
    again = Trajectory.model_validate_json(trajectory(llm("s0", [SYSTEM, ones[1]])).to_json())
    step = again.steps[0]
    assert isinstance(step, LLMStep) and step.request.messages[1].content == [
        {"type": "text", "text": "x", "n": 1.0}
    ]


def test_a_reference_names_the_latest_step_with_a_reused_id() -> None:
    one = [SYSTEM, Message.user("first")]
    two = [SYSTEM, Message.user("second")]
    stored = check_round_trip(
        trajectory(llm("x", one), llm("x", two), llm("y", [*one, Message.assistant("more")]))
    )
    # Step "y" continues the first "x", but "x" now names the second one: only the system
    # prompt (shared by both) may come from it.
    assert references(stored) == [("x", "x", 1), ("y", "x", 1)]


def test_a_handoff_continues_the_shared_history() -> None:
    history = [SYSTEM, Message.user("book a flight " * 5), Message.assistant("transferring")]
    handoff = SubAgentStep(id="h", child="b", mode="handoff", started_at=T0)
    b_history = [Message.system("You are b, a booking agent."), *history[1:]]
    stored = check_round_trip(
        trajectory(
            llm("a1", history, agent="a"),
            handoff,
            llm("b1", b_history, agent="b", parent_id="h"),
            llm("b2", [*b_history, Message.assistant("booked")], agent="b", parent_id="h"),
        )
    )
    assert references(stored) == [("b2", "b1", 3)]


def test_short_prefixes_are_written_in_full() -> None:
    short = [Message.user("hi")]
    stored = check_round_trip(trajectory(llm("s0", short), llm("s1", [*short, Message.user("x")])))
    assert references(stored) == []


def test_a_long_run_grows_linearly_on_disk() -> None:
    def noop() -> str:
        """Does nothing."""
        return "ok"

    spec = agent("bench", tool(noop), limits={"max_steps": 500})
    sizes = {}
    for rounds in (25, 50, 100):  # 51, 101 and 201 steps
        script = [{"tool_calls": [{"name": "noop", "arguments": {}}]}] * rounds + [{"text": "ok"}]
        traj, _ = run(spec, script)
        assert len(traj.steps) == 2 * rounds + 1
        check_round_trip(traj)
        sizes[rounds] = (len(traj.to_json()), len(traj.model_dump_json(exclude_none=True)))
    stored = {n: s for n, (s, _) in sizes.items()}
    full = {n: f for n, (_, f) in sizes.items()}
    # Doubling the run doubles the stored bytes (steps differ only in ids and timings) ...
    assert 1.9 < stored[100] / stored[50] < 2.1 and 1.9 < stored[50] / stored[25] < 2.1
    # ... where every request in full makes them grow with the square.
    assert full[100] / full[50] > 3.5


def test_secrets_are_scrubbed_from_every_request() -> None:
    token = "sk-" + "abcdefghij" * 3
    rec = Recorder(provenance=PROV)
    history = [SYSTEM, Message.user(f"my key is {token}")]
    for i in range(3):
        with rec.llm_call(agent="a", request=LLMRequest(messages=list(history))) as step:
            step.response = LLMResponse(message=Message.assistant(f"noted {i}"))
        history = [*history, step.response.message]
    unscrubbed = rec.trajectory.model_copy(deep=True)
    traj = rec.finish(Outcome(status=OutcomeStatus.COMPLETED))
    # Redacting the stored text (how scrubbing worked, and its fallback) reaches every request
    # through the one copy of the shared message.
    by_text = Trajectory.model_validate_json(redact(unscrubbed.to_json()))
    for scrubbed in (traj, by_text):
        assert token not in scrubbed.to_json() and token not in scrubbed.model_dump_json()
        requests = [s.request.messages for s in scrubbed.steps if isinstance(s, LLMStep)]
        assert [len(m) for m in requests] == [2, 3, 4]
        assert all(m[1].content == f"my key is {REDACTED}" for m in requests)
        check_round_trip(scrubbed)


def test_the_published_schema_describes_the_stored_form() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    history = [SYSTEM, Message.user("question")]
    traj = trajectory(llm("s0", history), llm("s1", [*history, Message.assistant("a")]))
    stored = json.loads(traj.to_json())
    assert references(stored)
    schema = Trajectory.model_json_schema()
    assert "messages_from" in schema["$defs"]["LLMRequest"]["properties"]
    jsonschema.validate(stored, schema)


# --------------------------------------------------------------------------- bad references


def stored_pair() -> dict[str, Any]:
    history = [SYSTEM, Message.user("question")]
    traj = trajectory(
        llm("s0", history),
        ToolStep(id="tool1", name="f", started_at=T0),
        llm("s1", [*history, Message.assistant("a")]),
        llm("s2", [Message.user("unrelated")]),
    )
    data = json.loads(traj.to_json())
    assert data["steps"][2]["request"]["messages_from"] == {"step": "s0", "count": 2}
    return data


@pytest.mark.parametrize(
    ("target", "count", "says"),
    [
        ("nope", 1, "refers to step 'nope', which is not in this trajectory"),
        ("s2", 1, "refers to step 's2', which comes later (steps[3])"),
        ("tool1", 1, "refers to step 'tool1', which is a tool step, not an LLM step"),
        ("s0", 3, "takes the first 3 messages of step 's0', which sent only 2"),
    ],
)
def test_a_bad_reference_is_an_error_naming_the_step(target: str, count: int, says: str) -> None:
    data = stored_pair()
    data["steps"][2]["request"]["messages_from"] = {"step": target, "count": count}
    with pytest.raises(ValidationError) as info:
        Trajectory.model_validate(data)
    assert "step 's1' (steps[2]): messages_from" in str(info.value) and says in str(info.value)


def test_the_reader_reports_a_bad_reference_with_file_and_line(tmp_path: Path) -> None:
    data = stored_pair()
    data["steps"][2]["request"]["messages_from"]["step"] = "nope"
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(stored_pair()) + "\n" + json.dumps(data) + "\n")
    with pytest.raises(TrajectoryError) as info:
        list(iter_trajectories(path, strict=True))
    message = str(info.value)
    assert message == (
        f"{path}:2: not a valid trajectory: step 's1' (steps[2]): messages_from refers to step "
        "'nope', which is not in this trajectory"
    )
