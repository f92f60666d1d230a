"""Tool approval on LangGraph: a spec's ``approval: required`` tools pause the run through
LangChain's ``HumanInTheLoopMiddleware``, ``aresume`` continues it with the human's decisions, and
both runs read as ``nex_core.protocol.approval`` prescribes (the expected outlines below are
written by hand from that contract). A user's own HITL app records the same shapes; the middleware
converts to ``approval: required`` and back."""

from __future__ import annotations

import asyncio
from typing import Any

import lg_specs
import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from lg_tools import add, multiply
from nex_langgraph import LangGraphAdapter, arecord, bridge_model, from_spec, to_spec

from nex_core import AdapterError, ScriptedModel, normalize
from nex_core.adapter import Capability
from nex_core.protocol.approval import Decision
from nex_core.protocol.loader import spec_from_data
from nex_core.trajectory.schema import LLMStep, Trajectory

ADAPTER = LangGraphAdapter()


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def gated(name: str, func: str) -> dict[str, Any]:
    return {**lg_specs.tool(name, func), "approval": "required"}


def calc(*, gate: tuple[str, ...] = ("add",)) -> Any:
    tools = [gated(n, n) if n in gate else lg_specs.tool(n, n) for n in ("add", "multiply")]
    return spec_from_data({"name": "calc", "system_prompt": "You calculate.", "tools": tools})


BOTH = [{"tool_calls": [call("add", a=1, b=2), call("multiply", a=2, b=3)]}, {"text": "done"}]


def outline(traj: Trajectory) -> list[Any]:
    """The normal form, step by step: what the model was shown and answered, what each tool
    step ran with and gave, the resume value; a batch of tool steps compared as a set."""
    out: list[Any] = []
    batch: list[Any] = []
    for step in normalize(traj)["steps"]:
        if step["kind"] == "tool":
            result = step.get("error") or step.get("result")
            batch.append(("tool", step["agent"], step["name"], step["arguments"], result))
            continue
        if batch:
            out.append(sorted(batch, key=repr))
            batch = []
        if step["kind"] == "input":
            out.append(("input", step["mode"], step["value"]))
        elif step["kind"] == "llm":
            shown = [m.get("content") for m in step["request"]["messages"] if m["role"] == "tool"]
            response = step["response"]
            asked = [(c["name"], c["arguments"]) for c in response.get("tool_calls", [])]
            out.append(("llm", step["agent"], shown, response.get("content"), asked))
        else:
            out.append((step["kind"], step.get("child"), step.get("mode")))
    if batch:
        out.append(sorted(batch, key=repr))
    return out


def call_ids(traj: Trajectory) -> dict[str, str]:
    """Tool name → id of the model's call (the script calls each tool once)."""
    llm = [s for s in traj.steps if isinstance(s, LLMStep)][-1]
    assert llm.response is not None
    return {c.function.name: c.id for c in llm.response.message.tool_calls or []}


def pause(spec: Any, script: Any, mode: str = "ainvoke") -> tuple[Trajectory, ScriptedModel]:
    model = ScriptedModel(script)
    paused = asyncio.run(ADAPTER.arun(spec, "compute", model=model, mode=mode))  # type: ignore[arg-type]
    return paused, model


def request(traj: Trajectory, tool: str, agent: str = "calc", **arguments: Any) -> dict[str, Any]:
    return {
        "type": "tool_approval",
        "agent": agent,
        "tool": tool,
        "tool_call_id": call_ids(traj)[tool],
        "arguments": arguments,
    }


# --------------------------------------------------------------------------- built from a spec


def test_the_adapter_declares_tool_approval() -> None:
    assert ADAPTER.supports(Capability.TOOL_APPROVAL)


