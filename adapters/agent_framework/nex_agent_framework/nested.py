"""Approval inside agents used as tools: the whole run pauses, the resume carries the call on.

Agent Framework's ``as_tool`` fails the calling agent's tool call when its agent asks for
approval (a function-approval request cannot leave a tool call). So an agent built from a spec
whose agent-as-tool can ask (an approval tool in it, at any depth) calls it through
:func:`pausing_agent_tool` instead: the agent runs as the driver runs any agent
(:meth:`~nex_agent_framework.run._ProtocolDriver.converse`, on a message list of its own), and
a run of it that paused leaves a :class:`~nex_agent_framework.approval.ChildPaused` in the
call's metadata. The calling agent's protocol middleware turns that into the end of its own
run (the framework's ``MiddlewareTermination``; a parallel batch's other calls finish first),
keeping where the child stands, and so on up: the run ends ``interrupted`` with the innermost
requests, each with its ``path``, and the enclosing tool and sub-agent steps closed
``cancelled`` with ``metadata.pending``, as the native runtime records it
(``nex_core.runtime.approval``).

The resume (:func:`carry`) records each paused call again under its call id, its sub-agent
step under it, resumes the agent inside (deeper calls the same way), puts the agent's answer in
the conversation in place of the paused call's result, and the caller goes on. The state is
this process's, as for every Agent Framework pause (:mod:`.approval`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent_framework import Agent, Content, FunctionInvocationContext, FunctionTool, Message

from nex_agent_framework.approval import (
    ChildCall,
    ChildPaused,
    Paused,
    approval_requests,
    pending_of,
    rejected,
)
from nex_agent_framework.tools import (
    CHILD_PAUSED_KEY,
    PAUSED_RESULT,
    TurnState,
    protocol_state,
)
from nex_core.protocol.approval import REJECTED_ERROR_TYPE, Decision, rejection_message
from nex_core.protocol.spec import AgentSpec
from nex_core.runtime.approval import close_paused, nest
from nex_core.runtime.tools import ToolHandle, describe_error
from nex_core.trajectory.recorder import Recorder, error_info
from nex_core.trajectory.schema import ErrorInfo, OutcomeStatus
from nex_core.trajectory.schema import Message as NexMessage

if TYPE_CHECKING:
    from nex_agent_framework.run import _ProtocolDriver, _Result


def asks_inside(spec: AgentSpec) -> bool:
    """Whether ``spec`` or an agent it reaches has a tool that needs approval."""
    return any(t.approval == "required" for a in spec.walk() for t in a.tools)


def pausing_agent_tool(handle: ToolHandle, child: Agent) -> FunctionTool:
    """An agent-as-tool whose agent may pause for approval (see the module doc). The function
    closes over ``child``, so the recorder finds the agent it calls (``agent_of_tool``)."""

    async def call_agent(ctx: FunctionInvocationContext, **arguments: Any) -> str:
        from nex_agent_framework.run import run_child

        try:
            return await run_child(child, str(arguments.get("task", "")))
        except ChildPaused as paused:  # for the calling agent's protocol middleware
            ctx.metadata[CHILD_PAUSED_KEY] = paused
            return PAUSED_RESULT

    return FunctionTool(
        name=handle.schema.name,
        description=handle.schema.description,
        func=call_agent,
        input_model=dict(handle.schema.parameters),
    )


def record_rejected(recorder: Recorder, leaf: Paused, decisions: dict[str, Decision]) -> None:
    """The rejected calls of a run that asked, recorded where it resumes: they never run."""
    name = leaf.agent.name
    for call, chosen in rejected(leaf, decisions):
        arguments = call.arguments
        step = recorder.begin_tool(
            agent=name,
            name=call.name or "",
            call_id=call.call_id,
            arguments=arguments if isinstance(arguments, str) else dict(arguments or {}),
        )
        text = rejection_message(call.name or "", chosen)
        recorder.end_tool(step, error=ErrorInfo(type=REJECTED_ERROR_TYPE, message=text))


async def carry(
    driver: _ProtocolDriver, caller: Paused, call: ChildCall, decisions: dict[str, Decision]
) -> ChildCall | None:
    """Carry one paused agent-as-tool call on: recorded again under its call id, its agent
    resumed inside; its answer (or error) replaces the paused result in ``caller``'s
    conversation. The call still waiting (its agent paused again), or ``None``."""
    rec = driver.recorder
    assert rec is not None
    name = caller.agent.name
    step = rec.begin_tool(
        agent=name, name=call.tool, call_id=call.call_id, arguments=call.arguments
    )
    with rec.under(step.id):
        sub = rec.begin_subagent(
            agent=name,
            child=call.child,
            mode="tool",
            call_id=call.call_id,
            input=[NexMessage.user(call.task)],
        )
        try:
            with rec.under(sub.id):
                result = await driver.resume(call.paused, decisions)
            text = answer_of(call.child, result)
        except Exception as exc:
            rec.end_subagent(sub, None, error=exc)
            rec.end_tool(step, error=exc)
            _put_result(caller.history, call.call_id, describe_error(error_info(exc)))
            return None
    if result.paused is not None:
        pending = nest(result.pending or [], name)
        close_paused(sub, pending)
        close_paused(step, pending)
        return ChildCall(
            call.call_id, call.tool, call.arguments, call.child, call.task, result.paused, pending
        )
    rec.end_subagent(sub, text)
    rec.end_tool(step, text)
    _put_result(caller.history, call.call_id, text)
    return None


def answer_of(child: str, result: _Result) -> str:
    """An agent-as-tool's result: the agent's answer; a run that ran out of steps is the
    call's error, as natively (``SubAgentFailed``)."""
    from nex_core.runtime.loop import SubAgentFailed

    if result.status is OutcomeStatus.MAX_STEPS:
        raise SubAgentFailed(f"agent '{child}' stopped without an answer (max_steps)")
    return result.final_output or ""


