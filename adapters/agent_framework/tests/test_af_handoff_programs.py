"""Handoffs as programs: a spec (or an AutoGen ``Swarm``) whose agents hand off becomes a plain
Agent Framework ``HandoffBuilder`` program, and a ``HandoffBuilder`` workflow an AutoGen ``Swarm``
program. Each program is written, lint-checked, run as a subprocess on a scripted model with
``--record``, and its trajectory compared with ``nex run`` of the same spec under ``normalize()``.

The HandoffBuilder program differs from the protocol in what Agent Framework does its own way;
:func:`as_handoff_builder_records` applies exactly those documented differences (decisions.md,
"Handoff programs"; the program's docstring; the report items of ``nex convert``) to the native
normal form, and the program's must then be equal to it:

1. the handoff tools are ``handoff_to_<agent>`` (the protocol's ``transfer_to_<agent>``), so the
   program's script calls those names;
2. a handoff tool answers ``{"handoff_to": "<agent>"}`` (natively "Transferred to <agent>.");
3. an agent sees the other agents' answers without their tool calls and results (HandoffBuilder
   broadcasts cleaned answers; each agent keeps its own session), natively the whole history;
4. the spec's copies of one agent in a cycle are one participant: every copy offers the tools
   of the first.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from nex_agent_framework import AgentFrameworkAdapter
from nex_conformance.scenario import builtin_scenarios

from nex_core.cli.main import cli
from nex_core.protocol import spec_from_data
from nex_core.protocol.loader import dump_spec
from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.reader import read_trajectories
from nex_core.trajectory.schema import Trajectory

RUFF = [sys.executable, "-m", "ruff", "check", "--isolated", "--line-length", "100"]
RUFF += ["--select", "E,F,W,I,B,UP,SIM,RUF"]
SCENARIOS = {s.id: s for s in builtin_scenarios()}

# A handoff in a later turn: the second turn answers the workflow's request for user input and
# goes to the agent that answered the first; the third to the agent handed to in the second.
LATER_TURN = {
    "name": "calc",
    "system_prompt": "Add, then pass the user on.",
    "tools": [
        {
            "name": "add",
            "description": "Add two numbers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
            "binding": "nex_conformance.toolkit:add",
        }
    ],
    "sub_agents": [
        {
            "mode": "handoff",
            "agent": {"name": "closer", "description": "Says goodbye.", "system_prompt": "Bye."},
        }
    ],
}
LATER_SCRIPT = {
    "agents": {
        "calc": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]},
            {"text": "3"},
            {"text": "Passing you on.", "tool_calls": [{"name": "transfer_to_closer"}]},
        ],
        "closer": [{"text": "Bye."}, {"text": "Bye again."}],
    }
}
# The agent handed to calls an agent as a tool (Agent.as_tool inside a participant).
TOOL_CHILD = {
    "name": "lead",
    "system_prompt": "Route.",
    "sub_agents": [
        {
            "mode": "handoff",
            "agent": {
                "name": "writer",
                "description": "Writes.",
                "system_prompt": "Write, ask the checker.",
                "sub_agents": [
                    {
                        "agent": {
                            "name": "checker",
                            "description": "Checks.",
                            "system_prompt": "Check.",
                        }
                    }
                ],
            },
        }
    ],
}
TOOL_CHILD_SCRIPT = {
    "agents": {
        "lead": [{"tool_calls": [{"name": "transfer_to_writer"}]}],
        "writer": [
            {"tool_calls": [{"name": "checker", "arguments": {"task": "check: hi"}}]},
            {"text": "hi (checked)"},
        ],
        "checker": [{"text": "fine"}],
    }
}
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "later_turn": (LATER_TURN, LATER_SCRIPT, ["1+2?", "done", "still there?"]),
    "tool_child": (TOOL_CHILD, TOOL_CHILD_SCRIPT, ["Write hi."]),
}
for _id in ("handoff", "handoff_then_tool", "handoff_cycle"):
    _s = SCENARIOS[_id]
    CASES[_id] = (
        _s.build().model_dump(mode="json", exclude_none=True),
        json.loads(_s.script.model_dump_json(exclude_none=True)),
        list(_s.turns),
    )


def renamed(script: dict[str, Any]) -> dict[str, Any]:
    """The script with the handoff calls named as Agent Framework names its handoff tools."""
    return json.loads(json.dumps(script).replace('"transfer_to_', '"handoff_to_'))


def nex_run(spec: Path, turns: list[str], script: Path, out: Path) -> Trajectory:
    """The spec run by ``nex run`` (the native runtime), read back from its ``--out`` file."""
    args = ["run", str(spec), "--model", f"scripted:{script}", "--out", str(out), "--quiet"]
    for turn in turns:
        args += ["--task", turn]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    (trajectory,), bad = read_trajectories(out)
    assert not bad
    return trajectory


def run_program(program: Path, turns: list[str], script: Path, out: Path, cwd: Path) -> Any:
    """The written program run as its user runs it, recording to ``out``."""
    args = [sys.executable, str(program), "--model", f"scripted:{script}", "--record", str(out)]
    for turn in turns:
        args += ["--task", turn]
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (trajectory,), bad = read_trajectories(out)
    assert not bad
    return trajectory, done.stdout.strip()


def lint(program: Path) -> None:
    # Checked as a user's file: from a folder where nex_core is third-party.
    done = subprocess.run([*RUFF, str(program)], capture_output=True, text=True, cwd=program.parent)
    assert done.returncode == 0, done.stdout


def as_handoff_builder_records(native: dict[str, Any]) -> dict[str, Any]:
    """The native normal form with the documented differences (module docstring) applied."""
    out = copy.deepcopy(native)
    makers: dict[str, str] = {}  # call id → the agent whose model made the call
    targets: dict[str, str] = {}  # handoff call id → the agent handed to
    offered: dict[str, list[str]] = {}  # agent → the tools its first request offered

    def scan(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            if step["kind"] == "llm":
                for tool_call in step["response"].get("tool_calls", []):
                    makers[tool_call["id"]] = step["agent"]
                offered.setdefault(step["agent"], step["request"]["tools"])
            elif step["kind"] == "subagent" and step["mode"] == "handoff":
                targets[step["call_id"]] = step["child"]
            scan(step.get("steps", []))

    def name(tool: str) -> str:  # (1)
        return tool.replace("transfer_to_", "handoff_to_", 1)

    def message(m: dict[str, Any]) -> dict[str, Any]:
        for tool_call in m.get("tool_calls", []):
            tool_call["name"] = name(tool_call["name"])
        if m.get("tool_call_id") in targets:  # (2)
            m["content"] = json.dumps({"handoff_to": targets[m["tool_call_id"]]})
        return m

    def seen_by(agent: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:  # (3)
        kept: list[dict[str, Any]] = []
        for m in map(message, messages):
            if m["role"] == "tool" and makers.get(m["tool_call_id"]) != agent:
                continue
            if "tool_calls" in m:
                m["tool_calls"] = [c for c in m["tool_calls"] if makers.get(c["id"]) == agent]
                if not m["tool_calls"]:
                    del m["tool_calls"]
                    if "content" not in m:
                        continue
            kept.append(m)
        return kept

    def apply(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            if step["kind"] == "llm":
                request = step["request"]
                request["messages"] = seen_by(step["agent"], request["messages"])
                request["tools"] = sorted(map(name, offered[step["agent"]]))  # (4)
                message(step["response"])
            elif step["kind"] == "tool":
                step["name"] = name(step["name"])
                if step["call_id"] in targets:
                    step["result"] = json.dumps({"handoff_to": targets[step["call_id"]]})
            elif step["mode"] == "handoff":
                step["input"] = seen_by(step["child"], step["input"])
            apply(step.get("steps", []))

    scan(out["steps"])
    apply(out["steps"])
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_spec_that_hands_off_is_a_handoff_builder_program_recording_as_natively(
    case: str, tmp_path: Path
) -> None:
    data, script, turns = CASES[case]
    spec = spec_from_data(data)
    adapter = AgentFrameworkAdapter()
    program = tmp_path / "program.py"
    program.write_text(adapter.to_code(spec), encoding="utf-8")
    code = program.read_text(encoding="utf-8")
    assert "HandoffBuilder(" in code and ".add_handoff(" in code
    if case == "handoff_then_tool":  # one lint run covers the shared text
        lint(program)
    (tmp_path / "spec.yaml").write_text(dump_spec(spec), encoding="utf-8")
    (tmp_path / "native.json").write_text(json.dumps(script), encoding="utf-8")
    (tmp_path / "af.json").write_text(json.dumps(renamed(script)), encoding="utf-8")
    native = nex_run(tmp_path / "spec.yaml", turns, tmp_path / "native.json", tmp_path / "n.jsonl")
    recorded, printed = run_program(
        program, turns, tmp_path / "af.json", tmp_path / "p.jsonl", tmp_path
    )
    assert native.outcome is not None and printed == native.outcome.final_output
    expected = as_handoff_builder_records(normalize(native))
    assert normalize(recorded) == expected, json.dumps(normalize(recorded), indent=1)
    # Every rename is a report item of the conversion.
    items = {i.where: i.what for i in adapter.code_report(spec).items}
    for agent in spec.walk():
        for sub in agent.sub_agents:
            if sub.mode.value == "handoff":
                what = items[f"{agent.name}.handoffs.{sub.child.name}"]
                assert f"transfer_to_{sub.child.name} is handoff_to_{sub.child.name}" in what


def test_documented_differences_are_all_there_is(tmp_path: Path) -> None:
    """The transformation can fail: a plain native run (no handoff program) does not pass
    as the program's record, and the transformed form is not the native one."""
    data, script, turns = CASES["handoff_then_tool"]
    (tmp_path / "spec.yaml").write_text(dump_spec(spec_from_data(data)), encoding="utf-8")
    (tmp_path / "s.json").write_text(json.dumps(script), encoding="utf-8")
    native = normalize(nex_run(tmp_path / "spec.yaml", turns, tmp_path / "s.json", tmp_path / "n"))
    assert as_handoff_builder_records(native) != native


