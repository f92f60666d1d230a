"""nex spec → AutoGen objects that behave as the native runtime does.

- an agent is a :class:`ProtocolAssistantAgent` whose tool loop runs until the model answers
  (``max_tool_iterations = limits.max_steps``, no reflection call);
- tools are :class:`SchemaTool`s (the spec's schema as given), MCP-bound tools :class:`MCPTool`s
  calling the run's MCP pool (built only with one: the adapter's ``arun`` provides it),
  sub-agents ``AgentTool``s;
- an agent with handoff sub-agents becomes a ``Swarm`` of every agent reachable by handoffs,
  ending when an agent answers instead of handing off;
- a team is a ``RoundRobinGroupChat`` or a ``SelectorGroupChat``.

What AutoGen cannot do the protocol's way (stop tools, tool calls parsed from text, team members
that hand off) is refused with an :class:`AdapterError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TerminationCondition
from autogen_agentchat.conditions import FunctionalTermination, TextMentionTermination
from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, HandoffMessage
from autogen_agentchat.teams import BaseGroupChat, RoundRobinGroupChat, SelectorGroupChat, Swarm
from autogen_core.tools import BaseTool

from nex_autogen.agents import ProtocolAssistantAgent
from nex_autogen.approval import ApprovalPauseMessage, approval_tools, check_spec
from nex_autogen.bridge import bridge_model
from nex_autogen.mcp import MCPTools
from nex_autogen.messages import USER_SOURCE
from nex_autogen.tools import (
    MCPTool,
    ProtocolAgentTool,
    ProtocolHandoff,
    ProtocolTeamTool,
    SchemaTool,
    SerialWorkbench,
)
from nex_core.errors import AdapterError
from nex_core.models.base import ChatModel
from nex_core.protocol.output_model import model_from_schema
from nex_core.protocol.spec import (
    AgentSpec,
    ContextMode,
    MCPBinding,
    TeamSpec,
    ToolFormat,
)
from nex_core.runtime.loop import MAX_HANDOFF_DEPTH
from nex_core.runtime.tools import tool_handles

SELECTOR_PROMPT = (
    "You are choosing who speaks next in a conversation. The participants are:\n{roles}\n"
    "Reply with the name of the next speaker only.\n\n{history}"
)
"""The native runtime's speaker-selection instruction, in AutoGen's template form."""

METADATA_KEY = "nex"
"""``AssistantAgent.metadata`` key holding what AutoGen has no field for (JSON)."""


def answered(messages: Sequence[BaseAgentEvent | BaseChatMessage]) -> bool:
    """A Swarm turn ends the run when an agent answers rather than hands off (the protocol).

    What decides is the turn's last chat message, the agent's response: an agent-as-tool
    (a streaming ``AgentTool``) puts its own answer in the turn before that, and taking it for
    the Swarm's answer ended the run on a handoff made after it."""
    chat = [m for m in messages if isinstance(m, BaseChatMessage)]
    if not chat:
        return False
    last = chat[-1]
    return not isinstance(last, HandoffMessage) and last.source != USER_SOURCE


def paused_turn(messages: Sequence[BaseAgentEvent | BaseChatMessage]) -> bool:
    """A team member's turn ended paused for approval."""
    return any(isinstance(m, ApprovalPauseMessage) for m in messages)


def check_supported(agent: AgentSpec, *, mcp: MCPTools | None = None) -> None:
    """Refuse what AutoGen cannot do as the protocol says, naming the capability (MCP tools need
    the MCP side of a run, ``mcp``)."""
    if not agent.name.isidentifier():
        raise AdapterError(f"AutoGen agent names must be Python identifiers; '{agent.name}' is not")
    if agent.stop_tools:
        raise AdapterError(
            f"agent '{agent.name}': AutoGen has no stop tools (an agent's turn cannot end on a "
            "tool call); capability stop_tools is not supported by the autogen adapter"
        )
    if agent.tool_format is not ToolFormat.NATIVE:
        raise AdapterError(
            f"agent '{agent.name}': AutoGen reads tool calls only from native function calling; "
            f"tool_format '{agent.tool_format.value}' is not supported by the autogen adapter"
        )
    for tool in agent.tools:
        if isinstance(tool.binding, MCPBinding) and mcp is None:
            raise AdapterError(
                f"agent '{agent.name}': tool '{tool.name}' is served by MCP server "
                f"'{tool.binding.server}'; MCP sessions belong to a run, so run this spec with "
                "the autogen adapter's arun (it cannot be built or written as code without one)"
            )


