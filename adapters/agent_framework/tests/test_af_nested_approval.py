"""Approval inside agents used as tools on Agent Framework, held to the native runtime: the
whole run pauses where the sub-agent asked, and each resume carries the call on. Every stage's
normal form must equal native's (``run_native`` / ``resume_native`` on the same script)."""

from __future__ import annotations

from typing import Any

import pytest
from af_support import run
from nex_agent_framework import AgentFrameworkAdapter

from nex_core import AgentSpec, ScriptedModel, TaskInfo, ToolSpec
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import ContextMode, SubAgentSpec
from nex_core.runtime.loop import run_native
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.schema import StepStatus, ToolStep

RAN: list[str] = []


def publish(text: str) -> str:
    RAN.append(text)
    return f"published {text}"


def lookup(q: str) -> str:
    RAN.append(f"lookup {q}")
    return f"found {q}"


def _params(*names: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {n: {"type": "string"} for n in names},
        "required": list(names),
    }


PUBLISH = ToolSpec(
    name="publish",
    description="Publish.",
    parameters=_params("text"),
    binding=publish,
    approval="required",
)
LOOKUP = ToolSpec(name="lookup", description="Look up.", parameters=_params("q"), binding=lookup)


def _agent(name: str, *subs: AgentSpec, tools: list[ToolSpec] | None = None) -> AgentSpec:
    return AgentSpec(
        name=name,
        system_prompt=f"You are {name}.",
        description=f"The {name}.",
        tools=tools or [],
        sub_agents=[SubAgentSpec(agent=s, mode=ContextMode.TOOL) for s in subs],
    )


