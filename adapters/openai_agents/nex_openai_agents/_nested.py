"""Pauses inside agents called as tools: the paused run's shape, and what its resume reads back.

The SDK's own agent tool keeps a paused child run by its tool call and surfaces the child's
approval requests on the outer run (``build.NestedRunner``); the outer ``RunState`` serializes
the child's. What is nex's to do is the record (the native runtime's, decided in
docs/decisions.md, "Approval inside sub-agents and team members"):

- the paused run closes the enclosing tool step and the ``tool`` sub-agent step under it
  ``cancelled`` (no result, no error) with ``metadata.pending`` (the call ids waiting below),
  and each request names its enclosing agents in ``path``;
- the resumed run records the enclosing call again under the same call id, its sub-agent step
  with the input the paused one had, and a rejected call's tool step under that sub-agent step
  (the SDK runs no span for a rejected call).

Everything is read from the paused trajectory's steps, so a second pause inside a carried call
(whose caller's model call is in an earlier run) is read the same way: the open tool steps
themselves give the calls the resumed run's tool spans claim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nex_core.runtime.approval import close_paused
from nex_core.trajectory.schema import (
    LLMStep,
    Message,
    SubAgentStep,
    ToolStep,
    Trajectory,
)

Call = tuple[str, str, str]
"""(call id, tool name, arguments as JSON text)."""


@dataclass
class Reopened:
    """A call the resumed run carries on: its sub-agent step's child and input, and the
    rejected calls to record under that step (asking agent, call id, tool name, arguments,
    error message)."""

    child: str
    input: list[Message]
    rejected: list[tuple[str | None, str, str, dict[str, Any], str]] = field(default_factory=list)


def _asker(steps: list[Any], call_id: str) -> LLMStep | None:
    """The model call whose answer made ``call_id`` (the latest, if ids repeat)."""
    for step in reversed(steps):
        answer = step.response if isinstance(step, LLMStep) else None
        calls = answer.message.tool_calls if answer is not None else None
        if calls and any(c.id == call_id for c in calls):
            return step
    return None


def _ancestors(steps: list[Any], step: Any) -> list[Any]:
    """The steps enclosing ``step``, innermost first."""
    by_id = {s.id: s for s in steps}
    out: list[Any] = []
    parent = by_id.get(step.parent_id) if step.parent_id else None
    while parent is not None:
        out.append(parent)
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    return out


def shape_pause(traj: Trajectory, pending: list[dict[str, Any]]) -> None:
    """Close the steps enclosing each pending call as the native runtime does, and give the
    nested requests their ``path`` (in place)."""
    steps = traj.steps
    for request in pending:
        call_id = str(request.get("tool_call_id") or "")
        asker = _asker(steps, call_id)
        if asker is None:
            continue
        enclosing = _ancestors(steps, asker)
        chain = [s for s in enclosing if isinstance(s, SubAgentStep) and s.mode == "tool"]
        if not chain:
            continue  # a top-level (or handed-off-to) request keeps its shape
        for step in enclosing:
            if isinstance(step, SubAgentStep) and step.mode == "tool":
                step.output = None
            elif isinstance(step, ToolStep):
                step.result = None
            else:
                continue
            close_paused(step, [request])
        # The agent that made each enclosing call (a handoff inside a sub-agent is looked
        # through: the agent handed to is the one that called on), then the asker.
        path = [*(s.agent for s in reversed(chain)), asker.agent]
        request["path"] = [p for p in path if p is not None]


def resumed_calls(paused: Trajectory, pending_ids: list[str]) -> list[Call]:
    """The calls the resumed run's tool spans claim (they follow no model call of that run):
    the open enclosing calls, outermost first, then each asker's whole batch."""
    steps = paused.steps
    out: list[Call] = []
    seen: set[str] = set()
    for step in steps:
        if not isinstance(step, ToolStep) or not step.metadata.get("pending"):
            continue
        if step.call_id and step.call_id not in seen:
            seen.add(step.call_id)
            out.append((step.call_id, step.name, json.dumps(step.arguments or {})))
    for call_id in pending_ids:
        asker = _asker(steps, call_id)
        if asker is None or asker.response is None:
            continue
        for c in asker.response.message.tool_calls or []:
            if c.id not in seen:
                seen.add(c.id)
                out.append((c.id, c.function.name, c.function.arguments))
    return out


def asker_of(paused: Trajectory, call_id: str) -> str | None:
    step = _asker(paused.steps, call_id)
    return step.agent if step is not None else paused.root_agent


def reopened(paused: Trajectory) -> dict[str, Reopened]:
    """The paused run's open ``tool`` sub-agent steps by their call id."""
    out: dict[str, Reopened] = {}
    for step in paused.steps:
        if (
            isinstance(step, SubAgentStep)
            and step.mode == "tool"
            and step.call_id
            and step.metadata.get("pending")
        ):
            out[step.call_id] = Reopened(child=step.child, input=list(step.input))
    return out


def enclosing_call(paused: Trajectory, call_id: str) -> str | None:
    """The call id of the ``tool`` sub-agent step the asker of ``call_id`` ran in (None at the
    top level)."""
    asker = _asker(paused.steps, call_id)
    if asker is None:
        return None
    for step in _ancestors(paused.steps, asker):
        if isinstance(step, SubAgentStep) and step.mode == "tool":
            return step.call_id
    return None
