"""Recording-shape cases: the mechanism, and that hooks and recorders that get a shape wrong are
caught, each by the check meant to catch it. The faulty adapters wrap the LangGraph adapter (a
real framework recording a real app) and spoil one thing."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from nex_conformance import Verdict, run_case, select
from nex_conformance.engine import CaseResult
from nex_conformance.scenario import ShapeExpectation, ShapeScenario
from nex_conformance.shapes import (
    SHAPES,
    NotApplicable,
    ShapeModel,
    agent_placeholders,
    bind,
    names_problems,
    repeated,
    substitute,
)

from nex_core import Capability, Trajectory
from nex_core.adapter import Conversion, ConversionReport
from nex_core.models.scripted import Script
from nex_core.runtime.plugin import NativeAdapter
from nex_core.trajectory.schema import (
    InputStep,
    LLMRequest,
    LLMStep,
    SubAgentStep,
    ToolSchema,
)

nex_langgraph = pytest.importorskip("nex_langgraph")
LangGraphAdapter = nex_langgraph.LangGraphAdapter


def _case(adapter: Any, shape: str) -> CaseResult:
    (scenario,) = select([shape])
    return run_case(adapter, scenario)


def _failed(result: CaseResult) -> dict[str, str]:
    assert result.verdict is Verdict.FAIL, result.explain()
    return {c.name: c.detail for c in result.failures()}


class _Spoiled(LangGraphAdapter):  # type: ignore[misc,valid-type]
    """Records the hook's app with LangGraph, then spoils the trajectory in place (the sinks
    hold the same object)."""

    runs = 0

    async def arecord(self, obj: Any, task: Any, **kw: Any) -> Trajectory:
        traj: Trajectory = await super().arecord(obj, task, **kw)
        type(self).runs += 1
        self.spoil(traj)
        return traj

    def spoil(self, traj: Trajectory) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- not applicable


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_native_is_not_applicable_with_the_reason(native: NativeAdapter, shape: str) -> None:
    result = _case(native, shape)
    assert result.verdict is Verdict.NOT_APPLICABLE and result.checks == []
    reason = "names its agents" if shape == "unnamed_agent_as_tool" else "state is always messages"
    assert reason in result.explain()
    assert result.as_dict()["reason"] == result.reason


class _NoSuchShape(LangGraphAdapter):  # type: ignore[misc,valid-type]
    def kit_shape_app(self, shape: str, model: Any) -> Any:
        if shape == "non_message_state":
            return NotApplicable("this framework's state is always messages")
        return None


def test_a_hook_declining_a_shape_makes_it_not_applicable_with_its_reason() -> None:
    declined = _case(_NoSuchShape(), "non_message_state")
    assert declined.verdict is Verdict.NOT_APPLICABLE
    assert declined.explain() == "not applicable: this framework's state is always messages"
    unknown = _case(_NoSuchShape(), "unnamed_agent_as_tool")
    assert unknown.verdict is Verdict.NOT_APPLICABLE
    assert "builds no app of shape unnamed_agent_as_tool" in unknown.explain()


class _RaisingHook(LangGraphAdapter):  # type: ignore[misc,valid-type]
    def kit_shape_app(self, shape: str, model: Any) -> Any:
        raise RuntimeError("cannot build")


def test_a_hook_that_raises_fails_the_case() -> None:
    detail = _failed(_case(_RaisingHook(), "unnamed_agent_as_tool"))
    assert "kit_shape_app('unnamed_agent_as_tool') raised" in detail["run"]
    assert "cannot build" in detail["run"]


# --------------------------------------------------------------------------- unnamed agents


class _BothNamedAgent(_Spoiled):
    """Records every agent as ``agent`` (what a recorder that takes names at face value and
    falls back to one default does)."""

    def spoil(self, traj: Trajectory) -> None:
        for step in traj.steps:
            step.agent = "agent"
            if isinstance(step, SubAgentStep):
                step.child = "agent"


def test_both_agents_recorded_as_agent_is_caught_by_the_names_check() -> None:
    detail = _failed(_case(_BothNamedAgent(), "unnamed_agent_as_tool"))
    assert "the agents $parent and $child are both recorded as 'agent'" in detail["names"]
    assert "outline" not in detail  # the outline alone cannot tell: each placeholder binds


class _Flattened(_Spoiled):
    """Drops the sub-agent step and hangs the child's calls at the top level."""

    def spoil(self, traj: Trajectory) -> None:
        subs = {s.id for s in traj.steps if isinstance(s, SubAgentStep)}
        traj.steps = [s for s in traj.steps if s.id not in subs]
        for step in traj.steps:
            if step.parent_id in subs:
                step.parent_id = None


