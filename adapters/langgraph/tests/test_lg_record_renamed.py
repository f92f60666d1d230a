"""create_agent names its model's answer after the call ended: the next request records the
answer under its new name, the rest of it as answered."""

from __future__ import annotations

import asyncio

from langchain.agents import create_agent
from nex_langgraph import arecord, bridge_model

from nex_core import ScriptedModel
from nex_core.trajectory.schema import LLMStep


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def test_a_renamed_answer_is_recorded_with_its_new_name_in_later_requests() -> None:
    script = [
        {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]},
        {"tool_calls": [{"name": "add", "arguments": {"a": 5, "b": 1}}]},
        {"text": "6"},
    ]
    graph = create_agent(
        bridge_model(ScriptedModel(script)), [add], system_prompt="Add.", name="lead"
    )
    traj = asyncio.run(arecord(graph, "2+3, then +1"))
    llm = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert len(llm) == 3
    first_answer = llm[0].response.message if llm[0].response else None
    assert first_answer is not None
    for later in llm[1:]:
        answers = [m for m in later.request.messages if m.role == "assistant"]
        assert answers and all(m.name == "lead" for m in answers)
        resent = answers[0]
        # The same answer apart from the name create_agent gave it.
        assert resent.model_dump(exclude={"name"}) == first_answer.model_dump(exclude={"name"})