@pytest.mark.parametrize("mode", ["ainvoke", "invoke"])
def test_approve_one_pending_call(mode: str) -> None:
    paused, model = pause(calc(), BOTH, mode)
    assert outline(paused) == [
        ("llm", "calc", [], None, [("add", {"a": 1, "b": 2}), ("multiply", {"a": 2, "b": 3})])
    ]
    assert paused.outcome is not None and paused.outcome.stop_reason == "approval_required"
    assert normalize(paused)["outcome"] == {
        "status": "interrupted",
        "final_output": None,
        "pending": [request(paused, "add", a=1, b=2)],
    }
    ids = call_ids(paused)
    resumed = asyncio.run(
        ADAPTER.aresume(calc(), paused, Decision(action="approve"), model=model, mode=mode)  # type: ignore[call-arg]
    )
    assert resumed.session_id == paused.session_id is not None
    assert outline(resumed) == [
        ("input", "resume", {ids["add"]: {"action": "approve"}}),
        [
            ("tool", "calc", "add", {"a": 1, "b": 2}, "3"),
            ("tool", "calc", "multiply", {"a": 2, "b": 3}, "6"),
        ],
        ("llm", "calc", ["3", "6"], "done", []),
    ]
    assert normalize(resumed)["outcome"] == {"status": "completed", "final_output": "done"}


def test_reject_and_edit_two_pending_calls() -> None:
    spec = calc(gate=("add", "multiply"))
    paused, model = pause(spec, BOTH)
    assert [p["tool"] for p in paused.outcome.pending or []] == ["add", "multiply"]  # type: ignore[union-attr]
    ids = call_ids(paused)
    decisions = {
        ids["add"]: Decision(action="reject", message="Too small to bother."),
        ids["multiply"]: Decision(action="edit", arguments={"a": 10, "b": 20}),
    }
    resumed = asyncio.run(ADAPTER.aresume(spec, paused, decisions, model=model))
    rejected = {"type": "ToolCallRejected", "message": "Too small to bother."}
    assert outline(resumed) == [
        (
            "input",
            "resume",
            {
                ids["add"]: {"action": "reject", "message": "Too small to bother."},
                ids["multiply"]: {"action": "edit", "arguments": {"a": 10, "b": 20}},
            },
        ),
        [
            ("tool", "calc", "add", {"a": 1, "b": 2}, rejected),
            ("tool", "calc", "multiply", {"a": 10, "b": 20}, "200"),
        ],
        # In the model's order, with exactly the rejection's text and no reviewer's notice.
        ("llm", "calc", ["Too small to bother.", "200"], "done", []),
    ]


def test_one_rejection_for_every_pending_call_uses_the_default_text() -> None:
    spec = calc(gate=("add", "multiply"))
    paused, model = pause(spec, BOTH)
    resumed = asyncio.run(ADAPTER.aresume(spec, paused, Decision(action="reject"), model=model))
    texts = ["The user rejected the call to 'add'.", "The user rejected the call to 'multiply'."]
    steps = outline(resumed)
    assert steps[1] == [
        (
            "tool",
            "calc",
            "add",
            {"a": 1, "b": 2},
            {"type": "ToolCallRejected", "message": texts[0]},
        ),
        (
            "tool",
            "calc",
            "multiply",
            {"a": 2, "b": 3},
            {"type": "ToolCallRejected", "message": texts[1]},
        ),
    ]
    assert steps[2] == ("llm", "calc", texts, "done", [])


def test_a_tool_that_needs_no_approval_runs_without_a_pause() -> None:
    script = [{"tool_calls": [call("multiply", a=2, b=3)]}, {"text": "six"}]
    traj, _ = pause(calc(), script)
    assert traj.outcome is not None and traj.outcome.final_output == "six"