def test_a_flattened_sub_agent_is_caught_by_the_outline() -> None:
    detail = _failed(_case(_Flattened(), "unnamed_agent_as_tool"))
    assert detail["outline"].startswith("--- expected outline (scenario, placeholders filled in)")
    assert '-          "subagent": "$child"' in detail["outline"]
    assert "no agent name recorded for $child" in detail["names"]


class _FlatteningHook(LangGraphAdapter):  # type: ignore[misc,valid-type]
    """A hook whose "sub-agent" is not an agent: the tool calls the model itself, twice, so
    nothing nests under the tool call (the shape is not the one asked for)."""

    def kit_shape_app(self, shape: str, model: Any) -> Any:
        from langchain.agents import create_agent
        from langchain_core.tools import tool
        from nex_conformance.toolkit import country_of

        llm = nex_langgraph.bridge_model(model)

        @tool("research", description="Research a question about a city and answer it.")
        def research(query: str) -> str:
            llm.invoke(query)
            country_of("Lagos")
            return str(llm.invoke(query).content)

        return create_agent(llm, [research], system_prompt="Delegate.")


def test_a_hook_that_flattens_the_nesting_is_caught() -> None:
    detail = _failed(_case(_FlatteningHook(), "unnamed_agent_as_tool"))
    assert '"subagent"' in detail["outline"]
    # The tool the app ran by hand has no tool step: the side records say so too.
    assert "a real tool invocation is missing from the trajectory" in detail["records"]


class _Unstable(_Spoiled):
    """Names the child afresh on every run (a counter, as a recorder keyed on object ids may)."""

    counter = itertools.count(1)

    def spoil(self, traj: Trajectory) -> None:
        fresh = f"research_{next(self.counter)}"
        for step in traj.steps:
            if step.agent == "research":
                step.agent = fresh
            if isinstance(step, SubAgentStep):
                step.child = fresh


def test_names_that_change_between_runs_are_caught() -> None:
    detail = _failed(_case(_Unstable(), "unnamed_agent_as_tool"))
    assert "agent names changed between run 1 and run 2" in detail["names"]
    assert "research_1" in detail["names"] and "research_2" in detail["names"]


class _SilentConversion(LangGraphAdapter):  # type: ignore[misc,valid-type]
    """Converts the app but says nothing of the names it made up."""

    def to_spec(self, obj: Any) -> Conversion:
        conversion: Conversion = super().to_spec(obj)
        kept = [i for i in conversion.report.items if "name" not in i.what]
        return Conversion(conversion.spec, ConversionReport(kept))


def test_a_conversion_that_hides_the_defaulted_names_is_caught() -> None:
    detail = _failed(_case(_SilentConversion(), "unnamed_agent_as_tool"))
    assert "does not say that agent 'agent' ($parent) had no name" in detail["report"]
    assert "does not say that agent 'research' ($child) had no name" in detail["report"]


class _NoConversion(LangGraphAdapter):  # type: ignore[misc,valid-type]
    capabilities = LangGraphAdapter.capabilities - {Capability.CONVERT_FROM}


def test_an_adapter_that_does_not_convert_is_not_asked_for_a_report() -> None:
    result = _case(_NoConversion(), "unnamed_agent_as_tool")
    assert result.verdict is Verdict.PASS, result.explain()
    assert "report" not in {c.name for c in result.checks}


# --------------------------------------------------------------------------- non-message state


class _InputFromState(_Spoiled):
    """Records the input as the state the graph ended with."""

    def spoil(self, traj: Trajectory) -> None:
        for step in traj.steps:
            if isinstance(step, InputStep) and traj.outcome is not None:
                step.value = traj.outcome.structured_output


