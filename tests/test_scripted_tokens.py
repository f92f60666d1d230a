"""ScriptedModel's prompt token count is the whole request's, counted incrementally: each call
counts only the messages its request adds to the previous one of the same agent."""

from __future__ import annotations

import asyncio

import pytest

from nex_core.models import scripted
from nex_core.models.scripted import ScriptedModel
from nex_core.trajectory.schema import LLMRequest, Message

_TOKENS = scripted._tokens  # the real count, kept before the test spies on it


def expected(messages: list[Message]) -> int:
    return sum(_TOKENS(m.text()) for m in messages)


def test_prompt_tokens_match_a_full_count_and_count_each_message_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = ScriptedModel([{"text": "ok"}] * 60)
    counted: list[str] = []
    real = scripted._tokens

    def spy(text: str) -> int:
        counted.append(text)
        return real(text)

    history = [Message.system("You are terse."), Message.user("hello there")]
    totals = []
    monkeypatch.setattr(scripted, "_tokens", spy)
    for i in range(50):
        before = len(counted)
        response = asyncio.run(model.acomplete(LLMRequest(messages=list(history))))
        assert response.usage is not None
        totals.append((response.usage.prompt_tokens, expected(history)))
        new = len(counted) - before - 1  # minus the completion's own count
        assert new == (2 if i == 0 else 1)  # only the message this request added
        history.append(Message.user(f"message number {i} " * (i % 5 + 1)))
    assert all(got == want for got, want in totals)
    # A request that does not extend the previous one (an edited history) is counted in full.
    edited = [Message.system("Other prompt"), Message.user("hi")]
    response = asyncio.run(model.acomplete(LLMRequest(messages=edited)))
    assert response.usage is not None and response.usage.prompt_tokens == expected(edited)