SWARM_APP = """
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import HandoffTermination, TextMentionTermination
from autogen_agentchat.teams import Swarm
from autogen_ext.models.replay import ReplayChatCompletionClient
from nex_conformance.toolkit import add

INFO = {"vision": False, "function_calling": True, "json_output": False,
        "family": "unknown", "structured_output": False}
client = ReplayChatCompletionClient([], model_info=INFO)
triage = AssistantAgent("triage", client, system_message="Route billing questions to billing.",
                        handoffs=["billing", "user"])
billing = AssistantAgent("billing", client, description="Answers billing questions.",
                         system_message="You handle billing.", tools=[add], handoffs=["triage"],
                         max_tool_iterations=5)
swarm = Swarm([triage, billing],
              termination_condition=HandoffTermination(target="user")
              | TextMentionTermination("TERMINATE"))
"""

SWARM_SCRIPT = {
    "agents": {
        "triage": [{"text": "Billing can help.", "tool_calls": [{"name": "transfer_to_billing"}]}],
        "billing": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 5, "b": 5}}]},
            {"text": "You paid 10 EUR in total."},
        ],
    }
}


@pytest.fixture
def app_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_nex_convert_moves_an_autogen_swarm_to_a_handoff_builder_program(
    app_folder: Path,
) -> None:
    pytest.importorskip("nex_autogen")
    (app_folder / "agswarm.py").write_text(textwrap.dedent(SWARM_APP), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["convert", "agswarm.py:swarm", "--to", "agent-framework", "-o", "swarm_af.py"]
    )
    assert result.exit_code == 0, result.output
    report = " ".join(result.output.split())  # as printed, wrapped to the console's width
    # AutoGen's side: what the spec cannot hold (the Swarm's HandoffTermination and
    # TextMentionTermination, the handoff to the user, the handoff back); Agent Framework's:
    # every rename, and what HandoffBuilder does its own way.
    assert "[approximated] Swarm.termination: the protocol ends a handoff chain" in report
    assert "[lost] Swarm.triage.transfer_to_user: handoff to 'user'" in report
    assert "handoff back to 'triage'" in report
    assert (
        "[approximated] triage.handoffs.billing: the tool transfer_to_billing is "
        "handoff_to_billing in Agent Framework" in report
    )
    assert 'answers {"handoff_to": "<agent>"}' in report
    program = app_folder / "swarm_af.py"
    code = program.read_text(encoding="utf-8")
    assert "HandoffBuilder(" in code and "autogen" not in code.split('"""', 2)[2]
    lint(program)
    result = runner.invoke(cli, ["convert", "agswarm.py:swarm", "-o", "swarm.yaml"])
    assert result.exit_code == 0, result.output
    (app_folder / "native.json").write_text(json.dumps(SWARM_SCRIPT), encoding="utf-8")
    (app_folder / "af.json").write_text(json.dumps(renamed(SWARM_SCRIPT)), encoding="utf-8")
    turns = ["What did I pay?"]
    native = nex_run(app_folder / "swarm.yaml", turns, app_folder / "native.json", app_folder / "n")
    recorded, printed = run_program(
        program, turns, app_folder / "af.json", app_folder / "p", app_folder
    )
    assert printed == "You paid 10 EUR in total."
    assert normalize(recorded) == as_handoff_builder_records(normalize(native))


