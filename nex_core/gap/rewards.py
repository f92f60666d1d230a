"""Rewards: what checks say about a run and its steps, written into the trajectory (schema v2).

A check's :class:`~nex_core.gap.checks.Verdict` may carry run rewards (``task``, ``verifier``,
``judge`` ...) and step rewards (step id -> {name: value}); :func:`apply_rewards` adds them to
``outcome.rewards`` and to the steps' ``rewards``, for accepted and rejected episodes alike: a
failed rollout with its reward is what RL trains on. The ``format`` check here gives the
format-validity penalties: every tool call a model wrote that cannot run as written.
"""

from __future__ import annotations

import json

from nex_core.gap.checks import Check, Verdict
from nex_core.gap.tasks import Task
from nex_core.trajectory.schema import LLMStep, ToolCall, Trajectory


def apply_rewards(trajectory: Trajectory, verdict: Verdict) -> None:
    """Add ``verdict``'s rewards to the run's outcome and to its steps (later checks win)."""
    if verdict.rewards and trajectory.outcome is not None:
        trajectory.outcome.rewards.update(verdict.rewards)
    if not verdict.step_rewards:
        return
    for step in trajectory.steps:
        given = verdict.step_rewards.get(step.id)
        if given:
            step.rewards = {**(step.rewards or {}), **given}


def _malformed(call: ToolCall, offered: set[str]) -> str | None:
    """Why a tool call cannot run as the model wrote it, or None."""
    if offered and call.function.name not in offered:
        return "unknown_tool"
    text = call.function.arguments
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return "malformed_arguments"
    return None if isinstance(value, dict) else "arguments_not_an_object"


class FormatCheck(Check):
    """Format-validity penalties: ``-penalty`` for every tool call a model wrote that names a
    tool it was not offered or whose arguments are not a JSON object, as the ``format`` reward
    of that model call's step and summed as the run's ``format`` reward (0.0 when every call
    was well formed). With ``reject``, such a run is also rejected (``malformed_tool_call``)."""

    name = "format"
    worker_safe = True

    def __init__(self, penalty: float = 1.0, reject: bool = False) -> None:
        if penalty < 0:
            raise ValueError(f"penalty must be 0 or more (it is subtracted), not {penalty}")
        self.penalty = penalty
        self.reject = reject

    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        steps: dict[str, dict[str, float]] = {}
        total = 0.0
        bad = 0
        first: str | None = None
        for step in trajectory.steps:
            if not isinstance(step, LLMStep) or step.response is None:
                continue
            offered = {t.name for t in step.request.tools}
            reasons = [
                r for c in step.response.message.tool_calls or [] if (r := _malformed(c, offered))
            ]
            if not reasons:
                continue
            bad += len(reasons)
            first = first or f"step {step.id}: {reasons[0]}"
            value = -self.penalty * len(reasons)
            steps[step.id] = {"format": value}
            total += value
        rewards = {"format": total}
        if bad and self.reject:
            detail = f"{bad} malformed tool call(s), e.g. {first}"
            return Verdict.reject(
                "malformed_tool_call", detail, rewards=rewards, step_rewards=steps
            )
        return Verdict.accept(rewards=rewards, step_rewards=steps)