def test_a_swarm_member_pauses_and_resumes() -> None:
    billing = {
        "name": "billing",
        "description": "Billing questions.",
        "system_prompt": "You bill.",
        "tools": [gated("multiply", "multiply")],
    }
    spec = spec_from_data(
        {
            "name": "triage",
            "system_prompt": "You triage.",
            "tools": [lg_specs.tool("add", "add")],
            "sub_agents": [{"mode": "handoff", "agent": billing}],
        }
    )
    script = {
        "agents": {
            "triage": [{"tool_calls": [call("transfer_to_billing")]}],
            "billing": [{"tool_calls": [call("multiply", a=2, b=3)]}, {"text": "6 dollars"}],
        }
    }
    paused, model = pause(spec, script)
    assert normalize(paused)["outcome"]["pending"] == [
        request(paused, "multiply", agent="billing", a=2, b=3)
    ]
    resumed = asyncio.run(ADAPTER.aresume(spec, paused, Decision(action="approve"), model=model))
    steps = outline(resumed)
    assert steps[0] == ("input", "resume", {call_ids(paused)["multiply"]: {"action": "approve"}})
    assert ("tool", "billing", "multiply", {"a": 2, "b": 3}, "6") in steps[1]
    assert resumed.outcome is not None and resumed.outcome.final_output == "6 dollars"


def test_a_supervisors_own_approval_tool_is_refused_naming_the_tool() -> None:
    spec = spec_from_data(
        {
            "name": "boss",
            "system_prompt": "You lead.",
            "tools": [gated("add", "add")],
            "sub_agents": [{"mode": "handoff", "agent": {"name": "w", "system_prompt": "Work."}}],
            "extensions": {"langgraph": {"pattern": "supervisor"}},
        }
    )
    with pytest.raises(AdapterError, match=r"tool 'add' of supervisor 'boss'"):
        from_spec(spec, model=ScriptedModel([]))


def test_an_agent_used_as_a_tool_pauses_the_run_and_its_siblings_run_once() -> None:
    from nex_conformance import toolkit

    kit_add = {**lg_specs.tool("add", "add"), "binding": "nex_conformance.toolkit:add"}
    kit_mul = {**lg_specs.tool("multiply", "m"), "binding": "nex_conformance.toolkit:multiply"}
    helper = {
        "name": "helper",
        "system_prompt": "You help.",
        "tools": [{**kit_add, "approval": "required"}],
    }
    spec = spec_from_data(
        {
            "name": "lead",
            "system_prompt": "You lead.",
            "tools": [kit_mul],
            "sub_agents": [{"agent": helper}],
        }
    )
    script = {
        "agents": {
            "lead": [
                {
                    "tool_calls": [
                        {"id": "l1", "name": "multiply", "arguments": {"a": 2, "b": 3}},
                        {"id": "l2", "name": "helper", "arguments": {"task": "add 1 and 2"}},
                    ]
                },
                {"text": "6 and 3"},
            ],
            "helper": [
                {"tool_calls": [{"id": "h1", "name": "add", "arguments": {"a": 1, "b": 2}}]},
                {"text": "3"},
            ],
        }
    }
    with toolkit.capture() as log:
        paused, model = pause(spec, script)
        assert paused.outcome is not None and paused.outcome.status.value == "interrupted"
        (asked,) = paused.outcome.pending or []
        assert (asked["agent"], asked["tool_call_id"], asked["path"]) == (
            "helper",
            "h1",
            ["lead", "helper"],
        )
        open_call = next(s for s in paused.steps if getattr(s, "call_id", None) == "l2")
        assert (open_call.status.value, open_call.error) == ("cancelled", None)
        assert open_call.metadata["pending"] == ["h1"]
        resumed = asyncio.run(
            ADAPTER.aresume(spec, paused, Decision(action="approve"), model=model)
        )
    assert resumed.outcome is not None and resumed.outcome.final_output == "6 and 3"
    assert sorted(i.tool for i in log) == ["add", "multiply"]  # multiply is not run again
    again = next(s for s in resumed.steps if getattr(s, "call_id", None) == "l2")
    assert again.result == "3"  # type: ignore[union-attr]
    shown = [m.text() for m in model.calls[-1].request.messages if m.role == "tool"]
    assert sorted(shown) == ["3", "6"]


