"""Human approval of tool calls: the shared contract every backend implements.

A tool whose spec says ``approval: required`` is never run on the model's word alone. When the
model calls it, the run pauses *before the batch of tool calls that turn holds is run*: the
trajectory ends with outcome ``interrupted``, ``stop_reason`` :data:`APPROVAL_STOP_REASON` and
one :class:`ApprovalRequest` (as JSON) per call that needs approval in ``Outcome.pending``. No
tool step of that batch is recorded in the paused run.

A later run of the same session resumes it with one :class:`Decision` per pending call (keyed by
``tool_call_id``; a single decision applies to all). The resumed trajectory has the paused one's
``session_id`` and begins with an ``InputStep`` (``mode: resume``, ``value`` from
:func:`decisions_value`); then the whole batch runs in the model's order: approved calls as
asked, edited calls with the human's arguments, rejected calls not at all — a rejected call is
recorded as a tool step whose error is ``ToolCallRejected`` with :func:`rejection_message`, and
the model is shown that same text as the call's result, so every framework feeds back the same
words. The run then goes on as if it had never paused.

A call made inside an agent used as a tool, or inside a team member's turn, pauses the whole
run the same way; its request's ``path`` names the agents (and team) enclosing it, outermost
first, ending with the agent that asked. The enclosing tool call and sub-agent step stay open in
the paused run and are carried on, under the same call id, by the resumed run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

if TYPE_CHECKING:
    from nex_core.trajectory.schema import Trajectory

APPROVAL_STOP_REASON = "approval_required"
"""``Outcome.stop_reason`` of a run paused for approval."""

REJECTED_ERROR_TYPE = "ToolCallRejected"
"""``ErrorInfo.type`` of a tool step the human rejected."""

ApprovalPolicy = Literal["never", "required"]


class ApprovalRequest(BaseModel):
    """One call a paused run waits on (an entry of ``Outcome.pending``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["tool_approval"] = "tool_approval"
    agent: str
    """The agent whose model made the call."""
    tool: str
    tool_call_id: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    path: list[str] | None = None
    """For a call made inside an agent-as-tool or a team member: the enclosing agents (a team by
    its name), outermost first, ending with :attr:`agent`; ``None`` at the top level."""

    @model_serializer(mode="wrap")
    def _drop_empty_path(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A top-level request serialises as it did before ``path`` existed.
        data: dict[str, Any] = handler(self)
        if data.get("path") is None:
            data.pop("path", None)
        return data


class Decision(BaseModel):
    """A human's answer to an :class:`ApprovalRequest`."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "reject", "edit"]
    message: str | None = None
    """``reject`` only: why, shown to the model (a default otherwise)."""
    arguments: dict[str, Any] | None = None
    """``edit`` only: the arguments to run the tool with instead."""


def paused_for_approval(trajectory: Trajectory) -> bool:
    """Whether ``trajectory`` ended ``interrupted`` waiting for tool approval (what a resume
    continues), as opposed to finished, failed or paused for another kind of input."""
    outcome = trajectory.outcome
    return (
        outcome is not None
        and outcome.status == "interrupted"
        and outcome.stop_reason == APPROVAL_STOP_REASON
    )


def rejection_message(tool: str, decision: Decision) -> str:
    """What a rejected call's tool step records as its error message and the model reads."""
    if decision.message:
        return decision.message
    return f"The user rejected the call to '{tool}'."


def parse_decision(text: str) -> Decision:
    """A decision written on a command line: ``approve``, ``reject``, ``reject:WHY`` or
    ``edit:JSON-OBJECT``. Raises ``ValueError`` saying what is wrong."""
    action, sep, rest = text.partition(":")
    action = action.strip().lower()
    if action == "approve" and not sep:
        return Decision(action="approve")
    if action == "reject":
        return Decision(action="reject", message=rest.strip() or None)
    if action == "edit":
        try:
            arguments = json.loads(rest)
        except json.JSONDecodeError as exc:
            where = f"{exc.msg} at column {exc.colno}"
            raise ValueError(f"edit: the arguments are not JSON ({where})") from None
        if not isinstance(arguments, dict):
            raise ValueError("edit: the arguments must be a JSON object")
        return Decision(action="edit", arguments=arguments)
    raise ValueError(f"unknown decision {text!r}: use approve, reject[:WHY] or edit:JSON")


def decisions_for(
    pending: list[Any] | None, decision: Decision | Mapping[str, Decision]
) -> dict[str, Decision]:
    """One decision per pending call id; raises ``ValueError`` naming a call left undecided or a
    decision for a call that is not pending."""
    requests = [ApprovalRequest.model_validate(p) for p in pending or []]
    ids = [r.tool_call_id for r in requests]
    if isinstance(decision, Decision):
        return dict.fromkeys(ids, decision)
    unknown = sorted(set(decision) - set(ids))
    if unknown:
        known = ", ".join(ids) or "none"
        raise ValueError(f"no pending call with id {', '.join(unknown)} (pending: {known})")
    missing = [i for i in ids if i not in decision]
    if missing:
        raise ValueError(f"no decision for pending call {', '.join(missing)}")
    return {i: decision[i] for i in ids}


def decisions_value(decisions: Mapping[str, Decision]) -> dict[str, Any]:
    """The resume ``InputStep.value``: ``{tool_call_id: decision as JSON}``."""
    return {cid: d.model_dump(exclude_none=True) for cid, d in decisions.items()}
