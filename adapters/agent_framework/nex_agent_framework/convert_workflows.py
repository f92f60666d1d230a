"""Agent Framework workflows → nex specs: group chats as teams, handoff workflows as agents
that hand off.

- A ``GroupChatBuilder`` workflow is a :class:`~nex_core.protocol.spec.TeamSpec`: its agent
  participants are the members, ``max_rounds`` is ``termination.max_turns``. Speaker selection
  by a selection function is ``round_robin`` (the protocol cannot hold a function: reported,
  unless it is the selector this adapter built), by a manager agent (``orchestrator_agent``)
  ``model`` with the manager's model as ``selector_model`` (its instructions and structured
  answer are the framework's, not the protocol's request: reported).
- A ``HandoffBuilder`` workflow is the start agent with a ``handoff`` sub-agent for every
  handoff it declares, to any depth (each agent once; a handoff back to an agent already on the
  path is reported, since a spec is a tree).
- Other workflows (sequential, concurrent, magentic, hand-written graphs) are refused with the
  reason: the protocol has no such turn-taking.
"""

from __future__ import annotations

from typing import Any

from agent_framework import AgentExecutor, Workflow

from nex_agent_framework.codegen_handoffs import handoff_tool_name
from nex_agent_framework.record_handoffs import handoff_targets
from nex_core.adapter import ConversionReport
from nex_core.errors import AdapterError
from nex_core.protocol.spec import AgentSpec, ContextMode, SubAgentSpec, TeamSpec, Termination


def workflow_to_spec(workflow: Workflow, report: ConversionReport, converter: Any) -> Any:
    """The spec of a group-chat or handoff workflow (``converter`` converts one agent)."""
    from agent_framework_orchestrations import (
        AgentBasedGroupChatOrchestrator,
        BaseGroupChatOrchestrator,
        HandoffAgentExecutor,
    )

    name = converter.names.of(workflow)  # the recorder's name for it (:mod:`.names`)
    executors = list((getattr(workflow, "executors", None) or {}).values())
    managers = [e for e in executors if isinstance(e, BaseGroupChatOrchestrator)]
    if any(isinstance(e, HandoffAgentExecutor) for e in executors):
        return _handoffs(name, executors, report, converter)
    if managers and not isinstance(managers[0], AgentBasedGroupChatOrchestrator | _group_chat()):
        raise AdapterError(
            f"workflow {name!r}: its manager {type(managers[0]).__name__} chooses speakers its own "
            "way (magentic or a custom orchestrator); the protocol holds round-robin and "
            "model-selected teams only"
        )
    if not managers:
        raise AdapterError(
            f"workflow {name!r}: the agent-framework adapter converts group-chat and handoff "
            "workflows; a sequential, concurrent or hand-built workflow has turn-taking the "
            "protocol does not hold (convert its agents one by one)"
        )
    return _group_chat_spec(name, managers[0], executors, report, converter)


def _group_chat() -> type:
    from agent_framework_orchestrations import GroupChatOrchestrator

    return GroupChatOrchestrator


def _group_chat_spec(
    name: str, manager: Any, executors: list[Any], report: ConversionReport, converter: Any
) -> TeamSpec:
    from agent_framework_orchestrations import AgentBasedGroupChatOrchestrator

    from nex_agent_framework.teams import TeamState, _Selector

    members: list[AgentSpec] = []
    for executor in executors:
        if executor is manager:
            continue
        if isinstance(executor, AgentExecutor):
            agent = executor.agent
            members.append(converter.agent(agent, f"{name}.{agent.name or executor.id}"))
        else:
            report.add(
                f"{name}.{executor.id}",
                f"participant {type(executor).__name__} is an executor, not an agent: "
                "not converted",
            )
    if not members:
        raise AdapterError(f"group chat {name!r} has no agent participant to convert")
    spec: dict[str, Any] = {"name": name, "members": members}
    selection = getattr(manager, "_selection_func", None)
    ours: TeamState | None = selection.state if isinstance(selection, _Selector) else None
    if isinstance(manager, AgentBasedGroupChatOrchestrator):
        spec["speaker_selection"] = "model"
        agent = manager._agent  # the orchestrator keeps its agent only there
        spec["selector_model"] = converter._model(
            agent, dict(getattr(agent, "default_options", None) or {}), f"{name}.manager"
        )
        report.add(
            f"{name}.orchestrator_agent",
            "the manager agent's instructions and structured answer are Agent Framework's; the "
            "protocol's speaker selection sends its own request to the selector model",
            "approximated",
        )
    elif ours is not None:
        spec["speaker_selection"] = ours.spec.speaker_selection
        spec["selector_model"] = ours.spec.selector_model
        spec["description"] = ours.spec.description
    else:
        label = getattr(selection, "__name__", None) or type(selection).__name__
        report.add(
            f"{name}.selection_func",
            f"selection function {label!r} cannot be carried over: converted as round-robin "
            "(the protocol holds round-robin or model-selected speakers)",
            "approximated",
        )
    spec["termination"] = _termination(name, manager, ours, report)
    return TeamSpec(**spec)