def test_a_resume_needs_the_pause_and_a_decision_for_every_call() -> None:
    spec = calc(gate=("add", "multiply"))
    paused, model = pause(spec, BOTH)
    with pytest.raises(AdapterError, match="no decision for pending call"):
        asyncio.run(
            ADAPTER.aresume(
                spec, paused, {call_ids(paused)["add"]: Decision(action="approve")}, model=model
            )
        )
    asyncio.run(ADAPTER.aresume(spec, paused, Decision(action="approve"), model=model))
    with pytest.raises(AdapterError, match="already resumed"):
        asyncio.run(ADAPTER.aresume(spec, paused, Decision(action="approve"), model=model))


# --------------------------------------------------------------------------- the user's own app


def user_app(model: ScriptedModel, **hitl: Any) -> Any:
    tools = [
        StructuredTool.from_function(add, description="Add."),
        StructuredTool.from_function(multiply, description="Multiply."),
    ]
    middleware = HumanInTheLoopMiddleware(interrupt_on={"add": True, "multiply": True}, **hitl)
    return create_agent(
        bridge_model(model, agent="calc"),
        tools,
        name="calc",
        middleware=[middleware],
        checkpointer=InMemorySaver(),
    )


@pytest.mark.parametrize("interrupt_mode", ["batched", "per_call"])
def test_a_recorded_hitl_app_records_requests_and_decisions(interrupt_mode: str) -> None:
    app = user_app(ScriptedModel(BOTH), interrupt_mode=interrupt_mode)
    config = {"configurable": {"thread_id": f"user-{interrupt_mode}"}}
    paused = asyncio.run(arecord(app, "compute", config=config))
    assert paused.outcome is not None and paused.outcome.stop_reason == "approval_required"
    expected = [request(paused, "add", a=1, b=2), request(paused, "multiply", a=2, b=3)]
    assert sorted(normalize(paused)["outcome"]["pending"], key=repr) == sorted(expected, key=repr)
    ids = call_ids(paused)
    if interrupt_mode == "batched":
        answer: Any = {
            "decisions": [
                {"type": "edit", "edited_action": {"name": "add", "args": {"a": 5, "b": 5}}},
                {"type": "reject", "message": "no"},
            ]
        }
        value = {
            ids["add"]: {"action": "edit", "arguments": {"a": 5, "b": 5}},
            ids["multiply"]: {"action": "reject", "message": "no"},
        }
    else:
        # One interrupt per call, answered by interrupt id.
        by_call = {i.value["tool_call_id"]: i.id for i in app.get_state(config).interrupts}
        answer = {
            by_call[ids["add"]]: {"type": "approve"},
            by_call[ids["multiply"]]: {"type": "reject"},
        }
        value = {ids["add"]: {"action": "approve"}, ids["multiply"]: {"action": "reject"}}
    resumed = asyncio.run(arecord(app, Command(resume=answer), config=config))
    assert resumed.session_id == paused.session_id == config["configurable"]["thread_id"]
    step = outline(resumed)[0]
    assert step[:2] == ("input", "resume") and step[2] == value
    if interrupt_mode == "batched":  # the human's arguments, not the model's
        assert ("tool", "calc", "add", {"a": 5, "b": 5}, "10.0") in outline(resumed)[1]


def test_a_decision_nex_cannot_hold_keeps_the_raw_resume_value() -> None:
    app = user_app(ScriptedModel(BOTH))
    config = {"configurable": {"thread_id": "user-respond"}}
    asyncio.run(arecord(app, "compute", config=config))
    answer = {"decisions": [{"type": "respond", "message": "3"}, {"type": "approve"}]}
    resumed = asyncio.run(arecord(app, Command(resume=answer), config=config))
    assert outline(resumed)[0] == ("input", "resume", answer)


# --------------------------------------------------------------------------- conversion