class _NodeCallsAsGraph(_Spoiled):
    """Attributes the nodes' model calls to the graph, not to the node that made them."""

    def spoil(self, traj: Trajectory) -> None:
        for step in traj.steps:
            if isinstance(step, LLMStep):
                step.agent = traj.root_agent


class _OutputAsText(_Spoiled):
    """Keeps the last model answer as the output instead of what the graph returned."""

    def spoil(self, traj: Trajectory) -> None:
        assert traj.outcome is not None
        traj.outcome.structured_output = None
        traj.outcome.final_output = "Lagos is in Nigeria."


@pytest.mark.parametrize(
    ("adapter", "shown"),
    [
        (_InputFromState, '"question": "Lagos country"'),
        (_NodeCallsAsGraph, '"llm": "agent"'),
        (_OutputAsText, '"final_output": "Lagos is in Nigeria."'),
    ],
    ids=["input-from-state", "node-calls-as-graph", "output-as-text"],
)
def test_a_wrong_record_of_a_non_message_workflow_is_caught(adapter: type, shown: str) -> None:
    detail = _failed(_case(adapter(), "non_message_state"))
    assert shown in detail["outline"]


def test_a_workflow_that_breaks_the_shape_contract_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A retrieve node that does not use the contract's retriever (here: finds nothing)."""
    from nex_conformance import toolkit

    monkeypatch.setattr(toolkit, "search_docs", lambda query: [])
    detail = _failed(_case(LangGraphAdapter(), "non_message_state"))
    assert '"docs": []' in detail["outline"]


# --------------------------------------------------------------------------- the mechanism


def test_placeholders_bind_names_keys_and_substitute_back() -> None:
    expected = {"llm": "$parent", "args": {"$task": "go", "fixed": 1}, "tool": "$agent_tool"}
    actual = {"llm": "agent", "args": {"query": "go", "fixed": 1}, "tool": "research"}
    bindings: dict[str, Any] = {}
    bind(expected, actual, bindings)
    assert bindings == {"$parent": "agent", "$task": "query", "$agent_tool": "research"}
    assert substitute(expected, bindings) == actual
    assert substitute("$unbound", bindings) == "$unbound"


def test_the_model_fills_in_the_offered_tool_and_its_argument() -> None:
    model = ShapeModel(
        repeated(Script(replies=[{"tool_calls": [{"name": "$tool", "arguments": {"$a": "x"}}]}]))
    )
    assert model.remaining() == 2
    offered = [
        ToolSchema(name="country_of"),
        ToolSchema(
            name="ask_helper",
            parameters={"type": "object", "properties": {"task": {}}, "required": ["task"]},
        ),
    ]
    response = model.complete(LLMRequest(messages=[], tools=offered))
    (call,) = response.message.tool_calls or []
    assert (call.name, call.parsed_arguments()) == ("ask_helper", {"task": "x"})
    assert model.exchanges[0].response is not None
    assert model.exchanges[0].response.message.tool_calls == [call]


def test_names_must_be_unique_and_stable() -> None:
    (scenario,) = select(["unnamed_agent_as_tool"])
    assert isinstance(scenario, ShapeScenario)
    expect: ShapeExpectation = scenario.expect
    assert agent_placeholders(expect) == ["$parent", "$child"]
    good = {"$parent": "a", "$child": "b"}
    assert names_problems(expect, [good, dict(good)]) == []
    assert names_problems(expect, [good, {"$parent": "a", "$child": "c"}])
    assert names_problems(expect, [{"$parent": "a", "$child": "a"}] * 2)
    assert names_problems(expect, [{"$parent": "a"}] * 2)


def test_the_markdown_matrix_says_why_a_shape_is_not_applicable(
    native: NativeAdapter, tmp_path: Any
) -> None:
    from nex_conformance.cli import run_kit

    report = run_kit(adapters=[native], scenario_ids=sorted(SHAPES))
    md = report.write(tmp_path)["markdown"].read_text(encoding="utf-8")
    assert "## Not applicable, and why" in md
    assert "- `unnamed_agent_as_tool` on native: the adapter has no kit_shape_app hook" in md
