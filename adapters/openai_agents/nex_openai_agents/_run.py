"""Driving an Agents SDK agent through a task's turns while recording it."""

from __future__ import annotations

from typing import Any, Literal

from agents import Agent, RunConfig, Runner
from agents.exceptions import MaxTurnsExceeded
from agents.result import RunResult, RunResultStreaming

from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import Outcome, OutcomeStatus, TaskInfo, Trajectory
from nex_openai_agents._recording import recording
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
) -> Trajectory:
    """Run ``task``'s turns on ``agent`` (a later turn continues with the agent that answered
    the one before, on the whole conversation, or on ``session`` when one is given) and return
    the trajectory; a failing run still returns it."""
    config = run_config or RunConfig()
    history: list[Any] = []
    active = agent
    output: str | None = None
    structured: Any = None
    with recording(recorder) as run:
        try:
            for turn in task.turns:
                if session is not None:
                    given: Any = turn
                else:
                    given = [*history, {"role": "user", "content": turn}]
                result = await _run_once(active, given, mode, max_turns, session, config, context)
                output = output_text(result.final_output)
                structured = structured_of(result.final_output)
                run.close_handoffs(output)
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