def test_hitl_middleware_converts_to_approval_and_back() -> None:
    conversion = to_spec(user_app(ScriptedModel([])))
    assert conversion.spec.tools[0].approval == "required"  # type: ignore[union-attr]
    report = conversion.report.render()
    assert "edit_notice" in report and "checkpointer" in report
    rebuilt = to_spec(from_spec(conversion.spec, model=ScriptedModel([])))
    assert rebuilt.spec == conversion.spec
    assert rebuilt.report.lossless, rebuilt.report.render()


def test_what_approval_cannot_hold_is_named() -> None:
    tools = [StructuredTool.from_function(add, description="Add.")]
    config: Any = {"allowed_decisions": ["approve", "reject"], "description": "Check it"}
    app = create_agent(
        bridge_model(ScriptedModel([])),
        tools,
        name="calc",
        middleware=[
            HumanInTheLoopMiddleware(interrupt_on={"add": config, "ghost": True}, edit_notice=None)
        ],
    )
    items = {
        (i.where.rsplit(".", 1)[-1], i.severity, i.what.split(" ")[0])
        for i in to_spec(app).report.items
    }
    assert ("add", "approximated", "allowed_decisions") in items
    assert ("add", "lost", "description") in items
    assert ("ghost", "lost", "'ghost'") in items


def test_a_captured_hitl_app_records_the_same_shapes() -> None:
    from nex_langgraph import recording

    app = user_app(ScriptedModel(BOTH))
    config = {"configurable": {"thread_id": "user-captured"}}
    with recording() as rec:
        app.invoke({"messages": [{"role": "user", "content": "compute"}]}, config)
        answer = {"decisions": [{"type": "approve"}, {"type": "reject"}]}
        app.invoke(Command(resume=answer), config)
    paused, resumed = rec.trajectories
    assert paused.outcome is not None and paused.outcome.stop_reason == "approval_required"
    ids = call_ids(paused)
    assert outline(resumed)[0] == (
        "input",
        "resume",
        {ids["add"]: {"action": "approve"}, ids["multiply"]: {"action": "reject"}},
    )


def test_two_levels_deep_paused_twice_records_what_native_records() -> None:
    from nex_core import TaskInfo
    from nex_core.runtime.loop import run_native
    from nex_core.runtime.resume import resume_native

    spec = lg_specs.nested()
    spec.sub_agents[0].child.sub_agents[0].child.tools[0].approval = "required"
    add = "add"
    script = {
        "agents": {
            "lead": [
                {"tool_calls": [{"id": "l1", "name": "researcher", "arguments": {"task": "r"}}]},
                {"text": "lead done"},
            ],
            "researcher": [
                {"tool_calls": [{"id": "r1", "name": "fact_checker", "arguments": {"task": "c"}}]},
                {"text": "checked"},
            ],
            "fact_checker": [
                {"tool_calls": [{"id": "f1", "name": add, "arguments": {"a": 1, "b": 2}}]},
                {"tool_calls": [{"id": "f2", "name": add, "arguments": {"a": 3, "b": 4}}]},
                {"text": "3 and 7"},
            ],
        }
    }
    task = TaskInfo(id="t", turns=["go"])
    approve = Decision(action="approve")

    async def both() -> tuple[list[Any], list[Any]]:
        forms: tuple[list[Any], list[Any]] = ([], [])
        lg_model, native_model = ScriptedModel(script), ScriptedModel(script)
        lg = await ADAPTER.arun(spec, task, model=lg_model)
        native = await run_native(spec, task, model=native_model)
        for _ in range(3):
            forms[0].append(normalize(lg))
            forms[1].append(normalize(native))
            if lg.outcome is None or lg.outcome.status.value != "interrupted":
                break
            lg = await ADAPTER.aresume(spec, lg, approve, model=lg_model)
            native = await resume_native(spec, native, approve, model=native_model)
        return forms

    lg_forms, native_forms = asyncio.run(both())
    assert len(lg_forms) == 3 and lg_forms == native_forms
    assert lg_forms[-1]["outcome"]["final_output"] == "lead done"
