"""nex spec → the source of a runnable Python module that builds it in AutoGen.

The module constructs the same objects :mod:`nex_autogen.build` does, spelled out one agent per
function so a reader can edit it, and runs a task from the command line::

    python team.py "What is 2+3?" --model scripted:script.yaml
"""

from __future__ import annotations

from nex_autogen.build import agent_metadata, check_supported, handoff_closure, swarm_name
from nex_core.errors import AdapterError
from nex_core.protocol.spec import AgentSpec, CallableBinding, ContextMode, TeamSpec
from nex_core.runtime.loop import MAX_HANDOFF_DEPTH
from nex_core.runtime.tools import tool_handles

HEADER = '''"""AutoGen build of the nex spec {name!r}, written by nex-autogen.

Run it: python {{this file}} "TASK" --model PROVIDER:ARG   (e.g. scripted:script.yaml)
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from autogen_agentchat.conditions import FunctionalTermination, TextMentionTermination
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat, Swarm

from nex_autogen.agents import ProtocolAssistantAgent
from nex_autogen.bridge import bridge_model
from nex_autogen.build import SELECTOR_PROMPT, answered
from nex_autogen.tools import ProtocolAgentTool, ProtocolHandoff, ProtocolTeamTool, SchemaTool
from nex_core import make_model
from nex_core.protocol.spec import ModelSettings, ToolSpec
'''

FOOTER = """

async def main(task: str, model_ref: str) -> None:
    runner = build(make_model(model_ref))
    result = await runner.run(task=task)
    print(result.messages[-1].to_text())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task")
    parser.add_argument("--model", required=True, help="nex model reference, PROVIDER:ARG")
    args = parser.parse_args()
    asyncio.run(main(args.task, args.model))
"""


class _Writer:
    def __init__(self) -> None:
        self.functions: list[str] = []
        self._names: dict[tuple[str, int], str] = {}

    def _fn(self, key: tuple[str, int], base: str) -> tuple[str, bool]:
        if key in self._names:
            return self._names[key], False
        name = f"build_{base}_{len(self._names) + 1}"
        self._names[key] = name
        return name, True

    def system(self, agent: AgentSpec) -> str:
        """Name of a function returning the agent, or its Swarm when it hands off."""
        members = handoff_closure(agent)
        if len(members) == 1:
            return self.agent(agent, team_view=False)
        name, new = self._fn(("swarm", id(agent)), f"{agent.name}_swarm")
        if new:
            calls = ", ".join(f"{self.agent(m, team_view=False)}(model)" for m in members)
            self.functions.append(
                f"def {name}(model: Any) -> Swarm:\n"
                f"    return Swarm(\n"
                f"        [{calls}],\n"
                f"        name={swarm_name(agent)!r},\n"
                f"        description={agent.description or None!r},\n"
                f"        termination_condition=FunctionalTermination(answered),\n"
                f"        max_turns={MAX_HANDOFF_DEPTH + 1},\n"
                f"    )\n"
            )
        return name

    def agent(self, agent: AgentSpec, *, team_view: bool) -> str:
        check_supported(agent)
        name, new = self._fn(("agent", id(agent)), agent.name)
        if not new:
            return name
        tools: list[str] = []
        handoffs: list[str] = []
        for handle in tool_handles(agent).values():
            schema = handle.schema
            if handle.kind == "function":
                assert handle.tool is not None
                if isinstance(handle.tool.binding, CallableBinding):
                    raise AdapterError(
                        f"tool '{handle.tool.name}' is an in-process callable; code can only "
                        "refer to tools bound by import path"
                    )
                spec = handle.tool.model_dump(mode="json", exclude_none=True)
                tools.append(
                    f"SchemaTool(ToolSpec.model_validate({spec!r}), timeout_s={handle.timeout_s!r})"
                )
            elif handle.kind == "subagent":
                assert handle.sub_agent is not None
                child = handle.sub_agent.child
                fn = self.system(child)
                cls = "ProtocolTeamTool" if len(handoff_closure(child)) > 1 else "ProtocolAgentTool"
                tools.append(
                    f"{cls}({fn}(model), name={schema.name!r}, description={schema.description!r}, "
                    f"factory=lambda: {fn}(model))"
                )
            else:
                assert handle.sub_agent is not None
                target = handle.sub_agent.child.name
                handoffs.append(
                    f"ProtocolHandoff(target={target!r}, name={schema.name!r}, "
                    f"description={schema.description!r}, message={f'Transferred to {target}.'!r})"
                )
        settings = agent.model.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        self.functions.append(
            f"def {name}(model: Any) -> ProtocolAssistantAgent:\n"
            f"    return ProtocolAssistantAgent(\n"
            f"        {agent.name!r},\n"
            f"        bridge_model(model, agent={agent.name!r}, "
            f"settings=ModelSettings.model_validate({settings!r}), "
            f"parallel_tool_calls={agent.parallel_tool_calls!r}),\n"
            f"        tools={_list(tools)},\n"
            f"        handoffs={_list(handoffs)},\n"
            f"        description={agent.description!r},\n"
            f"        system_message={agent.system_prompt or None!r},\n"
            f"        max_tool_iterations={agent.limits.max_steps!r},\n"
            f"        reflect_on_tool_use=False,\n"
            f"        metadata={agent_metadata(agent)!r},\n"
            f"        team_view={team_view!r},\n"
            f"    )\n"
        )
        return name

    def team(self, team: TeamSpec) -> str:
        for member in team.members:
            if any(s.mode is ContextMode.HANDOFF for s in member.sub_agents):
                raise AdapterError(
                    f"team member '{member.name}' hands off; not supported in AutoGen teams"
                )
        members = ", ".join(f"{self.agent(m, team_view=True)}(model)" for m in team.members)
        text = team.termination.text_mention
        names = [m.name for m in team.members]
        termination = f"TextMentionTermination({text!r}, sources={names!r})" if text else "None"
        common = (
            f"        name={team.name!r},\n"
            f"        description={team.description or None!r},\n"
            f"        termination_condition={termination},\n"
            f"        max_turns={team.termination.max_turns!r},\n"
        )
        if team.speaker_selection == "round_robin":
            body = f"    return RoundRobinGroupChat(\n        [{members}],\n{common}    )\n"
        else:
            selector = (team.selector_model or team.members[0].model).model_dump(
                mode="json", exclude_none=True, exclude_defaults=True
            )
            body = (
                f"    return SelectorGroupChat(\n        [{members}],\n"
                f"        model_client=bridge_model(model, agent={team.name!r}, "
                f"settings=ModelSettings.model_validate({selector!r})),\n"
                f"        selector_prompt=SELECTOR_PROMPT,\n"
                f"        allow_repeated_speaker=True,\n{common}    )\n"
            )
        self.functions.append(f"def build_team(model: Any) -> Any:\n{body}")
        return "build_team"


def _list(items: list[str]) -> str:
    if not items:
        return "None"
    inner = "".join(f"            {item},\n" for item in items)
    return f"[\n{inner}        ]"


def to_code(spec: AgentSpec | TeamSpec) -> str:
    """Python source that builds ``spec`` in AutoGen and runs a task from the command line."""
    writer = _Writer()
    root = writer.team(spec) if isinstance(spec, TeamSpec) else writer.system(spec)
    functions = "\n\n".join(writer.functions)
    build = (
        "def build(model: Any) -> Any:\n"
        f'    """The AutoGen object for {spec.name!r}."""\n'
        f"    return {root}(model)\n"
    )
    return f"{HEADER.format(name=spec.name)}\n\n{functions}\n\n{build}{FOOTER}"
