"""The scrub's fast walk (``trajectory/_walk.py``) decides and redacts as scrubbing the JSON text
does, wherever a secret or a token is put.

Trajectories of every step kind are recorded, then secrets, token shapes and clean text are put
into fields chosen at random (hypothesis): message content and content parts, names, tool
arguments and results, metadata keys and values, errors, outcome, task, provenance, and the
fields whose values the walk takes as schema constants (``role``, ``kind``, ``status``,
``type``) or as numbers and times, assigned without validation. For each:

- the verdict (returned as it is, or rebuilt) is the one of searching the JSON text;
- a rebuilt trajectory's JSON is the redacted JSON text (in the full form);
- the verdict is also the generic walk's (``scrub._strings``), which the fast walk replaces.

The strings put are whole tokens, words and spaces: none that JSON escapes (the walk reads the
real text and finds more than the text does there, ``test_scrub.py``), and none that make a
match across two strings (a shape's ``.`` can cross the text's ``","``; the walk keeps strings
apart).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nex_core.trajectory import _walk, redact
from nex_core.trajectory import scrub as scrub_mod
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
    TaskInfo,
    Tokens,
    ToolCall,
    ToolSchema,
    Trajectory,
    Usage,
    _Record,
)

SECRET = "hunter2-equivalence"
TOKENS = [
    SECRET,
    "ghp_" + "a1B2c3D4" * 4 + "e5F6",
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "SG." + "a" * 22 + "." + "b" * 43,
    "glpat-" + "x1y2z3" * 4,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    "postgres://admin:s3cr3tpassw0rd@db.internal:5432/app",
    "Bearer abcdefghijklmnop",
    "sk-abcdefghijklmnopqrstuv",
]
WORDS = ["Paris", "the", "capital", "task-0", "disk-1", "ok", "tool", "assistant", "function",
         "llm", "completed", "SKU", "AWS", "ACME", "https", "x", "", "42", "sk", "eyJ"]
"""Clean words, some of them markers or constants (a marker alone makes no token)."""

STORED_ONLY = frozenset({"messages_from", "prompt_from"})
"""Fields the stored form writes itself (``None`` in memory): what they hold in memory never
reaches the JSON text, and the walk redacts it anyway."""

payload_text = st.lists(st.sampled_from(WORDS + TOKENS), min_size=1, max_size=4).map(" ".join)
payload = st.one_of(
    payload_text,
    payload_text,
    payload_text,
    st.builds(lambda k, v: {k: v}, payload_text, payload_text),
    st.builds(lambda v: [v, 1, 2.5, None, True], payload_text),
    st.builds(lambda v: [1, 2, 3, 4, 5, v], payload_text),  # starts like token ids
    st.integers(-5, 5),
    st.none(),
)


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(redact, "_secrets", set())
    redact.register_secret(SECRET)
    yield


def _recorded() -> Trajectory:
    """A run with every step kind and most optional fields set, messages shared between
    requests as adapters share them."""
    rec = Recorder(
        provenance=Provenance(framework="f", adapter="a", nex_version="0", model="m",
                              sampling={"temperature": 0.5, "stop": ["x"]}, task_id="task-1"),
        root_agent="lead",
        task=TaskInfo(id="task-1", turns=["add two numbers"]),
    )
    system, user = Message.system("be brief"), Message.user("add 2 and 3", name="human")
    call = Message.assistant(tool_calls=[ToolCall.make("c1", "add", {"a": 2, "b": 3})],
                             reasoning="adding")
    tools = [ToolSchema(name="add", description="adds",
                        parameters={"type": "object", "properties": {"a": {"type": "number"}}})]
    history = [system, user]
    for i in range(4):  # long enough that requests skip the prefix they share
        llm = rec.begin_llm(agent="lead", request=LLMRequest(
            messages=list(history), tools=tools, params={"temperature": 0.1}), model="m")
        rec.end_llm(llm, LLMResponse(message=call, finish_reason="tool_calls",
                                     usage=Usage(prompt_tokens=3, completion_tokens=1,
                                                 total_tokens=4, cached_tokens=0),
                                     tokens=Tokens(completion_token_ids=[1, 2, 3, 4, 5, 6],
                                                   logprobs=[-0.1] * 6)))
        tool = rec.begin_tool(agent="lead", name="add", call_id="c1", arguments={"a": 2, "b": i})
        rec.end_tool(tool, {"sum": 5, "parts": ["two", "three"]})
        history += [call, Message.tool("c1", "5")]
    parts = Message.user([{"type": "text", "text": "look"}, {"type": "image_url",
                                                             "image_url": {"url": "https://x"}}])
    llm = rec.begin_llm(agent="lead", request=LLMRequest(messages=[*history, parts]))
    rec.end_llm(llm, LLMResponse(message=Message.assistant("5")))
    # A history rewritten in the middle (a summary), then a shorter one: requests that part
    # from the one before, where the walk must not skip what they do not share.
    rewritten = [system, Message.user("summary so far"), *history[2:], parts]
    for messages in (rewritten, [*history[:5], Message.user("again")]):
        llm = rec.begin_llm(agent="lead", request=LLMRequest(messages=messages))
        rec.end_llm(llm, LLMResponse(message=Message.assistant("5")))
    failed = rec.begin_tool(agent="lead", name="div", call_id="c2", arguments=None)
    rec.end_tool(failed, None, error=ValueError("division by zero"))
    traj = rec.finish(Outcome(status=OutcomeStatus.COMPLETED, final_output="5",
                              stop_reason="final_answer", structured_output={"answer": 5},
                              rewards={"r": 1.0}, labels={"l": "good"}))
    traj = traj.model_copy(deep=True)  # one object graph of our own, sharing kept
    started = traj.steps[0].started_at
    traj.steps.append(SubAgentStep(id="s1", agent="lead", started_at=started, child="checker",
                                   mode="tool", call_id="c3", input=[user], output="fine",
                                   metadata={"run": "r1"}))
    traj.steps.append(InputStep(id="i1", started_at=started, mode="resume",
                                value={"approved": True, "by": "ann"}, labels={"k": "v"}))
    traj.steps[1].error = ErrorInfo(type="RuntimeError", message="late")
    traj.metadata = {"thread": "t1", "nested": [{"deep": "value"}]}
    return traj


def _slots(root: Any) -> list[tuple[str, Any, Any]]:
    """Every place a value may be put: each field of each record (validation bypassed, so a
    constant or a number field gets text), each dict value, a new dict key, each list item."""
    found: list[tuple[str, Any, Any]] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, _Record):
            for name, item in value.__dict__.items():
                if name in STORED_ONLY:
                    continue
                if not isinstance(item, _Record | list) or name in ("content", "pending"):
                    found.append(("field", value, name))
                stack.append(item)
        elif isinstance(value, dict):
            found.append(("key", value, None))
            for key, item in value.items():
                found.append(("value", value, key))
                stack.append(item)
        elif isinstance(value, list) and not all(isinstance(x, _Record) for x in value):
            for i, item in enumerate(value):
                found.append(("item", value, i))
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _put(slot: tuple[str, Any, Any], value: Any) -> None:
    where, holder, name = slot
    if where == "field":
        holder.__dict__[name] = value  # as an adapter editing a record after it closed
    elif where == "key":
        holder[value if isinstance(value, str) else str(value)] = "v"
    elif where == "value":
        holder[name] = value
    else:
        holder[name] = value


def _json(traj: Trajectory, full: bool = False) -> str | None:
    """The JSON text (stored form, or ``full``: every request whole), or ``None`` where a value
    put makes it unwritable (a list as a step id: the stored form indexes steps by id; a dict
    as a step kind), which no scrub is asked to handle."""
    try:
        return traj.model_dump_json() if full else traj.to_json()
    except (TypeError, ValueError, AttributeError):
        return None


def _check(traj: Trajectory) -> bool:
    """Checks ``traj`` if it can be written; whether it was."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic warns of the values assigned unvalidated
        text, full = _json(traj), _json(traj, full=True)
        if text is None or full is None:
            return False
        dirty = redact.needs_redaction(text)
        before = traj.to_json()
        cleaned = scrub(traj)
        assert traj.to_json() == before  # the original is left alone
        assert (cleaned is not traj) == dirty, text
        if dirty:
            # The full form (every request whole): which earlier request the stored form
            # refers to is the planner's choice, and a redacted step id changes it.
            got, expected = cleaned.model_dump_json(), redact.redact(full)
            # Two dict keys that differ only in their secrets redact to one key: the rebuilt
            # dict holds it once (the last value), as the redacted text does when read back.
            assert got == expected or json.loads(got) == json.loads(expected)
        strings = scrub_mod._strings(traj)
        if strings is not None:
            generic = "\0".join(s for s in strings if isinstance(s, str))
            assert redact.needs_redaction(generic) == dirty
        return True


