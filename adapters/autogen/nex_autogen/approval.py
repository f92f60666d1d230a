"""Tool approval (``nex_core.protocol.approval``) for AutoGen agents built from a spec.

AutoGen's ``AssistantAgent`` runs every tool call of a model answer at once and has no pause,
so the pause is nex's, in :class:`~nex_autogen.agents.ProtocolAssistantAgent` (what every
agent built from a spec is), and the record stays AutoGen's own:

- the agent's tools are nex's :class:`~nex_autogen.tools.SchemaTool` / ``MCPTool``, each
  holding its spec, so the agent knows from its workbench which tools need approval, whatever
  model client it runs on (the nex bridge, or AutoGen's OpenAI client in a written program);
- it looks at every model answer as its ``_call_llm`` returns it — after the model client (and
  the recording around it) finished the call, before AutoGen adds the answer to the context
  and starts the batch; an answer calling an approval tool ends the turn with an
  :class:`ApprovalPauseMessage`: none of the batch runs, not even the calls that need no
  approval, so the resume can run the whole batch in the model's order;
- the run records that as outcome ``interrupted``, ``stop_reason: approval_required`` and one
  :class:`~nex_core.protocol.approval.ApprovalRequest` per waiting call as ``pending``, exactly
  as the native runtime does.

Where a pause can be resumed: the root agent of a spec and every agent it hands off to (a
spec that hands off is built as a ``Swarm``; the resume puts its speaker and the members'
conversation back), and an agent used as a tool by one of those that does not hand off itself,
at any depth (the pause travels out through the calling agents, :mod:`nex_autogen.nested`),
and a team member (the team's run pauses; :mod:`nex_autogen.resume_team`) and the agents it
uses as tools. An approval tool in a tool child that hands off (a ``Swarm`` run inside a tool
call) or an agent it hands off to is refused. Resuming: :mod:`nex_autogen.resume`,
:mod:`nex_autogen.resume_nested`, :mod:`nex_autogen.resume_team`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from autogen_agentchat.messages import BaseTextChatMessage
from autogen_core.models import CreateResult

from nex_core.errors import AdapterError
from nex_core.protocol.approval import ApprovalRequest
from nex_core.protocol.spec import AgentSpec, ContextMode, TeamSpec, ToolSpec
from nex_core.trajectory.recorder import parse_arguments


class ApprovalPause(Exception):
    """Raised out of AutoGen's model-call step to end the agent's turn before the batch runs."""

    def __init__(self, result: CreateResult, pending: list[dict[str, Any]]) -> None:
        super().__init__(f"paused for approval of {len(pending)} tool call(s)")
        self.result = result
        self.pending = pending


class ApprovalPauseMessage(BaseTextChatMessage):
    """The turn's answer when it paused: which calls wait (``pending``, as JSON)."""

    pending: list[dict[str, Any]]
    type: Literal["ApprovalPauseMessage"] = "ApprovalPauseMessage"


def pause_message(pause: ApprovalPause, source: str) -> ApprovalPauseMessage:
    names = ", ".join(str(p.get("tool")) for p in pause.pending)
    return ApprovalPauseMessage(
        content=f"waiting for approval: {names}", source=source, pending=pause.pending
    )


def _spec_of(tool: Any) -> ToolSpec | None:
    # A recording proxy (nex_autogen.record) keeps the agent's own tool as ``inner``.
    spec = getattr(getattr(tool, "inner", tool), "spec", None)
    return spec if isinstance(spec, ToolSpec) else None


def gated(workbenches: Iterable[Any], names: set[str]) -> set[str]:
    """Which of the tools ``names`` in ``workbenches`` need approval (nex's spec tools only:
    a tool AutoGen users wrote has no approval policy)."""
    out = set()
    for workbench in workbenches:
        for tool in getattr(workbench, "_tools", None) or ():
            if getattr(tool, "name", None) in names:
                spec = _spec_of(tool)
                if spec is not None and spec.approval == "required":
                    out.add(spec.name)
    return out


def pending_in(
    result: CreateResult, agent: str, workbenches: Iterable[Any]
) -> list[dict[str, Any]]:
    """One request (as JSON) per call of ``result`` to a tool that needs approval, in the
    model's order (what the native runtime's ``approval.pending`` gives for the same calls);
    empty when nothing waits. Only an answer with tool calls looks at the tools."""
    if isinstance(result.content, str) or not result.content:
        return []
    waiting = gated(workbenches, {c.name for c in result.content})
    out = []
    for call in result.content:
        if call.name in waiting:
            arguments, _ = parse_arguments(call.arguments)
            request = ApprovalRequest(
                agent=agent, tool=call.name, tool_call_id=call.id, arguments=arguments or {}
            )
            out.append(request.model_dump(mode="json"))
    return out


def approval_tools(agent: AgentSpec) -> frozenset[str]:
    """The names of ``agent``'s tools that need approval."""
    return frozenset(t.name for t in agent.tools if t.approval == "required")


def check_spec(spec: AgentSpec | TeamSpec) -> bool:
    """Whether ``spec`` has approval tools; raises :class:`AdapterError` naming each agent and
    tool where the autogen adapter cannot pause (see the module docstring)."""
    problems = []
    # A team's members pause in their turns (nex_autogen.resume_team), and below them.
    members = [spec] if isinstance(spec, AgentSpec) else spec.members
    resumable = {i for member in members for i in _resumable(member)}
    for agent in spec.walk():
        for tool in sorted(approval_tools(agent)):
            if id(agent) in resumable:
                continue
            where = "an agent used as a tool that hands off, or one it hands off to"
            problems.append(f"agent '{agent.name}', tool '{tool}' ({where})")
    if problems:
        raise AdapterError(
            "approval: required is supported by the autogen adapter in the root agent of a "
            "spec, the agents it hands off to, team members and agents used as tools that do "
            "not hand off, not in " + "; ".join(problems)
        )
    return any(approval_tools(a) for a in spec.walk())


def _handoffs(agent: AgentSpec) -> list[AgentSpec]:
    return [s.child for s in agent.sub_agents if s.mode is ContextMode.HANDOFF]


def _resumable(root: AgentSpec) -> set[int]:
    """The agents (by ``id``) whose pauses the adapter resumes: the root's Swarm (the root and
    every agent reached from it by handoffs), and every agent used as a tool by one of those
    that does not hand off itself (an ``AgentTool`` child, not a Swarm run inside a tool call),
    and so on down."""
    out: set[int] = set()
    swarm: list[AgentSpec] = [root]
    while swarm:
        agent = swarm.pop()
        if id(agent) not in out:
            out.add(id(agent))
            swarm += _handoffs(agent)
    stack = [a for a in root.walk() if id(a) in out]
    while stack:
        agent = stack.pop()
        for sub in agent.sub_agents:
            child = sub.child
            if sub.mode is ContextMode.TOOL and not _handoffs(child) and id(child) not in out:
                out.add(id(child))
                stack.append(child)
    return out