def call(id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": id, "name": name, "arguments": arguments}


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


def _stages(
    adapter: AgentFrameworkAdapter,
    spec: AgentSpec,
    script: dict[str, Any],
    decisions: list[Any],
) -> tuple[list[Any], list[Any], list[list[str]]]:
    """Normal forms of each stage (the run, then a resume per decision) on Agent Framework
    and natively, and what the tools ran in each stage on Agent Framework."""
    task = TaskInfo(id="t", turns=["go"])

    async def both() -> tuple[list[Any], list[Any], list[list[str]]]:
        af_model, native_model = ScriptedModel(script), ScriptedModel(script)
        af = await adapter.arun(spec, task, model=af_model)
        ran = [list(RAN)]
        native = await run_native(spec, task, model=native_model)
        forms: tuple[list[Any], list[Any]] = ([normalize(af)], [normalize(native)])
        for decision in decisions:
            RAN.clear()
            af = await adapter.aresume(spec, af, decision, model=af_model)
            ran.append(list(RAN))
            native = await resume_native(spec, native, decision, model=native_model)
            forms[0].append(normalize(af))
            forms[1].append(normalize(native))
        return forms[0], forms[1], ran

    return run(both())


APPROVE = Decision(action="approve")


@pytest.mark.parametrize(
    "decision",
    [
        APPROVE,
        Decision(action="reject", message="Not yet."),
        Decision(action="edit", arguments={"text": "edited"}),
    ],
    ids=["approve", "reject", "edit"],
)
def test_a_sub_agent_pauses_the_run_as_natively(
    adapter: AgentFrameworkAdapter, decision: Decision
) -> None:
    spec = _agent("boss", _agent("mailer", tools=[PUBLISH]))
    script = {
        "agents": {
            "boss": [{"tool_calls": [call("b1", "mailer", task="post it")]}, {"text": "boss done"}],
            "mailer": [{"tool_calls": [call("m1", "publish", text="hi")]}, {"text": "mailer done"}],
        }
    }
    af, native, ran = _stages(adapter, spec, script, [decision])
    assert af == native
    assert af[0]["outcome"]["pending"][0]["path"] == ["boss", "mailer"]
    assert ran[0] == []
    assert ran[1] == {"approve": ["hi"], "reject": [], "edit": ["edited"]}[decision.action]


def test_two_levels_deep_paused_twice_matches_native(adapter: AgentFrameworkAdapter) -> None:
    spec = _agent("lead", _agent("researcher", _agent("checker", tools=[PUBLISH])))
    script = {
        "agents": {
            "lead": [{"tool_calls": [call("l1", "researcher", task="r")]}, {"text": "lead done"}],
            "researcher": [
                {"tool_calls": [call("r1", "checker", task="c")]},
                {"text": "researched"},
            ],
            "checker": [
                {"tool_calls": [call("c1", "publish", text="one")]},
                {"tool_calls": [call("c2", "publish", text="two")]},
                {"text": "checked"},
            ],
        }
    }
    af, native, ran = _stages(adapter, spec, script, [APPROVE, APPROVE])
    assert af == native
    assert [f["outcome"]["status"] for f in af] == ["interrupted", "interrupted", "completed"]
    assert af[1]["outcome"]["pending"][0]["path"] == ["lead", "researcher", "checker"]
    assert ran == [[], ["one"], ["two"]]


def test_a_parallel_sibling_runs_once_and_two_paused_sub_agents_wait_together(
    adapter: AgentFrameworkAdapter,
) -> None:
    spec = _agent(
        "boss",
        _agent("mailer", tools=[PUBLISH]),
        _agent("poster", tools=[PUBLISH]),
        tools=[LOOKUP],
    )
    script = {
        "agents": {
            "boss": [
                {
                    "tool_calls": [
                        call("b1", "mailer", task="mail"),
                        call("b2", "lookup", q="x"),
                        call("b3", "poster", task="post"),
                    ]
                },
                {"text": "boss done"},
            ],
            "mailer": [{"tool_calls": [call("m1", "publish", text="m")]}, {"text": "mailed"}],
            "poster": [{"tool_calls": [call("p1", "publish", text="p")]}, {"text": "posted"}],
        }
    }
    decisions = {"m1": APPROVE, "p1": Decision(action="reject", message="No.")}
    af, native, ran = _stages(adapter, spec, script, [decisions])
    assert af == native
    assert [p["tool_call_id"] for p in af[0]["outcome"]["pending"]] == ["m1", "p1"]
    assert ran == [["lookup x"], ["m"]]  # the sibling is not run again


def test_the_paused_steps_are_closed_cancelled_with_the_waiting_calls(
    adapter: AgentFrameworkAdapter,
) -> None:
    spec = _agent("boss", _agent("mailer", tools=[PUBLISH]))
    script = {
        "agents": {
            "boss": [{"tool_calls": [call("b1", "mailer", task="post it")]}, {"text": "ok"}],
            "mailer": [{"tool_calls": [call("m1", "publish", text="hi")]}, {"text": "done"}],
        }
    }
    paused = run(adapter.arun(spec, "go", model=ScriptedModel(script)))
    open_steps = [s for s in paused.steps if s.status is StepStatus.CANCELLED]
    assert [s.kind for s in open_steps] == ["tool", "subagent"]
    assert all(s.metadata["pending"] == ["m1"] and s.error is None for s in open_steps)
    tool = open_steps[0]
    assert isinstance(tool, ToolStep) and tool.result is None


def test_an_agent_tool_without_approval_is_still_the_frameworks_as_tool(
    adapter: AgentFrameworkAdapter,
) -> None:
    from nex_agent_framework.build import build_agent
    from nex_agent_framework.tools import agent_of_tool

    spec = _agent("boss", _agent("mailer", tools=[PUBLISH]), _agent("reader", tools=[LOOKUP]))
    boss = build_agent(spec, ScriptedModel([]))
    tools = {t.name: t for t in boss.default_options["tools"]}
    assert ".as_tool." in tools["reader"].func.__qualname__
    assert agent_of_tool(tools["mailer"]).name == "mailer"


def test_a_streamed_run_pauses_inside_a_sub_agent_and_resumes(
    adapter: AgentFrameworkAdapter,
) -> None:
    spec = _agent("boss", _agent("mailer", tools=[PUBLISH]))
    script = {
        "agents": {
            "boss": [{"tool_calls": [call("b1", "mailer", task="post it")]}, {"text": "ok"}],
            "mailer": [{"tool_calls": [call("m1", "publish", text="hi")]}, {"text": "done"}],
        }
    }

    async def both() -> tuple[list[Any], list[Any], list[str]]:
        af_model, native_model = ScriptedModel(script), ScriptedModel(script)
        task = TaskInfo(id="t", turns=["go"])
        af = await adapter.arun(spec, task, model=af_model, mode="stream")
        native = await run_native(spec, task, model=native_model)
        forms = ([normalize(af)], [normalize(native)])
        RAN.clear()
        af = await adapter.aresume(spec, af, APPROVE, model=af_model, mode="stream")
        ran = list(RAN)
        native = await resume_native(spec, native, APPROVE, model=native_model)
        forms[0].append(normalize(af))
        forms[1].append(normalize(native))
        return forms[0], forms[1], ran

    af, native, ran = run(both())
    assert af == native and ran == ["hi"]


def test_outside_the_adapters_run_a_nested_request_fails_the_call(
    adapter: AgentFrameworkAdapter,
) -> None:
    from nex_agent_framework.build import build_agent

    spec = _agent("boss", _agent("mailer", tools=[PUBLISH]))
    script = {
        "agents": {
            "boss": [{"tool_calls": [call("b1", "mailer", task="post it")]}, {"text": "gave up"}],
            "mailer": [{"tool_calls": [call("m1", "publish", text="hi")]}],
        }
    }
    boss = build_agent(spec, ScriptedModel(script))
    response = run(boss.run("go"))
    assert response.text == "gave up" and RAN == []
    results = [c for m in response.messages for c in m.contents if c.type == "function_result"]
    assert "only a run of the adapter (arun / aresume) can pause there" in str(results[0].result)