def test_the_recorded_trajectory_is_clean_and_read_by_the_fast_walk() -> None:
    traj = _recorded()
    assert _walk.strings(traj) is not None  # not the generic walk's case
    assert scrub(traj) is traj
    json.loads(traj.to_json())


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_value_anywhere_is_decided_and_redacted_as_the_json_text_is(
    data: st.DataObject,
) -> None:
    traj = _recorded()
    slots = _slots(traj)
    for _ in range(data.draw(st.integers(1, 3))):
        _put(data.draw(st.sampled_from(slots)), data.draw(payload))
    assume(_check(traj))


@pytest.mark.parametrize("secret", ["assistant", "completed", "Paris is"])
def test_a_secret_that_is_a_schema_constant_is_still_found(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    traj = _recorded()
    traj.steps[0].request.messages[1].content = "Paris is the capital"
    redact.register_secret(secret)
    assert _check(traj)
    assert scrub(traj) is not traj


def test_every_field_of_every_record_takes_a_token() -> None:
    """Not left to chance: a token in each slot of the recorded run, one at a time (each token
    in turn); a few slots make the run unwritable (step ids and times the stored form reads)."""
    slots = len(_slots(_recorded()))
    checked = 0
    for i in range(slots):
        traj = _recorded()
        _put(_slots(traj)[i], f"x {TOKENS[i % len(TOKENS)]} y")
        checked += _check(traj)
    assert slots > 150 and checked > 0.9 * slots


def test_two_keys_that_differ_only_in_their_secrets() -> None:
    """Both redact to ``[REDACTED]``: the scrubbed dict holds the key once, with the last value,
    as the redacted JSON text holds it when read back (hypothesis found this)."""
    traj = _recorded()
    first, second = TOKENS[:2]
    traj.steps[0].metadata = {f"a {first}": "one", f"a {second}": "two"}
    assert redact.redact(f"a {first}") == redact.redact(f"a {second}")
    assert _check(traj)
    assert scrub(traj).steps[0].metadata == {redact.redact(f"a {first}"): "two"}