def paused_children(state: TurnState, response: Any) -> list[ChildCall]:
    """The agent-as-tool calls of ``response`` that paused inside, in the model's order (taken
    out of the agent's state: a later run of the same agent starts clean)."""
    if not state.children:
        return []
    out = []
    for message in response.messages:
        for content in message.contents:
            if content.type == "function_call" and content.call_id in state.children:
                out.append(state.children.pop(content.call_id))
    return out


_MEMBER_PAUSED_KEY = "nex.member_paused"


def member_paused(context: Any) -> tuple[Paused, list[dict[str, Any]]] | None:
    """Whether a team member's run (an agent built from a spec; ``context`` its agent
    middleware context, after the run) paused for approval: where it stands and its requests.
    Worked out once per run (the turn's recorder and the team's view both ask)."""
    if _MEMBER_PAUSED_KEY in context.metadata:
        found: tuple[Paused, list[dict[str, Any]]] | None = context.metadata[_MEMBER_PAUSED_KEY]
        return found
    from agent_framework import AgentResponse

    agent, result, found = context.agent, context.result, None
    state = protocol_state(agent)
    if state is not None and isinstance(result, AgentResponse):
        history = [*context.messages, *result.messages]
        requests = approval_requests(result)
        children = [] if requests else paused_children(state, result)
        if requests:
            found = Paused(agent, history, requests), pending_of(agent, requests)
        elif children:
            pending = [p for c in children for p in c.pending]
            found = Paused(agent, history, [], children=children), pending
    context.metadata[_MEMBER_PAUSED_KEY] = found
    return found


def _put_result(history: list[Message], call_id: str, text: str) -> None:
    """``text`` as the result of call ``call_id`` in the conversation, in place of the result
    the paused call left there (the last tool message that answers it)."""
    for message in reversed(history):
        if str(message.role) != "tool":
            continue
        for i, content in enumerate(message.contents):
            if content.type == "function_result" and content.call_id == call_id:
                message.contents[i] = Content.from_function_result(call_id=call_id, result=text)
                return
    history.append(Message("tool", [Content.from_function_result(call_id=call_id, result=text)]))


__all__ = [
    "answer_of",
    "asks_inside",
    "carry",
    "member_paused",
    "paused_children",
    "pausing_agent_tool",
    "record_rejected",
]
