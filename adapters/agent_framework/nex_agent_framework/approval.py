"""Tool approval (``nex_core.protocol.approval``) over Agent Framework's function approvals.

A spec tool with ``approval: required`` is a ``FunctionTool`` with
``approval_mode="always_require"``. When the model calls it, Agent Framework's function loop
stops before running the batch and the run's response carries one ``function_approval_request``
per such call: the run is recorded ``interrupted`` with one ``ApprovalRequest`` per request,
and no tool step (nothing ran).

The paused conversation (the active agent, its message list, the requests) stays in this
process, keyed by the trajectory's ``session_id``: Agent Framework binds an approval to the
request its run made, and the objects of that run are what :func:`resume` continues. Decisions
become the framework's approval responses, sent as the next message the way its documentation
resumes an approval:

- ``approve``: an approving response; the framework runs the call (and the batch's other calls);
- ``reject``: a refusing response; the framework answers the call with its own fixed words,
  which the agent's request middleware replaces with :func:`rejection_message` before the model
  reads them, and the call is recorded as a ``ToolCallRejected`` tool step;
- ``edit``: Agent Framework refuses an approval whose call differs from the requested one, so an
  edit is an approving response and the human's arguments reach the tool through the protocol
  middleware, which already gives every call the arguments it is told (the model's raw text
  otherwise); the tool step records the human's arguments.

A call of an agent used as a tool (built from a spec) whose agent pauses inside pauses the
caller too (:mod:`.nested`): the caller's :class:`Paused` has no requests of its own but one
:class:`ChildCall` per such call, each holding where its agent stands, to any depth.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from agent_framework import Content, Message

from nex_core.protocol.approval import ApprovalRequest, Decision, rejection_message


@dataclass
class Paused:
    """Where a run of an agent built from a spec stopped for approval."""

    agent: Any
    """The agent whose model call asked for the approvals (the root or a handoff target)."""
    history: list[Message]
    """The conversation, up to and including the response that asked."""
    requests: list[Content]
    """The framework's ``function_approval_request`` contents, in the model's order."""
    depth: int = 0
    """Consecutive handoffs so far (the driver's limit goes on counting)."""
    root: Any = None
    """The agent the run was started on (set by the adapter)."""
    edits: dict[str, str] = field(default_factory=dict)
    """Call id → the human's arguments (JSON) of an edited call (set by :func:`answer`)."""
    children: list[ChildCall] = field(default_factory=list)
    """The calls of agents used as tools that paused inside (then ``requests`` is empty)."""
    answer: Message | None = None
    """The approval responses that resume this run (set by the adapter's resume)."""
    team: TeamPause | None = None
    """A team's run paused in a member's turn (then ``agent`` is the team's workflow)."""

    def leaves(self) -> list[Paused]:
        """The runs that asked (this one, or the innermost below each paused child call or
        member turn)."""
        if self.team is not None:
            return self.team.paused.leaves()
        if not self.children:
            return [self]
        return [leaf for call in self.children for leaf in call.paused.leaves()]


@dataclass
class TeamPause:
    """A team's turn that paused: the member's run stands in ``paused``."""

    member: str
    turn: int
    """The index of the paused turn among the team's member turns."""
    view: list[Message]
    """The transcript as the member was given it (its ``team_turn`` step's input)."""
    paused: Paused
    pending: list[dict[str, Any]]
    """The requests waiting in the turn, as the team sees them (``path`` from the team)."""


@dataclass
class ChildCall:
    """A call of an agent used as a tool that paused inside: what the resume needs to record
    that call again (under the same call id) and carry it on."""

    call_id: str
    tool: str
    arguments: str
    """The arguments as the calling model wrote them."""
    child: str
    """The name the agent used as a tool is recorded under."""
    task: str
    """The task the agent was given (its sub-agent step's input)."""
    paused: Paused
    """Where that agent's run stands."""
    pending: list[dict[str, Any]]
    """The requests waiting inside, as the calling agent sees them (``path`` from it)."""


class ChildPaused(Exception):
    """Raised out of an agent-as-tool's function when its agent paused for approval."""

    def __init__(self, paused: Paused, pending: list[dict[str, Any]]) -> None:
        super().__init__(f"paused for approval of {len(pending)} call(s)")
        self.paused = paused
        self.pending = pending


_LOCK = threading.Lock()
_PAUSED: dict[str, Paused] = {}
"""Session id → the paused run of that session (in-process: what Agent Framework binds to)."""


def keep(session_id: str, paused: Paused) -> None:
    with _LOCK:
        _PAUSED[session_id] = paused


def take(session_id: str | None) -> Paused | None:
    if session_id is None:
        return None
    with _LOCK:
        return _PAUSED.pop(session_id, None)


def approval_requests(response: Any) -> list[Content]:
    """The function-approval requests of a run's response (empty when it did not pause)."""
    requests = getattr(response, "user_input_requests", None) or []
    return [r for r in requests if r.type == "function_approval_request"]


def _arguments(call: Content) -> dict[str, Any]:
    arguments = call.arguments
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return {}
    return dict(arguments) if isinstance(arguments, dict) else {}


def needs_approval(agent: Any) -> set[str]:
    """The names of the tools of ``agent`` (built from a spec) that need approval."""
    from nex_agent_framework.tools import ProtocolMiddleware

    for middleware in getattr(agent, "middleware", None) or ():
        if isinstance(middleware, ProtocolMiddleware):
            return {
                name
                for name, handle in middleware.handles.items()
                if handle.tool is not None and handle.tool.approval == "required"
            }
    return set()


def pending_of(agent: Any, requests: list[Content], *, every: bool = False) -> list[dict[str, Any]]:
    """``Outcome.pending`` of a paused run: one ``ApprovalRequest`` per call of a tool that
    needs approval. Without a session Agent Framework asks about every call of the batch; the
    others are approved on resume, as the protocol runs them without asking. ``every``: all
    requests (an agent the user built, with a session: the framework asks only where needed)."""
    name = getattr(agent, "name", None) or type(agent).__name__
    needed = needs_approval(agent)
    out = []
    for request in requests:
        call = request.function_call
        assert call is not None
        if not every and call.name not in needed:
            continue
        out.append(
            ApprovalRequest(
                agent=name,
                tool=call.name or "",
                tool_call_id=call.call_id or "",
                arguments=_arguments(call),
            ).model_dump()
        )
    return out


_APPROVE = Decision(action="approve")


def answer(paused: Paused, decisions: dict[str, Decision]) -> Message:
    """The message that resumes ``paused`` with ``decisions`` (one per pending call id), with
    rejection texts and edited arguments put where the agent's middleware reads them."""
    from nex_agent_framework.build import ProtocolRequests
    from nex_agent_framework.tools import ProtocolMiddleware

    client = paused.agent.client
    requests = next(m for m in client.chat_middleware if isinstance(m, ProtocolRequests))
    protocol = next(m for m in paused.agent.middleware if isinstance(m, ProtocolMiddleware))
    contents = []
    for request in paused.requests:
        call = request.function_call
        assert call is not None and call.call_id is not None
        decision = decisions.get(call.call_id, _APPROVE)
        if decision.action == "reject":
            requests.rejected[call.call_id] = rejection_message(call.name or "", decision)
        elif decision.action == "edit":
            protocol.edits[call.call_id] = dict(decision.arguments or {})
            paused.edits[call.call_id] = json.dumps(decision.arguments or {}, ensure_ascii=False)
        contents.append(request.to_function_approval_response(decision.action != "reject"))
    return Message("user", contents)


def rejected(paused: Paused, decisions: dict[str, Decision]) -> list[tuple[Content, Decision]]:
    """The paused calls the human rejected, in the model's order."""
    out = []
    for request in paused.requests:
        call = request.function_call
        if call is not None and call.call_id in decisions:
            decision = decisions[call.call_id]
            if decision.action == "reject":
                out.append((call, decision))
    return out


__all__ = [
    "ChildCall",
    "ChildPaused",
    "Paused",
    "TeamPause",
    "answer",
    "approval_requests",
    "keep",
    "needs_approval",
    "pending_of",
    "rejected",
    "take",
]
