"""Teams and handoff workflows: protocol teams built as group chats convert back losslessly,
group chats and handoff workflows users built become specs with a report of what the protocol
cannot hold, team specs become plain group-chat programs recording as ``nex run`` does, and
``nex convert`` moves AutoGen teams to Agent Framework and back. (Parity of built teams with
native: test_af_parity; handoff programs: test_af_handoff_programs.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from agent_framework import Agent
from agent_framework.orchestrations import GroupChatBuilder, HandoffBuilder
from click.testing import CliRunner
from nex_agent_framework import AgentFrameworkAdapter, bridge_model
from nex_agent_framework.codegen import to_code
from nex_conformance import toolkit
from nex_conformance.scenario import builtin_scenarios

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.cli.main import cli
from nex_core.protocol.spec import ContextMode, TeamSpec
from nex_core.trajectory.reader import read_trajectories

MODEL = ScriptedModel({"replies": []})
SCENARIOS = {s.id: s for s in builtin_scenarios()}
TEAMS = ["round_robin_team", "selector_team", "team_text_mention"]
RUFF = [sys.executable, "-m", "ruff", "check", "--isolated", "--line-length", "100"]
RUFF += ["--select", "E,F,W,I,B,UP,SIM,RUF"]


async def _team_answer(namespace: dict[str, Any], turns: list[str], model: Any) -> str:
    """What the generated program prints for ``turns``: its members built, the team made from
    them, its own ``converse``."""
    async with contextlib.AsyncExitStack() as stack:
        members = [await stack.enter_async_context(b(model)) for b in namespace["MEMBER_BUILDERS"]]
        (build,) = [
            f
            for n, f in namespace.items()
            if n.startswith("build_") and callable(f) and f not in namespace["MEMBER_BUILDERS"]
        ]
        return str(await namespace["converse"](build(members, model), turns))


@pytest.mark.parametrize("name", TEAMS)
def test_a_built_team_converts_back_losslessly(adapter: AgentFrameworkAdapter, name: str) -> None:
    spec = SCENARIOS[name].build()
    conversion = adapter.to_spec(adapter.from_spec(spec, model=MODEL))
    assert conversion.spec == spec
    assert conversion.report.lossless, conversion.report.render()


def _agent(name: str, **kw: Any) -> Agent:
    return Agent(client=bridge_model(MODEL), name=name, instructions=f"You are {name}.", **kw)


def test_a_users_group_chat_becomes_a_team_with_what_it_loses(
    adapter: AgentFrameworkAdapter,
) -> None:
    def next_speaker(state: Any) -> str:
        return list(state.participants)[state.current_round % 2]

    workflow = GroupChatBuilder(
        name="pair",
        participants=[_agent("a"), _agent("b")],
        selection_func=next_speaker,
        termination_condition=lambda conversation: len(conversation) > 4,
    ).build()
    conversion = adapter.to_spec(workflow)
    team = conversion.spec
    assert isinstance(team, TeamSpec) and [m.name for m in team.members] == ["a", "b"]
    assert team.speaker_selection == "round_robin"
    where = {item.where: item.severity for item in conversion.report.items}
    assert where["pair.selection_func"] == "approximated"
    assert where["pair.max_rounds"] == "approximated"
    assert where["pair.termination_condition"] == "lost"


def test_a_manager_agent_becomes_model_selection(adapter: AgentFrameworkAdapter) -> None:
    manager = Agent(client=bridge_model(MODEL), name="boss", instructions="Pick someone.")
    workflow = GroupChatBuilder(
        name="crew",
        participants=[_agent("a"), _agent("b")],
        orchestrator_agent=manager,
        max_rounds=4,
    ).build()
    conversion = adapter.to_spec(workflow)
    assert conversion.spec.speaker_selection == "model"
    assert conversion.spec.termination.max_turns == 4
    assert any(i.where == "crew.orchestrator_agent" for i in conversion.report.items)


def test_a_handoff_workflow_becomes_an_agent_that_hands_off(
    adapter: AgentFrameworkAdapter,
) -> None:
    flag = {"require_per_service_call_history_persistence": True}
    triage, billing, tech = (_agent(name, **flag) for name in ("triage", "billing", "tech"))
    workflow = (
        HandoffBuilder(name="support", participants=[triage, billing, tech])
        .with_start_agent(triage)
        .add_handoff(triage, [billing, tech])
        .add_handoff(billing, [triage])
        .build()
    )
    conversion = adapter.to_spec(workflow)
    root = conversion.spec
    assert root.name == "triage" and not root.tools  # handoff_to_* tools are not the agent's
    # The handoffs keep Agent Framework's tool names: the spec offers what the workflow did.
    assert {(s.mode, s.child.name, s.resolved_tool_name()) for s in root.sub_agents} == {
        (ContextMode.HANDOFF, "billing", "handoff_to_billing"),
        (ContextMode.HANDOFF, "tech", "handoff_to_tech"),
    }
    # The framework's own handoff functions are not reported as the user's tools.
    assert not [i for i in conversion.report.items if ".tools.handoff_to_" in i.where]
    # billing → triage goes back up the path: a spec is a tree, so it is reported.
    assert any(i.where.endswith("billing.handoffs.triage") for i in conversion.report.items)


@pytest.mark.parametrize("name", TEAMS)
def test_a_team_program_is_lint_clean_and_answers_as_natively(name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    spec = scenario.build()
    program = to_code(spec)
    assert "GroupChatBuilder(" in program
    path = tmp_path / "team.py"
    path.write_text(program, encoding="utf-8")
    if name == "selector_team":  # one lint run covers the shared text
        lint = subprocess.run([*RUFF, str(path)], capture_output=True, text=True, cwd=tmp_path)
        assert lint.returncode == 0, lint.stdout
    namespace: dict[str, Any] = {"__name__": "team"}
    exec(compile(program, str(path), "exec"), namespace)
    task = TaskInfo(turns=list(scenario.turns))
    with toolkit.capture():
        native = asyncio.run(run_native(spec, task, model=ScriptedModel(scenario.script)))
    answer = asyncio.run(
        _team_answer(namespace, list(scenario.turns), ScriptedModel(scenario.script))
    )
    assert native.outcome is not None and answer == native.outcome.final_output
    # `--record FILE` (the program's own run, in process): the native run's trajectory, equal
    # under normalize() — selector requests as the team's model calls, speakers, order, what
    # each member saw (the program's MemberView gives it the protocol's view) and answers.
    script = tmp_path / "script.json"
    script.write_text(scenario.script.model_dump_json(), encoding="utf-8")
    out = tmp_path / "recorded.jsonl"
    with toolkit.capture():
        code = asyncio.run(namespace["run"](list(scenario.turns), f"scripted:{script}", str(out)))
    assert code == 0
    (written,), bad = read_trajectories(out)
    assert not bad
    assert normalize(written) == normalize(native), json.dumps(normalize(written), indent=1)
    # The team's answer is the last member's, not the orchestrator's max_rounds notice.
    assert written.outcome is not None
    assert written.outcome.final_output == native.outcome.final_output


AUTOGEN_TEAMS = """
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import TextMentionTermination
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat, Swarm
from autogen_ext.models.replay import ReplayChatCompletionClient