def agent_metadata(agent: AgentSpec) -> dict[str, str]:
    """What the spec holds that ``AssistantAgent`` has no field for, so conversion finds it."""
    extra: dict[str, Any] = {
        "tool_timeout_s": agent.limits.tool_timeout_s,
        "max_model_retries": agent.limits.max_model_retries,
    }
    if agent.extensions:
        extra["extensions"] = agent.extensions
    return {METADATA_KEY: json.dumps(extra, sort_keys=True)}


def build_agent(
    agent: AgentSpec,
    model: ChatModel,
    *,
    team_view: bool = False,
    mcp: MCPTools | None = None,
) -> ProtocolAssistantAgent:
    """One agent; its handoffs name Swarm participants built beside it."""
    check_supported(agent, mcp=mcp)
    tools: list[BaseTool[Any, Any]] = []
    handoffs: list[ProtocolHandoff] = []
    for handle in tool_handles(agent).values():
        schema = handle.schema
        if handle.kind == "function":
            assert handle.tool is not None
            tools.append(SchemaTool(handle.tool, timeout_s=handle.timeout_s))
        elif handle.kind == "mcp":
            assert handle.tool is not None and mcp is not None
            tools.append(MCPTool(handle.tool, mcp, timeout_s=handle.timeout_s))
        elif handle.kind == "subagent":
            assert handle.sub_agent is not None
            child = handle.sub_agent.child
            tools.append(build_sub_agent_tool(child, model, schema.name, schema.description, mcp))
        else:
            assert handle.sub_agent is not None
            target = handle.sub_agent.child.name
            handoffs.append(
                ProtocolHandoff(
                    target=target,
                    name=schema.name,
                    description=schema.description,
                    message=f"Transferred to {target}.",
                )
            )
    client = bridge_model(
        model, agent=agent.name, settings=agent.model, parallel_tool_calls=agent.parallel_tool_calls
    )
    # Sequential calls (parallel_tool_calls: false) run through a workbench that takes them one
    # at a time; AutoGen itself would start them all at once.
    serial = not agent.parallel_tool_calls and bool(tools)
    return ProtocolAssistantAgent(
        agent.name,
        client,
        tools=None if serial else tools or None,
        workbench=SerialWorkbench(tools) if serial else None,
        handoffs=list(handoffs) or None,
        description=agent.description,
        system_message=agent.system_prompt or None,
        max_tool_iterations=agent.limits.max_steps,
        reflect_on_tool_use=False,  # AutoGen's default with output_content_type would add a call
        output_content_type=(
            None if agent.output_schema is None else model_from_schema(agent.output_schema)
        ),
        metadata=agent_metadata(agent),
        team_view=team_view,
        max_output_retries=agent.limits.max_output_retries,
    )


def build_sub_agent_tool(
    child: AgentSpec,
    model: ChatModel,
    name: str,
    description: str,
    mcp: MCPTools | None = None,
) -> BaseTool[Any, Any]:
    """Agent-as-tool: ``AgentTool`` over the child, or ``TeamTool`` over its Swarm."""

    def factory() -> AssistantAgent | Swarm:
        return build_agent_system(child, model, mcp)

    runner = factory()
    if isinstance(runner, BaseGroupChat):
        return ProtocolTeamTool(runner, name=name, description=description, factory=factory)
    return ProtocolAgentTool(runner, name=name, description=description, factory=factory)


def _without_handoffs(agent: AgentSpec) -> AgentSpec:
    """The agent as a participant: its handoffs aside, and its description (what a handing
    agent's tool says of it, kept by each handoff) too."""
    subs = [s for s in agent.sub_agents if s.mode is not ContextMode.HANDOFF]
    return agent.model_copy(update={"sub_agents": subs, "description": ""})


