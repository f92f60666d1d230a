"""Cutting trajectories into training samples.

A sample is the conversation one agent invocation had with its model: the request of its last
model call (system prompt, history, tool results, exactly as sent) plus that call's response,
and the tools it was offered. ``per="trajectory"`` gives the main line of the run (the root agent,
and agents that took over by handoff or team turn); ``per="invocation"`` also gives every
sub-agent invocation on its own: the child's own messages from its own model calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from nex_core.trajectory.schema import (
    LLMStep,
    Message,
    Step,
    SubAgentStep,
    ToolSchema,
    Trajectory,
)


@dataclass(frozen=True)
class Sample:
    messages: list[Message]
    tools: list[ToolSchema]
    agent: str | None
    invocation: str
    """``root`` or the id of the sub-agent step this invocation ran under."""
    params: dict[str, Any] = field(default_factory=dict)
    """Request parameters of the model call (``parallel_tool_calls``, ``tool_choice`` ...)."""


def owner_of(by_id: dict[str, Step], step_id: str | None, stop_at_tool_only: bool) -> str:
    """The invocation a step belongs to: its nearest sub-agent ancestor (or ``root``)."""
    current = by_id.get(step_id) if step_id else None
    while current is not None:
        if isinstance(current, SubAgentStep) and (not stop_at_tool_only or current.mode == "tool"):
            return current.id
        current = by_id.get(current.parent_id) if current.parent_id else None
    return "root"


def samples_of(
    trajectory: Trajectory, per: Literal["trajectory", "invocation"] = "trajectory"
) -> Iterator[Sample]:
    """One sample per trajectory, or one per agent invocation, in order of first model call."""
    last: dict[str, LLMStep] = {}
    order: list[str] = []
    by_id = {s.id: s for s in trajectory.steps}
    for step in trajectory.steps:
        if not isinstance(step, LLMStep) or step.response is None:
            continue
        owner = owner_of(by_id, step.parent_id, stop_at_tool_only=(per == "trajectory"))
        if per == "trajectory" and owner != "root":
            continue
        if owner not in last:
            order.append(owner)
        last[owner] = step
    for owner in order:
        step = last[owner]
        assert step.response is not None
        yield Sample(
            messages=[*step.request.messages, step.response.message],
            tools=list(step.request.tools),
            agent=step.agent,
            invocation=owner,
            params=dict(step.request.params),
        )