INFO = {"vision": False, "function_calling": True, "json_output": False,
        "family": "unknown", "structured_output": False}
client = ReplayChatCompletionClient([], model_info=INFO)
writer = AssistantAgent("writer", client, description="Writes.", system_message="Write.")
critic = AssistantAgent("critic", client, description="Criticises.", system_message="Criticise.")
rr = RoundRobinGroupChat([writer, critic], max_turns=3, name="rr",
                         termination_condition=TextMentionTermination("DONE"))
panel = SelectorGroupChat([writer, critic], model_client=client, max_turns=2, name="panel")
swarm = Swarm([AssistantAgent("triage", client, handoffs=["billing"]),
               AssistantAgent("billing", client, handoffs=["triage"])])
"""

TEAM_SCRIPT = {
    "agents": {
        "writer": [{"text": "draft"}, {"text": "draft 2, DONE"}],
        "critic": [{"text": "sharper"}],
        "panel": [{"text": "critic"}, {"text": "writer"}],
    }
}


@pytest.mark.parametrize(("obj", "answer"), [("rr", "draft 2, DONE"), ("panel", "draft")])
def test_nex_convert_moves_an_autogen_team_to_a_running_group_chat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, obj: str, answer: str
) -> None:
    pytest.importorskip("nex_autogen")
    (tmp_path / "agteams.py").write_text(textwrap.dedent(AUTOGEN_TEAMS), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = f"{obj}_af.py"
    result = CliRunner().invoke(
        cli, ["convert", f"agteams.py:{obj}", "--to", "agent-framework", "-o", out]
    )
    assert result.exit_code == 0, result.output
    program = (tmp_path / out).read_text(encoding="utf-8")
    assert "GroupChatBuilder(" in program and "autogen" not in program.split('"""', 2)[2]
    namespace: dict[str, Any] = {"__name__": "migrated"}
    exec(compile(program, out, "exec"), namespace)
    assert asyncio.run(_team_answer(namespace, ["a slogan"], ScriptedModel(TEAM_SCRIPT))) == answer


