"""The kit's recording shapes on LangGraph: the hook's apps are LangGraph's own objects, and the
kit's cases pass through the adapter's zero-change recording path."""

from __future__ import annotations

import pytest
from langgraph.graph.state import CompiledStateGraph
from nex_conformance import Verdict, run_case, select
from nex_conformance.shapes import SHAPES
from nex_langgraph import LangGraphAdapter, record, to_spec
from nex_langgraph._kit_shapes import kit_shape_app

from nex_core import ScriptedModel


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_kit_passes_langgraph_on_every_shape(shape: str) -> None:
    (scenario,) = select([shape])
    result = run_case(LangGraphAdapter(), scenario)
    assert result.verdict is Verdict.PASS, result.explain()
    names = [c.name for c in result.checks]
    assert names.count("outline") == 2 and "names" in names


def test_the_apps_are_plain_langgraph_graphs_without_names() -> None:
    app = kit_shape_app("unnamed_agent_as_tool", ScriptedModel([]))
    assert isinstance(app, CompiledStateGraph)
    assert app.name == "LangGraph"  # create_agent's default: no name was given
    conversion = to_spec(app)
    assert [a.name for a in conversion.spec.walk()] == ["agent", "research"]
    assert kit_shape_app("no_such_shape", ScriptedModel([])) is None


def test_the_workflow_returns_its_state_and_records_it_as_returned() -> None:
    model = ScriptedModel([{"text": "Tokyo country"}, {"text": "Japan"}])
    app = kit_shape_app("non_message_state", model)
    traj = record(app, {"question": "Where is Tokyo?"})
    assert traj.outcome is not None
    assert traj.outcome.structured_output == {
        "question": "Tokyo country",
        "docs": ["Tokyo is a city in Japan with 14192184 people."],
        "answer": "Japan",
    }
    assert [s.agent for s in traj.steps if s.kind == "llm"] == ["rewrite", "generate"]
