"""The recorded request, built without pydantic's validator (``RecordingClient._request``:
new lists of records and a new params dict), holds what the validated one holds, so a schema
change shows here and not in a trajectory."""

from __future__ import annotations

import asyncio
from typing import Any

from autogen_core.models import SystemMessage, UserMessage
from nex_autogen import bridge_model
from nex_autogen.record import RecordingClient

from nex_core import ScriptedModel
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import LLMRequest, Provenance


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


def _recorder() -> Recorder:
    return Recorder(provenance=Provenance(framework="autogen", adapter="autogen", nex_version="0"))


def test_recorded_request_is_the_validated_one() -> None:
    client = bridge_model(ScriptedModel({"replies": [{"text": "ok"}]}), agent="a")
    recorder = _recorder()
    wrapped = RecordingClient(client, agent="a", recorder=recorder)
    messages = [SystemMessage(content="Be brief."), UserMessage(content="hi", source="user")]
    tools = [{"name": "add", "description": "Add.", "parameters": {"type": "object"}}]
    request = wrapped._request(messages, tools, "auto", {"temperature": 0.5})
    validated = LLMRequest(messages=request.messages, tools=request.tools, params=request.params)
    _same(request, validated)
    assert request.model_dump_json() == validated.model_dump_json()
    assert request.params == {"temperature": 0.5}
    result = asyncio.run(wrapped.create(messages, tools=tools))
    assert result.content == "ok"
    step = recorder.trajectory.steps[0]
    assert step.response is not None and step.response.message.content == "ok"