AF_TEAM = """
from agent_framework import Agent
from agent_framework.orchestrations import GroupChatBuilder
from nex_agent_framework import bridge_model

from nex_core import ScriptedModel

model = ScriptedModel({"replies": []})
writer = Agent(client=bridge_model(model), name="writer", instructions="Write.")
critic = Agent(client=bridge_model(model), name="critic", instructions="Criticise.")


def turns(state):
    return list(state.participants)[state.current_round % 2]


team = GroupChatBuilder(name="duo", participants=[writer, critic], selection_func=turns,
                        max_rounds=3).build()
"""


def test_nex_convert_writes_a_group_chat_as_an_autogen_team(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("nex_autogen")
    (tmp_path / "af_team.py").write_text(AF_TEAM, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(
        cli, ["convert", "af_team.py:team", "--to", "autogen", "-o", "duo_autogen.py"]
    )
    assert result.exit_code == 0, result.output
    assert "selection_func" in result.output  # the report: the function became round-robin
    program = (tmp_path / "duo_autogen.py").read_text(encoding="utf-8")
    assert "RoundRobinGroupChat" in program
    namespace: dict[str, Any] = {"__name__": "duo"}
    exec(compile(program, "duo_autogen.py", "exec"), namespace)


def test_a_handoff_workflow_records_handoffs_nested_as_natively(
    adapter: AgentFrameworkAdapter,
) -> None:
    script = {
        "agents": {
            "triage": [
                {"tool_calls": [{"name": "handoff_to_billing", "arguments": {}}]},
                {"text": "Anything else?"},
            ],
            "billing": [
                {"text": "Your bill is 5 EUR."},
                {"tool_calls": [{"name": "handoff_to_triage", "arguments": {}}]},
            ],
        }
    }
    model = ScriptedModel(script)
    triage, billing = (
        Agent(
            client=bridge_model(model, agent=name),
            name=name,
            require_per_service_call_history_persistence=True,
        )
        for name in ("triage", "billing")
    )
    workflow = (
        HandoffBuilder(name="support", participants=[triage, billing])
        .with_start_agent(triage)
        .add_handoff(triage, [billing])
        .add_handoff(billing, [triage])
        .build()
    )
    task = TaskInfo(turns=["What is my bill?", "Thanks; back to triage."])
    traj = asyncio.run(adapter.arecord(workflow, task))
    assert traj.outcome is not None and traj.outcome.final_output == "Anything else?"
    top = [s for s in traj.steps if s.parent_id is None]
    # Turn 1: triage's call and handoff step at the top, billing's answer inside it; turn 2
    # (the user answers billing, who stays active) at the top again, handing back to triage.
    assert [(s.kind, s.agent) for s in top] == [
        ("llm", "triage"),
        ("tool", "triage"),
        ("subagent", "triage"),
        ("llm", "billing"),
        ("tool", "billing"),
        ("subagent", "billing"),
    ]
    first, second = (s for s in top if s.kind == "subagent")
    calls = [s for s in top if s.kind == "tool"]
    assert (first.mode, first.child, first.call_id) == ("handoff", "billing", calls[0].call_id)
    assert first.output == "Your bill is 5 EUR." and second.output == "Anything else?"
    inside = [s for s in traj.steps if s.parent_id == second.id]
    assert [(s.kind, s.agent) for s in inside] == [("llm", "triage")]