def _termination(name: str, manager: Any, ours: Any, report: ConversionReport) -> Termination:
    rounds = getattr(manager, "_max_rounds", None)
    if ours is not None:
        return ours.spec.termination.model_copy(deep=True)
    if rounds is None:
        rounds = Termination().max_turns
        report.add(
            f"{name}.max_rounds",
            f"no max_rounds: the protocol needs a turn limit, {rounds} is used",
            "approximated",
        )
    if getattr(manager, "_termination_condition", None) is not None:
        report.add(
            f"{name}.termination_condition",
            "a termination function cannot be carried over (the protocol stops on max_turns "
            "or a text mention)",
        )
    return Termination(max_turns=rounds)


def _handoffs(
    name: str, executors: list[Any], report: ConversionReport, converter: Any
) -> AgentSpec:
    by_id = {e.id: e for e in executors if isinstance(e, AgentExecutor)}
    start = next((e for e in by_id.values() if getattr(e, "_is_start_agent", False)), None)
    if start is None:
        raise AdapterError(f"handoff workflow {name!r} has no start agent")
    def convert(executor: Any, path: tuple[str, ...]) -> AgentSpec:
        where = ".".join((name, *path))
        spec: AgentSpec = converter.agent(executor.agent, where)
        names = {target: tool for tool, target in handoff_targets(executor.agent).items()}
        tools = {t.name: t for t in spec.tools if t.name in names.values()}
        # What the agent converter said of those tools (their functions are the framework's own)
        # is not about the user's agent.
        said = {f"{where}.tools.{tool}" for tool in tools}
        report.items[:] = [i for i in report.items if i.where not in said]
        subs: list[SubAgentSpec] = []
        for target_id in sorted(getattr(executor, "_handoff_targets", ()) or ()):
            target = by_id.get(target_id)
            if target is None:
                report.add(f"{where}.handoffs.{target_id}", "handoff target is not an agent")
                continue
            if target_id in path:
                report.add(
                    f"{where}.handoffs.{target_id}",
                    f"handoff back to '{target_id}', already on the path from the start agent: "
                    "a spec is a tree, so this handoff is not kept",
                )
                continue
            child = convert(target, (*path, target_id))
            # The tool keeps Agent Framework's name (handoff_to_<agent>) and description, so
            # the spec offers the model what the workflow did.
            tool_name = names.get(target_id) or handoff_tool_name(target_id)
            tool = tools.get(tool_name)
            default = f"Hand the conversation over to {child.name}. {child.description}".strip()
            description = tool.description if tool is not None else None
            subs.append(
                SubAgentSpec(
                    mode=ContextMode.HANDOFF,
                    agent=child,
                    tool_name=tool_name,
                    description=None if description in (None, default) else description,
                )
            )
        # The handoff tools Agent Framework added to the clone are the spec's handoffs.
        own = [t for t in spec.tools if t.name not in tools]
        return spec.model_copy(update={"tools": own, "sub_agents": [*spec.sub_agents, *subs]})

    report.add(
        name,
        'a handoff tool answers "Transferred to <agent>." in the protocol (Agent Framework: '
        '{"handoff_to": "<agent>"}), and the agent handed to gets the whole shared history '
        "(Agent Framework broadcasts the answers without tool calls, and each agent keeps a "
        "session of its own); the user-input requests between turns are not kept, and each "
        "agent's parallel tool calls are off, as Agent Framework's handoff clones set them",
        "approximated",
    )
    return convert(start, (start.id,))