AF_APP = """
from agent_framework import Agent
from agent_framework.orchestrations import HandoffBuilder
from nex_agent_framework import bridge_model
from nex_conformance.toolkit import add

from nex_core import ScriptedModel

model = ScriptedModel({"replies": []})
triage = Agent(client=bridge_model(model), name="triage",
               instructions="Route billing questions to billing.",
               require_per_service_call_history_persistence=True)
billing = Agent(client=bridge_model(model), name="billing", description="Answers billing.",
                instructions="You handle billing.", tools=[add],
                require_per_service_call_history_persistence=True)
support = (
    HandoffBuilder(name="support", participants=[triage, billing])
    .with_start_agent(triage)
    .add_handoff(triage, [billing])
    .build()
)
"""

AF_SCRIPT = renamed(SWARM_SCRIPT)


def test_nex_convert_moves_a_handoff_builder_workflow_to_an_autogen_swarm_program(
    app_folder: Path,
) -> None:
    pytest.importorskip("nex_autogen")
    (app_folder / "af_support.py").write_text(textwrap.dedent(AF_APP), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["convert", "af_support.py:support", "--to", "autogen", "-o", "support_ag.py"]
    )
    assert result.exit_code == 0, result.output
    # What the spec cannot hold.
    assert '{"handoff_to": "<agent>"}' in " ".join(result.output.split())
    program = app_folder / "support_ag.py"
    code = program.read_text(encoding="utf-8")
    assert "Swarm(" in code and '"handoff_to_billing"' in code
    lint(program)
    result = runner.invoke(cli, ["convert", "af_support.py:support", "-o", "support.yaml"])
    assert result.exit_code == 0, result.output
    (app_folder / "s.json").write_text(json.dumps(AF_SCRIPT), encoding="utf-8")
    turns = ["What did I pay?"]
    native = nex_run(app_folder / "support.yaml", turns, app_folder / "s.json", app_folder / "n")
    recorded, printed = run_program(
        program, turns, app_folder / "s.json", app_folder / "p", app_folder
    )
    assert printed == "You paid 10 EUR in total."
    # The AutoGen program builds with the protocol's handoff history: the same run, but that
    # its trajectory is rooted at the Swarm, which the AutoGen adapter names <root>_swarm.
    program_form, native_form = normalize(recorded), normalize(native)
    assert (program_form.pop("root_agent"), native_form.pop("root_agent")) == (
        "triage_swarm",
        "triage",
    )
    assert program_form == native_form
