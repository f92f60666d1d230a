"""Tool approval on LangGraph, through LangChain's own ``HumanInTheLoopMiddleware``.

Built agents: a spec's ``approval: required`` tools go into the ``interrupt_on`` of
:class:`ApprovalMiddleware`, a ``HumanInTheLoopMiddleware`` that changes two things only, so a
resumed run reads as the contract (``nex_core.protocol.approval``) says:

* a rejected call is answered *in its place in the batch* (LangChain appends its answer before the
  other calls' results), by a stand-in tool that raises :class:`ToolCallRejected`, so the call is
  recorded as a failed tool step and the model reads exactly :func:`rejection_message`;
* an edited call's result carries no reviewer notice (``edit_notice=None``): the run goes on as
  if the human's arguments had been the model's.

Recorded runs (built or the user's own): a ``HITLRequest`` (batched) or ``ToolApprovalRequest``
(per call) interrupt becomes one :class:`ApprovalRequest` per call, matched to the model's tool
call ids; a ``Command(resume=...)`` whose decisions all map (approve, edit, reject) is recorded as
``decisions_value`` of the nex decisions. What a paused session waits on is kept in-process per
session (:data:`PAUSES`): a resume in the same process finds it there.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired

from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.agents.middleware.types import AgentState, PrivateStateAttr
from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.config import get_config

from nex_core.protocol.approval import (
    ApprovalRequest,
    Decision,
    rejection_message,
)
from nex_core.runtime.approval import close_paused
from nex_core.trajectory.schema import (
    LLMStep,
    SubAgentStep,
    ToolStep,
    Trajectory,
)

HITL_SOURCE = "hitl_interrupt_decision"
"""``lc_source`` LangChain puts on the tool message that answers a rejected call."""
REJECTIONS_KEY = "nex_rejections"
"""``configurable`` key of a resume: call id → the text a rejected call's model reads."""
_REJECTED_KEY = "nex_rejected_calls"
"""Private state key: call id → LangChain's own answer to a rejected call of this turn."""


class ToolCallRejected(Exception):
    """A call the human rejected: its tool step's error (``REJECTED_ERROR_TYPE``)."""


class _ApprovalState(AgentState[Any]):
    # HumanInTheLoopMiddleware's own key (its state class is private), then nex's.
    hitl_edited_tool_calls: NotRequired[Annotated[dict[str, Any], PrivateStateAttr]]
    nex_rejected_calls: NotRequired[Annotated[dict[str, str], PrivateStateAttr]]


class ApprovalMiddleware(HumanInTheLoopMiddleware):
    """``HumanInTheLoopMiddleware`` for a nex agent: rejected calls answered in batch order
    with the contract's text, edited calls run without a notice (see the module docstring)."""

    state_schema = _ApprovalState

    def __init__(self, tools: list[str]) -> None:
        super().__init__(interrupt_on=dict.fromkeys(tools, True), edit_notice=None)

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        update = super().after_model(state, runtime)
        if update is None or "messages" not in update:
            if state.get(_REJECTED_KEY):
                return {**(update or {}), _REJECTED_KEY: {}}
            return update
        kept, rejected = [], {}
        for message in update["messages"]:
            extra = getattr(message, "additional_kwargs", None) or {}
            if (
                isinstance(message, ToolMessage)
                and extra.get("lc_source") == HITL_SOURCE
                and (extra.get("lc_data") or {}).get("decision") == "reject"
            ):
                rejected[message.tool_call_id] = str(message.content)
            else:
                kept.append(message)
        # The rejected calls stay unanswered, so the tool node runs them, in order, through
        # wrap_tool_call below.
        return {**update, "messages": kept, _REJECTED_KEY: rejected}

    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self.after_model(state, runtime)

    def _rejection(self, request: Any) -> tuple[Any, str] | None:
        """The stand-in request and the model's text, for a call the human rejected."""
        call = request.tool_call
        stashed = (request.state or {}).get(_REJECTED_KEY) or {}
        if call.get("id") not in stashed:
            return None
        try:
            given = (get_config().get("configurable") or {}).get(REJECTIONS_KEY) or {}
        except RuntimeError:
            given = {}
        text = str(given.get(call["id"]) or stashed[call["id"]])

        def refuse(**_: Any) -> str:
            raise ToolCallRejected(text)

        stand_in = StructuredTool.from_function(
            func=refuse,
            name=call["name"],
            description="",
            args_schema={"type": "object", "properties": {}},
            infer_schema=False,
        )
        return request.override(tool=stand_in), text

    @staticmethod
    def _answer(request: Any, text: str) -> ToolMessage:
        call = request.tool_call
        return ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        rejection = self._rejection(request)
        if rejection is None:
            return super().wrap_tool_call(request, handler)
        stand_in, text = rejection
        with contextlib.suppress(ToolCallRejected):  # run: recorded as a failed tool step
            handler(stand_in)
        return self._answer(request, text)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        rejection = self._rejection(request)
        if rejection is None:
            return await super().awrap_tool_call(request, handler)
        stand_in, text = rejection
        with contextlib.suppress(ToolCallRejected):
            await handler(stand_in)
        return self._answer(request, text)


