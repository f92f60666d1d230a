"""Approval in a team member's turn on Agent Framework, held to the native runtime: the run
pauses in the member's turn, the resume carries that turn on and the team goes on from the next
one. Every stage's normal form must equal native's on the same script."""

from __future__ import annotations

from typing import Any

import pytest
from af_support import run
from nex_agent_framework import AgentFrameworkAdapter

from nex_core import AgentSpec, ScriptedModel, TaskInfo, ToolSpec
from nex_core.errors import AdapterError
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import ContextMode, SubAgentSpec, TeamSpec, Termination
from nex_core.runtime.loop import run_native
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.normalize import normalize

RAN: list[str] = []


def publish(text: str) -> str:
    RAN.append(text)
    return f"published {text}"


PUBLISH = ToolSpec(
    name="publish",
    description="Publish.",
    parameters={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    binding=publish,
    approval="required",
)
WRITER = AgentSpec(name="writer", system_prompt="Write.", description="Writes.")
PUBLISHER = AgentSpec(
    name="publisher", system_prompt="Publish.", description="Publishes.", tools=[PUBLISH]
)


def _team(*members: AgentSpec, **kw: Any) -> TeamSpec:
    return TeamSpec(name="crew", members=list(members), **kw)


def call(id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": id, "name": name, "arguments": arguments}


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


def _stages(
    adapter: AgentFrameworkAdapter, spec: TeamSpec, script: dict[str, Any], decisions: list[Any]
) -> tuple[list[Any], list[Any], list[list[str]]]:
    task = TaskInfo(id="t", turns=["go"])

    async def both() -> tuple[list[Any], list[Any], list[list[str]]]:
        af_model, native_model = ScriptedModel(script), ScriptedModel(script)
        af = await adapter.arun(spec, task, model=af_model)
        native = await run_native(spec, task, model=native_model)
        ran = [list(RAN)]
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


@pytest.mark.parametrize(
    "decision",
    [
        Decision(action="approve"),
        Decision(action="reject", message="Not yet."),
        Decision(action="edit", arguments={"text": "edited"}),
    ],
    ids=["approve", "reject", "edit"],
)
def test_a_round_robin_member_pauses_the_team_as_natively(
    adapter: AgentFrameworkAdapter, decision: Decision
) -> None:
    spec = _team(WRITER, PUBLISHER, termination=Termination(max_turns=4))
    script = {
        "agents": {
            "writer": [{"text": "draft"}, {"text": "final"}],
            "publisher": [
                {"tool_calls": [call("p1", "publish", text="draft")]},
                {"text": "out"},
                {"text": "again"},
            ],
        }
    }
    af, native, ran = _stages(adapter, spec, script, [decision])
    assert af == native
    assert af[0]["outcome"]["pending"][0]["path"] == ["crew", "publisher"]
    assert af[1]["outcome"]["status"] == "completed"
    assert ran == [[], {"approve": ["draft"], "reject": [], "edit": ["edited"]}[decision.action]]


def test_a_pause_in_the_last_turn_ends_the_team_after_it(adapter: AgentFrameworkAdapter) -> None:
    spec = _team(WRITER, PUBLISHER, termination=Termination(max_turns=2))
    script = {
        "agents": {
            "writer": [{"text": "draft"}],
            "publisher": [{"tool_calls": [call("p1", "publish", text="draft")]}, {"text": "out"}],
        }
    }
    af, native, _ = _stages(adapter, spec, script, [Decision(action="approve")])
    assert af == native
    assert af[1]["outcome"]["final_output"] == "out"


def test_a_text_mention_in_the_carried_turn_ends_the_team(adapter: AgentFrameworkAdapter) -> None:
    spec = _team(WRITER, PUBLISHER, termination=Termination(max_turns=5, text_mention="DONE"))
    script = {
        "agents": {
            "writer": [{"text": "draft"}],
            "publisher": [{"tool_calls": [call("p1", "publish", text="draft")]}, {"text": "DONE"}],
        }
    }
    af, native, _ = _stages(adapter, spec, script, [Decision(action="approve")])
    assert af == native


def test_model_selected_speakers_are_not_chosen_again_for_the_carried_turn(
    adapter: AgentFrameworkAdapter,
) -> None:
    spec = _team(WRITER, PUBLISHER, speaker_selection="model", termination=Termination(max_turns=3))
    script = {
        "agents": {
            "crew": [{"text": "publisher"}, {"text": "writer"}, {"text": "writer"}],
            "writer": [{"text": "final"}, {"text": "more"}],
            "publisher": [{"tool_calls": [call("p1", "publish", text="x")]}, {"text": "out"}],
        }
    }
    af, native, _ = _stages(adapter, spec, script, [Decision(action="approve")])
    assert af == native


def test_a_members_sub_agent_pauses_twice_as_natively(adapter: AgentFrameworkAdapter) -> None:
    lead = AgentSpec(
        name="lead",
        system_prompt="Delegate.",
        sub_agents=[SubAgentSpec(agent=PUBLISHER, mode=ContextMode.TOOL)],
    )
    spec = _team(lead, WRITER, termination=Termination(max_turns=2))
    script = {
        "agents": {
            "lead": [{"tool_calls": [call("l1", "publisher", task="post")]}, {"text": "posted"}],
            "publisher": [
                {"tool_calls": [call("p1", "publish", text="one")]},
                {"tool_calls": [call("p2", "publish", text="two")]},
                {"text": "both out"},
            ],
            "writer": [{"text": "thanks"}],
        }
    }
    approve = Decision(action="approve")
    af, native, ran = _stages(adapter, spec, script, [approve, approve])
    assert af == native
    assert af[0]["outcome"]["pending"][0]["path"] == ["crew", "lead", "publisher"]
    assert [f["outcome"]["status"] for f in af] == ["interrupted", "interrupted", "completed"]
    assert ran == [[], ["one"], ["two"]]


def test_a_program_is_not_written_for_approval_where_plain_agent_framework_cannot_pause() -> None:
    """nex pauses these runs with its own agent tool and turn recorder; a plain Agent Framework
    program cannot (``as_tool`` fails the call, the group chat drops the request), so
    ``to_code`` refuses them by name rather than write a program that would not ask."""
    adapter = AgentFrameworkAdapter()
    by_path = PUBLISH.model_dump() | {"binding": "builtins:str"}  # a program imports it
    publisher = PUBLISHER.model_copy(update={"tools": [ToolSpec.model_validate(by_path)]})
    with pytest.raises(AdapterError, match=r"team 'crew'.*'publisher': publisher/publish"):
        adapter.to_code(_team(WRITER, publisher))
    boss = AgentSpec(
        name="boss",
        system_prompt="Delegate.",
        sub_agents=[SubAgentSpec(agent=publisher, mode=ContextMode.TOOL)],
    )
    with pytest.raises(AdapterError, match=r"agent 'boss'.*'publisher'.*publisher/publish"):
        adapter.to_code(boss)
    # Approval where the framework itself pauses is still written.
    assert 'approval_mode="always_require"' in adapter.to_code(publisher)
