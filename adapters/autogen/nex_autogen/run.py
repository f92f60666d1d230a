"""Running an AutoGen agent or team turn by turn while recording it.

Each user turn is one ``run(task=...)`` call on the same object (or, with ``mode="run_stream"``,
one ``run_stream(task=...)`` consumed to its ``TaskResult``), so the turns form one
conversation (AutoGen agents and teams keep their state between runs). State the object already
had before the recording started is not reset: it shows in the recorded model requests as the
history the model really saw.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import BaseChatMessage, HandoffMessage, ToolCallSummaryMessage
from autogen_agentchat.teams import BaseGroupChat

from nex_autogen.messages import USER_SOURCE
from nex_autogen.record import Instrumentation
from nex_autogen.tools import NEW_RUNNER_HOOK, is_protocol_agent
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import Outcome, OutcomeStatus, TaskInfo, Trajectory

Mode = Literal["run", "run_stream"]
"""How each turn is driven: ``run`` or ``run_stream``; both are recorded the same way."""


async def _turn(obj: Any, turn: str, mode: Mode) -> TaskResult:
    if mode == "run":
        result: TaskResult = await obj.run(task=turn)
        return result
    final: TaskResult | None = None
    async for item in obj.run_stream(task=turn):
        if isinstance(item, TaskResult):
            final = item
    if final is None:
        raise RuntimeError(f"{type(obj).__name__}.run_stream ended without a TaskResult")
    return final


def _speakers(obj: Any) -> dict[str, Any]:
    if isinstance(obj, BaseGroupChat):
        out: dict[str, Any] = {}
        for p in obj._participants:
            out.update(_speakers(p))
        return out
    return {obj.name: obj}


def outcome_of(result: TaskResult, obj: Any) -> Outcome:
    """The run's outcome from its last answer. A protocol agent that ends on a tool summary ran
    out of steps (``max_tool_iterations`` is its ``max_steps``)."""
    chats = [
        m for m in result.messages if isinstance(m, BaseChatMessage) and m.source != USER_SOURCE
    ]
    team = isinstance(obj, BaseGroupChat)
    if not chats:
        return Outcome(
            status=OutcomeStatus.COMPLETED, stop_reason=result.stop_reason or "no_answer"
        )
    last = chats[-1]
    speaker = _speakers(obj).get(last.source)
    if isinstance(last, ToolCallSummaryMessage) and is_protocol_agent(speaker):
        return Outcome(status=OutcomeStatus.MAX_STEPS, stop_reason="max_steps")
    if isinstance(last, HandoffMessage):
        reason = f"handoff:{last.target}"
    else:
        reason = (result.stop_reason or "final_answer") if team else "final_answer"
    return Outcome(
        status=OutcomeStatus.COMPLETED, final_output=last.to_model_text(), stop_reason=reason
    )


async def drive(obj: Any, task: TaskInfo, recorder: Recorder, mode: Mode = "run") -> Trajectory:
    """Run every turn of ``task`` on ``obj`` with recording wrappers in place, then take
    them out."""
    instrumentation = Instrumentation(recorder)
    instrumentation.instrument(obj)
    outcome = Outcome(status=OutcomeStatus.COMPLETED, stop_reason="no_turns")
    hook = NEW_RUNNER_HOOK.set(instrumentation.instrument)
    try:
        with recorder.active():
            for turn in task.turns:
                result = await _turn(obj, turn, mode)
                outcome = outcome_of(result, obj)
                if outcome.status is not OutcomeStatus.COMPLETED:
                    break
    except asyncio.CancelledError as exc:
        recorder.fail(exc)
        raise
    except Exception as exc:
        return recorder.fail(exc)
    finally:
        NEW_RUNNER_HOOK.reset(hook)
        instrumentation.restore()
    return recorder.finish(outcome)
