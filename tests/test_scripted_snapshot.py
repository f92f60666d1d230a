"""A scripted model keeps each request as it was sent, without deep-copying the conversation
(a deep copy per call made a run of n calls cost O(n²))."""

from __future__ import annotations

import asyncio

from nex_core import ScriptedModel
from nex_core.trajectory.schema import LLMRequest, Message


def test_a_kept_request_does_not_see_later_appends_and_shares_its_messages() -> None:
    model = ScriptedModel([{"text": "one"}, {"text": "two"}])
    history = [Message.user("hi")]
    request = LLMRequest(messages=history, params={"temperature": 0})
    asyncio.run(model.acomplete(request))
    history.append(Message.user("later"))  # the caller goes on with its own list
    request.params["temperature"] = 1
    kept = model.calls[0].request
    assert [m.content for m in kept.messages] == ["hi"]
    assert kept.params == {"temperature": 0}
    assert kept.messages[0] is history[0]  # shared, not copied
