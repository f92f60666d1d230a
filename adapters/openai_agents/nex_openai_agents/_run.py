"""Driving an Agents SDK agent through a task's turns while recording it."""

from __future__ import annotations

from typing import Any, Literal

from agents import Agent, RunConfig, Runner
from agents.exceptions import MaxTurnsExceeded
from agents.result import RunResult, RunResultStreaming

from nex_core.protocol.approval import APPROVAL_STOP_REASON
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import Outcome, OutcomeStatus, TaskInfo, ToolStep, Trajectory
from nex_openai_agents._nested import Reopened, shape_pause
from nex_openai_agents._recording import recording
from nex_openai_agents.approval import METADATA_KEY, call_id_of, pending_requests
from nex_openai_agents.build import output_text
from nex_openai_agents.structured import structured_of

Mode = Literal["run", "run_streamed"]

DEFAULT_MAX_TURNS = 10


async def drive(
    agent: Agent,
    task: TaskInfo,
    recorder: Recorder,
    *,
    mode: Mode = "run",
    max_turns: int = DEFAULT_MAX_TURNS,
    session: Any = None,
    run_config: RunConfig | None = None,
    context: Any = None,
    resume: Any = None,
    resume_turn: int = 0,
    resumed_calls: list[tuple[str, str, str]] | None = None,
    reopened: dict[str, Reopened] | None = None,
) -> Trajectory:
    """Run ``task``'s turns on ``agent`` (a later turn continues with the agent that answered
    the one before, on the whole conversation, or on ``session`` when one is given) and return
    the trajectory; a failing run still returns it. A run whose result has interruptions (tool
    calls waiting for approval) ends ``interrupted`` with its ``RunState`` in the trajectory's
    metadata; ``resume`` (a ``RunState`` with the decisions applied) continues one, at turn
    ``resume_turn``, its pending batch being ``resumed_calls`` (call id, name, arguments), the
    calls it carries on inside agents called as tools ``reopened`` (by call id)."""
    config = run_config or RunConfig()
    history: list[Any] = []
    active = agent
    output: str | None = None
    structured: Any = None
    with recording(recorder) as run:
        if resumed_calls:
            run.resumed_calls = list(resumed_calls)
        if reopened:
            run.reopened = dict(reopened)
        try:
            for index, turn in enumerate(task.turns):
                if index < resume_turn:
                    continue
                if index == resume_turn and resume is not None:
                    given: Any = resume
                elif session is not None or not history:
                    # A first turn is the text itself, as apps call ``Runner.run(agent,
                    # "...")``: the runner, guardrails and ``RunResult.input`` see what they
                    # see in the app's own run (a list would also be copied item by item
                    # twice a turn by the SDK).
                    given = turn
                else:
                    given = [*history, {"role": "user", "content": turn}]
                result = await _run_once(active, given, mode, max_turns, session, config, context)
                if result.interruptions:
                    run.close_handoffs(None)
                    return _paused(recorder, result, index)
                output = output_text(result.final_output)
                structured = structured_of(result.final_output)
                run.close_handoffs(output)
                if index + 1 < len(task.turns):  # only a later turn reads it back
                    history = result.to_input_list()
                active = result.last_agent
        except MaxTurnsExceeded:
            run.close_handoffs(None)
            return recorder.finish(
                Outcome(status=OutcomeStatus.MAX_STEPS, final_output=None, stop_reason="max_steps")
            )
        except BaseException as exc:
            run.close_handoffs(None, exc)
            if isinstance(exc, Exception):
                return recorder.fail(exc)
            recorder.fail(exc)
            raise
    return recorder.finish(
        Outcome(
            status=OutcomeStatus.COMPLETED,
            final_output=output,
            stop_reason="final_output",
            structured_output=structured,
        )
    )


def _paused(recorder: Recorder, result: RunResult | RunResultStreaming, turn: int) -> Trajectory:
    traj = recorder.trajectory
    # The SDK opens a function span for a call before it finds that the call waits for
    # approval; such a call did not run, so it leaves no tool step.
    waiting = {call_id_of(item) for item in result.interruptions}
    traj.steps = [s for s in traj.steps if not (isinstance(s, ToolStep) and s.call_id in waiting)]
    traj.session_id = traj.session_id or traj.id  # the resume joins this conversation
    traj.metadata[METADATA_KEY] = {"run_state": result.to_state().to_json(), "turn": turn}
    pending = pending_requests(result.interruptions)
    shape_pause(traj, pending)  # requests from inside agents called as tools
    return recorder.finish(
        Outcome(status=OutcomeStatus.INTERRUPTED, stop_reason=APPROVAL_STOP_REASON, pending=pending)
    )


async def _run_once(
    agent: Agent,
    given: Any,
    mode: Mode,
    max_turns: int,
    session: Any,
    config: RunConfig,
    context: Any,
) -> RunResult | RunResultStreaming:
    if mode == "run":
        return await Runner.run(
            agent, given, max_turns=max_turns, session=session, run_config=config, context=context
        )
    streamed = Runner.run_streamed(
        agent, given, max_turns=max_turns, session=session, run_config=config, context=context
    )
    async for _ in streamed.stream_events():
        pass
    return streamed