def handoff_closure(root: AgentSpec) -> list[AgentSpec]:
    """Every agent reachable from ``root`` by handoffs, root first, one participant per name.

    A spec writes a cycle of handoffs (Alice → Bob → Alice) as nested copies, the last copy
    without the handoffs that would close the cycle again; a Swarm hands off by name, so copies
    that differ only in their handoffs (and descriptions) are one participant, holding every
    handoff of any copy.
    Two agents of one name that differ otherwise cannot share a Swarm."""
    seen: dict[str, AgentSpec] = {}
    queue = [root]
    while queue:
        agent = queue.pop(0)
        known = seen.get(agent.name)
        if known is not None:
            if known is agent or known == agent:
                continue
            if _without_handoffs(known) != _without_handoffs(agent):
                raise AdapterError(
                    f"two different agents named '{agent.name}' in one Swarm (they differ in "
                    "more than their handoffs)"
                )
            targets = {s.child.name for s in known.sub_agents if s.mode is ContextMode.HANDOFF}
            extra = [
                s
                for s in agent.sub_agents
                if s.mode is ContextMode.HANDOFF and s.child.name not in targets
            ]
            if extra:
                seen[agent.name] = known.model_copy(
                    update={"sub_agents": [*known.sub_agents, *extra]}
                )
            queue += [s.child for s in extra]
            continue
        seen[agent.name] = agent
        queue += [s.child for s in agent.sub_agents if s.mode is ContextMode.HANDOFF]
    return list(seen.values())


def swarm_name(root: AgentSpec) -> str:
    return f"{root.name}_swarm"


def build_agent_system(
    agent: AgentSpec, model: ChatModel, mcp: MCPTools | None = None
) -> AssistantAgent | Swarm:
    """An agent, or a Swarm when it (or anyone it hands off to) hands off."""
    members = handoff_closure(agent)
    if len(members) == 1:
        return build_agent(agent, model, mcp=mcp)
    return Swarm(
        [build_agent(m, model, mcp=mcp) for m in members],
        name=swarm_name(agent),
        description=agent.description or None,
        termination_condition=FunctionalTermination(answered),
        max_turns=MAX_HANDOFF_DEPTH + 1,
        # A member that pauses for approval ends its turn with this message; a group chat
        # refuses message types it was not told of.
        custom_message_types=[ApprovalPauseMessage],
    )


def team_termination(team: TeamSpec) -> TerminationCondition | None:
    text = team.termination.text_mention
    if text is None:
        return None
    return TextMentionTermination(text, sources=[m.name for m in team.members])


def build_team(team: TeamSpec, model: ChatModel, mcp: MCPTools | None = None) -> BaseGroupChat:
    if not team.name.isidentifier():
        raise AdapterError(f"AutoGen team names must be Python identifiers; '{team.name}' is not")
    for member in team.members:
        if any(s.mode is ContextMode.HANDOFF for s in member.sub_agents):
            raise AdapterError(
                f"team member '{member.name}' hands off; handoffs inside team turns are not "
                "supported by the autogen adapter"
            )
    members = [build_agent(m, model, team_view=True, mcp=mcp) for m in team.members]
    common: dict[str, Any] = {
        "name": team.name,
        "description": team.description or None,
        "termination_condition": team_termination(team),
        "max_turns": team.termination.max_turns,
    }
    if any(approval_tools(a) for a in team.walk()):
        # A member's pause ends the team's run (the whole run pauses; nex_autogen.resume_team);
        # a group chat refuses message types it was not told of.
        stop = FunctionalTermination(paused_turn)
        given = common["termination_condition"]
        common["termination_condition"] = stop if given is None else given | stop
        common["custom_message_types"] = [ApprovalPauseMessage]
    if team.speaker_selection == "round_robin":
        return RoundRobinGroupChat(members, **common)  # type: ignore[arg-type]
    selector = bridge_model(
        model, agent=team.name, settings=team.selector_model or team.members[0].model
    )
    return SelectorGroupChat(
        members,  # type: ignore[arg-type]
        model_client=selector,
        selector_prompt=SELECTOR_PROMPT,
        allow_repeated_speaker=True,
        **common,
    )


def build(
    spec: AgentSpec | TeamSpec, model: ChatModel, *, mcp: MCPTools | None = None
) -> AssistantAgent | BaseGroupChat:
    """The AutoGen object for ``spec``, driven by ``model`` (bridged per agent); MCP-bound tools
    call the servers through ``mcp``, the MCP side of the run. Approval tools where the adapter
    cannot pause are refused (:func:`nex_autogen.approval.check_spec`)."""
    check_spec(spec)
    if isinstance(spec, TeamSpec):
        return build_team(spec, model, mcp)
    return build_agent_system(spec, model, mcp)
