"""Scrubbing secrets from finished trajectories, without serialising clean ones.

``scrub`` searches the strings of the trajectory in memory and rebuilds only what holds a secret;
what it returns must be what scrubbing the JSON text gave, and more where the JSON text hid a
token (an escaped newline in front of it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from nex_core.trajectory import redact
from nex_core.trajectory import scrub as scrub_mod
from nex_core.trajectory.recorder import Recorder, scrub
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    ToolCall,
    ToolSchema,
    Trajectory,
)

PROV = Provenance(framework="t", adapter="t", nex_version="0")
SECRET = "hunter2-very-secret"


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(redact, "_secrets", set())
    redact.register_secret(SECRET)
    yield


def recording(
    first_user: str = "hi", result: object = 5, metadata: dict[str, object] | None = None
) -> Recorder:
    """A run of two model calls around one tool call, not finished yet."""
    rec = Recorder(provenance=PROV, root_agent="a")
    system = Message.system("be brief")
    user = Message.user(first_user)
    call = Message.assistant(tool_calls=[ToolCall.make("c1", "add", {"a": 1, "b": 2})])
    tools = [ToolSchema(name="add", parameters={"type": "object", "properties": {}})]
    llm = rec.begin_llm(agent="a", request=LLMRequest(messages=[system, user], tools=tools))
    rec.end_llm(llm, LLMResponse(message=call, finish_reason="tool_calls"))
    tool = rec.begin_tool(agent="a", name="add", call_id="c1", arguments={"a": 1, "b": 2})
    rec.end_tool(tool, result)
    answer = Message.tool("c1", "3")
    llm = rec.begin_llm(
        agent="a",
        request=LLMRequest(messages=[system, user, call, answer], tools=tools),
        metadata=metadata,
    )
    rec.end_llm(llm, LLMResponse(message=Message.assistant("3"), finish_reason="stop"))
    return rec


def run(
    first_user: str = "hi", result: object = 5, metadata: dict[str, object] | None = None
) -> Trajectory:
    return recording(first_user, result, metadata).finish(DONE)


DONE = Outcome(status=OutcomeStatus.COMPLETED, final_output="3")


def test_a_clean_trajectory_is_returned_as_is() -> None:
    traj = run()
    assert scrub(traj) is traj


def test_secrets_anywhere_are_redacted_as_scrubbing_the_text_did() -> None:
    traj = run()
    dirty = traj.model_copy(deep=True)
    dirty.steps[0].request.messages[1].content = f"key {SECRET} and Bearer abcdefghijklmnop"
    dirty.steps[1].result = {SECRET: ["x sk-abcdefghijklmnopqrstuv y"]}
    dirty.metadata = {"nested": [{"deep": SECRET}]}
    cleaned = scrub(dirty)
    text = cleaned.to_json()
    assert SECRET not in text and "abcdefghijklmnop" not in text
    assert cleaned.to_json() == scrub_mod._scrub_text(dirty).to_json()
    assert SECRET in dirty.to_json()  # the original is left alone


def test_redaction_keeps_shared_messages_shared() -> None:
    rec = recording(first_user=f"use {SECRET}")
    system = rec.trajectory.steps[0].request.messages[0]
    cleaned = rec.finish(DONE)
    first, second = cleaned.steps[0].request.messages, cleaned.steps[2].request.messages
    assert first[1].content == "use [REDACTED]"
    assert first[1] is second[1]  # one object, as in the recorded run
    assert first[0] is system  # untouched records are reused
    assert Trajectory.model_validate_json(cleaned.to_json()) == cleaned


def test_a_token_after_a_newline_is_redacted() -> None:
    # In JSON text the newline is the two characters "\n", and "\bsk-" did not match there.
    traj = run(result="line\nsk-abcdefghijklmnopqrstuv")
    assert "abcdefghijklmnop" not in traj.to_json()


def test_secrets_with_json_escapes_are_redacted() -> None:
    redact.register_secret('pa"ss\\word')
    traj = run(result='the password is pa"ss\\word')
    assert traj.steps[1].result == "the password is [REDACTED]"


class Extra(BaseModel):
    note: str


@pytest.mark.parametrize(
    "value",
    [uuid.uuid4(), Extra(note="x"), {1: "int key"}, datetime.now(UTC), b"bytes"],
    ids=["uuid", "foreign-model", "int-key", "datetime", "bytes"],
)
def test_unusual_metadata_still_scrubbed(value: object) -> None:
    traj = run(metadata={"v": value, "s": SECRET})
    assert SECRET not in traj.to_json()


def test_step_ids_are_distinct_and_unaffected_by_random_seed() -> None:
    import random

    random.seed(0)
    first = {Recorder.new_id() for _ in range(1000)}
    random.seed(0)
    second = {Recorder.new_id() for _ in range(1000)}
    assert len(first) == 1000 and not first & second
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in first)
