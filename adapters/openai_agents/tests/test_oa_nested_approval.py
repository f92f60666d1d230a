"""Approval inside an agent called as a tool: the whole run pauses, and the resume carries the
call on, recorded as the native runtime records it (normal forms equal at every stage)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nex_openai_agents import OpenAIAgentsAdapter

from nex_core import AgentSpec, ScriptedModel, SubAgentSpec, TaskInfo, ToolSpec
from nex_core.protocol.approval import Decision
from nex_core.runtime.loop import run_native
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.schema import OutcomeStatus, Trajectory

ADAPTER = OpenAIAgentsAdapter()
TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
NUMBERS = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}
ECHO = "nex_conformance.toolkit:echo"
ADD = "nex_conformance.toolkit:add"


def publisher(**tool: Any) -> AgentSpec:
    return AgentSpec(
        name="publisher",
        description="Publishes.",
        system_prompt="Publish.",
        tools=[
            ToolSpec(
                name="publish",
                description="Publish.",
                parameters=TEXT,
                binding=ECHO,
                approval="required",
            ),
            ToolSpec(name="add", description="Add.", parameters=NUMBERS, binding=ADD),
        ],
        **tool,
    )


def boss(child: AgentSpec, **kw: Any) -> AgentSpec:
    return AgentSpec(
        name="boss", system_prompt="Delegate.", sub_agents=[SubAgentSpec(agent=child)], **kw
    )


def call(cid: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": cid, "name": name, "arguments": arguments}


# The publisher's batch holds a call needing approval and one that does not: both wait.
SCRIPT = {
    "agents": {
        "boss": [{"tool_calls": [call("b1", "publisher", task="post hi")]}, {"text": "boss done"}],
        "publisher": [
            {"tool_calls": [call("p1", "publish", text="hi"), call("p2", "add", a=1, b=2)]},
            {"text": "posted"},
        ],
    }
}


def stages(
    spec: AgentSpec, script: Any, decisions: list[Any], runs: int = 2
) -> tuple[list[Any], list[Any], Trajectory]:
    """Normal forms of the adapter's and the native runtime's runs, paused and resumed."""
    task = TaskInfo(id="t", turns=["go"])

    async def both() -> tuple[list[Any], list[Any], Trajectory]:
        forms: tuple[list[Any], list[Any]] = ([], [])
        oa_model, native_model = ScriptedModel(script), ScriptedModel(script)
        oa = await ADAPTER.arun(spec, task, model=oa_model)
        native = await run_native(spec, task, model=native_model)
        for decision in [*decisions, None][:runs]:
            forms[0].append(normalize(oa))
            forms[1].append(normalize(native))
            if decision is None or oa.outcome is None:
                break
            if oa.outcome.status is not OutcomeStatus.INTERRUPTED:
                break
            oa = await ADAPTER.aresume(spec, oa, decision, model=oa_model)
            native = await resume_native(spec, native, decision, model=native_model)
        return forms[0], forms[1], oa

    return asyncio.run(both())


@pytest.mark.parametrize(
    "decision",
    [
        Decision(action="approve"),
        Decision(action="reject", message="Not today."),
        Decision(action="edit", arguments={"text": "hello"}),
    ],
    ids=["approve", "reject", "edit"],
)
def test_a_pause_in_an_agent_called_as_a_tool_records_what_native_records(
    decision: Decision,
) -> None:
    oa, native, last = stages(boss(publisher()), SCRIPT, [{"p1": decision}])
    assert len(oa) == 2 and oa == native
    paused = oa[0]
    assert paused["outcome"]["pending"][0]["path"] == ["boss", "publisher"]
    assert last.outcome is not None and last.outcome.final_output == "boss done"


def test_two_levels_deep_paused_twice_records_what_native_records() -> None:
    inner = publisher()
    middle = AgentSpec(
        name="middle",
        description="Delegates on.",
        system_prompt="Delegate on.",
        sub_agents=[SubAgentSpec(agent=inner)],
    )
    script = {
        "agents": {
            "boss": [{"tool_calls": [call("b1", "middle", task="m")]}, {"text": "boss done"}],
            "middle": [{"tool_calls": [call("m1", "publisher", task="p")]}, {"text": "m done"}],
            "publisher": [
                {"tool_calls": [call("p1", "publish", text="one")]},
                {"tool_calls": [call("p2", "publish", text="two")]},
                {"text": "posted twice"},
            ],
        }
    }
    approve = Decision(action="approve")
    oa, native, last = stages(boss(middle), script, [approve, approve], runs=3)
    assert len(oa) == 3 and oa == native
    assert oa[0]["outcome"]["pending"][0]["path"] == ["boss", "middle", "publisher"]
    assert last.outcome is not None and last.outcome.final_output == "boss done"


RESUME_ELSEWHERE = """
import asyncio, sys
from nex_core import ScriptedModel
from nex_core.protocol.approval import Decision
from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.schema import Trajectory
from nex_openai_agents import OpenAIAgentsAdapter
import test_oa_nested_approval as t
paused = Trajectory.model_validate_json(open(sys.argv[1]).read())
rest = {"agents": {"boss": [{"text": "boss done"}], "publisher": [{"text": "posted"}]}}
resumed = OpenAIAgentsAdapter().resume(
    t.boss(t.publisher()), paused, Decision(action="approve"), model=ScriptedModel(rest)
)
import json
print(json.dumps(normalize(resumed)))
"""


def test_the_resume_in_another_process_needs_only_the_paused_trajectory(tmp_path: Path) -> None:
    """The child's paused run travels inside the outer RunState (the SDK serializes it)."""
    task = TaskInfo(id="t", turns=["go"])
    paused = asyncio.run(ADAPTER.arun(boss(publisher()), task, model=ScriptedModel(SCRIPT)))
    file = tmp_path / "paused.json"
    file.write_text(paused.to_json())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), *sys.path]))
    out = subprocess.run(
        [sys.executable, "-c", RESUME_ELSEWHERE, str(file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    elsewhere = json.loads(out.stdout.strip().splitlines()[-1])
    _, native_forms, _ = stages(boss(publisher()), SCRIPT, [Decision(action="approve")])
    assert elsewhere == native_forms[1]
    assert elsewhere["outcome"]["final_output"] == "boss done"


def test_a_sibling_of_the_paused_call_runs_once_and_the_model_reads_the_batch_in_order() -> None:
    """The SDK hands the carried call's result after its finished sibling's; the bridged model
    reads them in the order of the calls, as natively."""
    add = ToolSpec(name="add", description="Add.", parameters=NUMBERS, binding=ADD)
    spec = boss(publisher(), tools=[add])
    script = {
        "agents": {
            "boss": [
                {"tool_calls": [call("b1", "publisher", task="post"), call("b2", "add", a=5, b=6)]},
                {"text": "boss done"},
            ],
            "publisher": [{"tool_calls": [call("p1", "publish", text="hi")]}, {"text": "posted"}],
        }
    }
    oa, native, _ = stages(spec, script, [Decision(action="approve")])
    assert len(oa) == 2 and oa == native
    assert [s["name"] for s in oa[1]["steps"] if s["kind"] == "tool"] == ["publisher"]


@pytest.mark.parametrize(
    "decision",
    [Decision(action="approve"), Decision(action="reject", message="No.")],
    ids=["approve", "reject"],
)
def test_an_agent_handed_to_inside_an_agent_called_as_a_tool_pauses_the_run(
    decision: Decision,
) -> None:
    """The handoff is looked through: the request's path ends with the agent handed to, and the
    re-opened sub-agent step names the agent the call was made to."""
    from nex_core.protocol.spec import ContextMode

    poster = publisher().model_copy(update={"name": "poster"})
    front = AgentSpec(
        name="publisher",
        description="Routes.",
        system_prompt="Route.",
        sub_agents=[SubAgentSpec(agent=poster, mode=ContextMode.HANDOFF)],
    )
    script = {
        "agents": {
            "boss": [{"tool_calls": [call("b1", "publisher", task="post")]}, {"text": "done"}],
            "publisher": [{"tool_calls": [call("h1", "transfer_to_poster")]}],
            "poster": [{"tool_calls": [call("p1", "publish", text="hi")]}, {"text": "posted"}],
        }
    }
    oa, native, last = stages(boss(front), script, [decision])
    assert len(oa) == 2 and oa == native
    assert oa[0]["outcome"]["pending"][0]["path"] == ["boss", "poster"]
    assert last.outcome is not None and last.outcome.final_output == "done"