# --------------------------------------------------------------------------- decisions


def hitl_decision(tool: str, decision: Decision) -> dict[str, Any]:
    """A nex decision as ``HumanInTheLoopMiddleware`` reads it."""
    if decision.action == "edit":
        return {"type": "edit", "edited_action": {"name": tool, "args": decision.arguments or {}}}
    if decision.action == "reject":
        out: dict[str, Any] = {"type": "reject"}
        if decision.message:
            out["message"] = decision.message
        return out
    return {"type": "approve"}


def nex_decision(value: Any, request: ApprovalRequest) -> Decision | None:
    """A ``HumanInTheLoopMiddleware`` decision as a nex one; ``None`` when it does not map (a
    ``respond``, an edit that switches tools, anything else)."""
    if not isinstance(value, Mapping):
        return None
    kind = value.get("type")
    if kind == "approve":
        return Decision(action="approve")
    if kind == "reject":
        message = value.get("message")
        return Decision(action="reject", message=message if isinstance(message, str) else None)
    if kind == "edit":
        action = value.get("edited_action")
        if not isinstance(action, Mapping) or action.get("name", request.tool) != request.tool:
            return None
        args = action.get("args")
        return Decision(action="edit", arguments=dict(args) if isinstance(args, Mapping) else {})
    return None


# --------------------------------------------------------------------------- requests


def approval_requests(
    value: Any, agent: str, calls: list[tuple[str, str, Any]]
) -> list[ApprovalRequest] | None:
    """The calls an interrupt value asks approval for, or ``None`` if it is no HITL request.

    ``calls`` are the agent's last model answer's tool calls (id, name, arguments) in order: a
    batched ``HITLRequest`` names its calls only by name and arguments, in that order."""
    if not isinstance(value, Mapping):
        return None
    if value.get("type") == "tool_approval" and isinstance(value.get("tool_call_id"), str):
        return [
            ApprovalRequest(
                agent=agent,
                tool=str(value.get("name")),
                tool_call_id=value["tool_call_id"],
                arguments=dict(value.get("args") or {}),
            )
        ]
    actions = value.get("action_requests")
    if not isinstance(actions, list) or "review_configs" not in value:
        return None
    out: list[ApprovalRequest] = []
    remaining = list(calls)
    for action in actions:
        if not isinstance(action, Mapping):
            return None
        name, args = action.get("name"), dict(action.get("args") or {})
        match = next((c for c in remaining if c[1] == name and c[2] == args), None)
        match = match or next((c for c in remaining if c[1] == name), None)
        if match is None:
            return None
        remaining.remove(match)
        out.append(
            ApprovalRequest(agent=agent, tool=str(name), tool_call_id=match[0], arguments=args)
        )
    return out


