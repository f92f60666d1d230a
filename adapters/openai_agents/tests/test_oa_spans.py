"""The span dispatch by exact class (``_spans._KINDS``): a subclass of an SDK span data class
counts as its base, sorted once by ``isinstance``."""

from __future__ import annotations

from agents.tracing.span_data import (
    AgentSpanData,
    CustomSpanData,
    FunctionSpanData,
    HandoffSpanData,
    TurnSpanData,
)
from nex_openai_agents import _spans


class _MyFunction(FunctionSpanData):
    pass


class _MyAgent(AgentSpanData):
    pass


def test_kinds_of_the_sdk_classes_and_their_subclasses() -> None:
    cases = [
        (AgentSpanData(name="a"), _spans._AGENT),
        (_MyAgent(name="a"), _spans._AGENT),
        (TurnSpanData(turn=1, agent_name="a"), _spans._TURN),
        (FunctionSpanData(name="f", input=None, output=None), _spans._FUNCTION),
        (_MyFunction(name="f", input=None, output=None), _spans._FUNCTION),
        (HandoffSpanData(from_agent="a", to_agent="b"), _spans._HANDOFF),
        (CustomSpanData(name="c", data={}), _spans._OTHER),
    ]
    for data, kind in cases:
        _spans._KINDS.pop(type(data), None)
        assert _spans._kind_of(data) == kind, type(data)
        assert _spans._KINDS[type(data)] == kind  # filled once, then looked up by type()
