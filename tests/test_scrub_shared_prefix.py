"""The scrub skips what a request shares with the request visited before it; a secret in what it
does not share is still found, wherever the two lists part."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nex_core.trajectory import redact
from nex_core.trajectory.recorder import Recorder, scrub
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
)

SECRET = "hunter2-prefix-secret"


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(redact, "_secrets", set())
    redact.register_secret(SECRET)
    yield


def _run(requests: list[list[Message]]) -> str:
    rec = Recorder(provenance=Provenance(framework="t", adapter="t", nex_version="0"))
    for messages in requests:
        step = rec.begin_llm(agent="a", request=LLMRequest(messages=messages))
        rec.end_llm(step, LLMResponse(message=Message.assistant("ok")))
    # The full form (every request whole), so each copy of a message is in the text.
    return scrub(rec.finish(Outcome(status=OutcomeStatus.COMPLETED))).model_dump_json()


def _history(n: int) -> list[Message]:
    return [Message.user(f"turn {i}") for i in range(n)]


@pytest.mark.parametrize("where", [0, 3, 7, 11])
def test_a_secret_where_a_request_parts_from_the_one_before_is_redacted(where: int) -> None:
    history = _history(12)
    changed = list(history)
    changed[where] = Message.user(f"key {SECRET}")  # a new object at that position
    # Longer first, shorter after, and the other way round: both orders of visiting.
    for requests in ([history, changed[: where + 1]], [changed, history], [history[:6], changed]):
        text = _run(requests)
        assert SECRET not in text and "[REDACTED]" in text


def test_a_secret_in_an_equal_but_distinct_message_is_redacted_in_every_copy() -> None:
    history = _history(8)
    secret = [Message.user(f"key {SECRET}"), Message.user(f"key {SECRET}")]
    text = _run([[*history, secret[0]], [*history, secret[1], Message.user("more")]])
    assert SECRET not in text and text.count("[REDACTED]") == 2