@dataclass
class Pause:
    """What a paused session waits on: interrupt id → the calls it asks approval for."""

    approvals: dict[str, list[ApprovalRequest]] = field(default_factory=dict)
    checkpointer: Any = None
    """A spec run's checkpointer (its paused state), for :func:`nex_langgraph.aresume`."""
    thread_id: str | None = None

    def requests(self) -> list[ApprovalRequest]:
        return [r for requests in self.approvals.values() for r in requests]

    def command_value(self, decisions: Mapping[str, Decision]) -> dict[str, Any]:
        """The ``Command(resume=...)`` value answering every interrupt with ``decisions``."""
        answers = {
            key: {"decisions": [hitl_decision(r.tool, decisions[r.tool_call_id]) for r in reqs]}
            for key, reqs in self.approvals.items()
        }
        return next(iter(answers.values())) if len(answers) == 1 else answers

    def decisions_of(self, resume: Any) -> dict[str, Decision] | None:
        """The nex decisions a ``Command``'s resume value gives, if every one maps."""
        if not isinstance(resume, Mapping) or not self.approvals:
            return None
        if "decisions" in resume and len(self.approvals) == 1:
            answers = {next(iter(self.approvals)): resume}
        elif set(resume) <= set(self.approvals):
            answers = dict(resume)
        else:
            return None
        out: dict[str, Decision] = {}
        for key, answer in answers.items():
            requests = self.approvals[key]
            given = answer.get("decisions") if isinstance(answer, Mapping) else None
            if given is None and len(requests) == 1:
                given = [answer]  # per call: one decision per interrupt
            if not isinstance(given, list) or len(given) != len(requests):
                return None
            for request, value in zip(requests, given, strict=True):
                decision = nex_decision(value, request)
                if decision is None:
                    return None
                out[request.tool_call_id] = decision
        return out


class _Pauses:
    """Paused sessions by session id, in this process (the most recent ``LIMIT``)."""

    LIMIT = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Pause] = OrderedDict()

    def put(self, session_id: str, pause: Pause) -> None:
        with self._lock:
            self._items[session_id] = pause
            self._items.move_to_end(session_id)
            while len(self._items) > self.LIMIT:
                self._items.popitem(last=False)

    def get(self, session_id: str | None) -> Pause | None:
        with self._lock:
            return self._items.get(session_id) if session_id is not None else None

    def pop(self, session_id: str | None) -> Pause | None:
        with self._lock:
            return self._items.pop(session_id, None) if session_id is not None else None


PAUSES = _Pauses()


def rejection_texts(
    requests: list[ApprovalRequest], decisions: Mapping[str, Decision]
) -> dict[str, str]:
    """Call id → what the model reads for each rejected call."""
    return {
        r.tool_call_id: rejection_message(r.tool, decisions[r.tool_call_id])
        for r in requests
        if decisions[r.tool_call_id].action == "reject"
    }


# --------------------------------------------------------------------------- nested pauses


def nest_requests(trajectory: Trajectory, pending: list[Any]) -> list[Any]:
    """``pending`` with a ``path`` for each request made inside an agent used as a tool, and
    the steps enclosing it (that call's tool step and sub-agent step) closed as the native
    runtime closes them: ``cancelled``, no error, the waiting call ids under
    ``metadata.pending`` (``nex_core.runtime.approval``)."""
    steps = {s.id: s for s in trajectory.steps}
    asked: dict[str, LLMStep] = {}
    for s in trajectory.steps:
        if isinstance(s, LLMStep) and s.response is not None:
            for call in s.response.message.tool_calls or []:
                asked[call.id] = s
    out = []
    for request in pending:
        llm = asked.get(str(request.get("tool_call_id"))) if "tool_call_id" in request else None
        path: list[str] = []
        parent = steps.get(llm.parent_id) if llm is not None and llm.parent_id else None
        while parent is not None:
            if isinstance(parent, SubAgentStep) and parent.mode == "tool":
                path.insert(0, str(parent.agent))
                close_paused(parent, [request])
                enclosing = steps.get(parent.parent_id) if parent.parent_id else None
                if isinstance(enclosing, ToolStep):
                    close_paused(enclosing, [request])
            parent = steps.get(parent.parent_id) if parent.parent_id else None
        out.append({**request, "path": [*path, request["agent"]]} if path else request)
    return out
