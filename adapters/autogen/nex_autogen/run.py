"""Running an AutoGen agent or team turn by turn while recording it.

Each turn is one ``run(task=...)`` call on the same object (or, with ``mode="run_stream"``,
one ``run_stream(task=...)`` consumed to its ``TaskResult``), so the turns form one
conversation (AutoGen agents and teams keep their state between runs). A turn is user text or
what AutoGen's ``task`` takes: a message (a ``HandoffMessage`` answering a handoff to the user
resumes a Swarm) or a list of them. State the object already had before the recording started
is not reset: it shows in the recorded model requests as the history the model really saw.

A run that ends handing off to someone outside the team (``HandoffTermination(target="user")``)
is paused, not finished: outcome ``interrupted``, the handoff as its pending request. So is a
run of an agent built from a spec that stopped for tool approval (``approval_required``, the
calls as pending requests; :mod:`nex_autogen.approval`): no later turn runs then, the resumed
run goes on with them.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import (
    BaseChatMessage,
    HandoffMessage,
    TextMessage,
    ToolCallSummaryMessage,
)
from autogen_agentchat.teams import BaseGroupChat, Swarm

from nex_autogen.approval import ApprovalPauseMessage
from nex_autogen.messages import USER_SOURCE, answer_of
from nex_autogen.record import Instrumentation
from nex_autogen.tools import NEW_RUNNER_HOOK, is_protocol_agent
from nex_core.adapter import as_task
from nex_core.protocol.approval import APPROVAL_STOP_REASON
from nex_core.runtime.approval import mark_paused, nest
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import Outcome, OutcomeStatus, TaskInfo, Trajectory

Mode = Literal["run", "run_stream"]
"""How each turn is driven: ``run`` or ``run_stream``; both are recorded the same way."""


async def _turn(obj: Any, turn: Any, mode: Mode) -> TaskResult:
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
    if isinstance(last, ApprovalPauseMessage):
        pending = list(last.pending)
        if team and not isinstance(obj, Swarm):  # a member's turn: the team is on the path
            pending = nest(pending, obj.name)
        return Outcome(
            status=OutcomeStatus.INTERRUPTED, stop_reason=APPROVAL_STOP_REASON, pending=pending
        )
    speaker = _speakers(obj).get(last.source)
    if isinstance(last, ToolCallSummaryMessage) and is_protocol_agent(speaker):
        return Outcome(status=OutcomeStatus.MAX_STEPS, stop_reason="max_steps")
    if isinstance(last, HandoffMessage) and last.target not in _speakers(obj):
        return Outcome(
            status=OutcomeStatus.INTERRUPTED,
            stop_reason=f"handoff:{last.target}",
            pending=[{"handoff": message_value(last)}],
        )
    if isinstance(last, HandoffMessage):
        reason = f"handoff:{last.target}"
    else:
        reason = (result.stop_reason or "final_answer") if team else "final_answer"
    text, structured = answer_of(last)
    return Outcome(
        status=OutcomeStatus.COMPLETED,
        final_output=text,
        structured_output=structured,
        stop_reason=reason,
    )


def turn_output(outcome: Outcome) -> str | None:
    """What the run's last speaker said: its answer, or what it told the user it handed to."""
    if outcome.final_output is not None or not outcome.pending:
        return outcome.final_output
    handoff = outcome.pending[-1].get("handoff") if isinstance(outcome.pending[-1], dict) else None
    return str(handoff["content"]) if isinstance(handoff, dict) else None


def message_value(message: BaseChatMessage) -> dict[str, Any]:
    """A chat message as a JSON value (its type, source, target and text)."""
    value: dict[str, Any] = {"type": type(message).__name__, "source": message.source}
    if isinstance(message, HandoffMessage):
        value["target"] = message.target
    value["content"] = message.to_model_text()
    return value


def record_task_input(recorder: Recorder, obj: Any, task: Any) -> None:
    """An input step for a turn that is not plain user text: a ``HandoffMessage`` resumes a run
    that handed off to the user; other messages are the turn's input as given."""
    messages = [task] if isinstance(task, BaseChatMessage) else task
    if not isinstance(messages, Sequence) or isinstance(messages, str):
        return
    for message in messages:
        if not isinstance(message, BaseChatMessage):
            continue
        resume = isinstance(message, HandoffMessage)
        if not resume and isinstance(message, TextMessage) and message.source == USER_SOURCE:
            continue  # a user turn: the model requests hold it
        recorder.input(
            agent=obj.name,
            value=message_value(message),
            mode="resume" if resume else "input",
            parent_id=None,
        )


def task_text(task: Any) -> str | None:
    """The user's text in a turn, when it has some."""
    if isinstance(task, str):
        return task
    messages = [task] if isinstance(task, BaseChatMessage) else task
    if not isinstance(messages, Sequence):
        return None
    texts = [m.to_model_text() for m in messages if isinstance(m, BaseChatMessage)]
    return "\n".join(texts) if texts else None


def task_and_turns(task: Any) -> tuple[TaskInfo, list[Any]]:
    """A task as its text turns and every turn's input (a list or tuple is a list of turns)."""
    if isinstance(task, TaskInfo | str):
        info = as_task(task)
        return info, list(info.turns)
    turns = list(task) if isinstance(task, list | tuple) else [task]
    texts = [text for text in map(task_text, turns) if text is not None]
    return TaskInfo(turns=texts), turns


_SESSIONS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def session_of(obj: Any) -> str:
    """The conversation an agent or team is in: AutoGen objects keep their state between runs,
    so every run of one object (until it is reset) continues one session."""
    _watch_resets(type(obj))
    try:
        return _SESSIONS.setdefault(obj, f"autogen-{uuid.uuid4().hex}")
    except TypeError:  # not weakly referenceable
        return f"autogen-{id(obj):x}"


def new_session(obj: Any) -> None:
    """``reset()`` starts a new conversation."""
    _SESSIONS.pop(obj, None)


_RESETS = ("reset", "on_reset")
"""A team's ``reset()`` and an agent's ``on_reset(token)``: what clears AutoGen's state."""


def _watch_resets(cls: type) -> None:
    """Make the reset methods of ``cls`` (where its MRO defines them) start a new session.

    The app calls ``reset`` outside any recorded run, so no run-time wrapper sees it: the
    method itself is wrapped, once per defining class, the first time nex records an object of
    that class. The wrapper only forgets the object's session after the original returned; what
    the app sees is unchanged."""
    if cls in _WATCHED:  # every run records an object: the MRO walk once per class
        return
    for name in _RESETS:
        owner = next((c for c in cls.__mro__ if name in c.__dict__), None)
        if owner is None:
            continue
        original = owner.__dict__[name]
        if getattr(original, "__nex_new_session__", False) or getattr(
            original, "__isabstractmethod__", False
        ):
            continue
        with _watch_lock:
            if owner.__dict__[name] is original:
                setattr(owner, name, _starting_new_session(original))
    _WATCHED.add(cls)


_WATCHED: weakref.WeakSet[type] = weakref.WeakSet()
"""The classes whose reset methods :func:`_watch_resets` has seen to."""


def _starting_new_session(original: Any) -> Any:
    @functools.wraps(original)
    async def reset(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, *args, **kwargs)
        new_session(self)
        return result

    reset.__nex_new_session__ = True  # type: ignore[attr-defined]
    return reset


_watch_lock = threading.Lock()


Before = Callable[[Instrumentation], Awaitable[Outcome | None]]
"""Work a resumed run does inside the recording, before its first turn (the waiting batch),
given the run's recording wrappers; an outcome it returns ends the run's current turn there
(paused again: the run; completed: the task's later turns still run)."""


async def drive(
    obj: Any,
    task: TaskInfo,
    recorder: Recorder,
    mode: Mode = "run",
    turns: Sequence[Any] | None = None,
    *,
    before: Before | None = None,
    first_turn: int = 0,
) -> Trajectory:
    """Run every turn of ``task`` (or ``turns``, inputs as AutoGen takes them; ``None`` goes on
    from the context without new input) on ``obj`` with recording wrappers in place, then take
    them out. ``first_turn`` is the task-turn number of the first turn (a resumed run's)."""
    instrumentation = Instrumentation(recorder)
    instrumentation.instrument(obj)
    outcome = Outcome(status=OutcomeStatus.COMPLETED, stop_reason="no_turns")
    hook = NEW_RUNNER_HOOK.set(instrumentation.instrument)
    try:
        with recorder.active():
            stopped = await before(instrumentation) if before is not None else None
            todo = task.turns if turns is None else turns
            if stopped is not None and stopped.status is OutcomeStatus.INTERRUPTED:
                outcome, todo = stopped, []
                mark_paused(recorder, outcome, first_turn)
            elif stopped is not None:  # the paused turn's run ended: no going on, later turns
                outcome, todo, first_turn = stopped, list(todo)[1:], first_turn + 1
            for number, turn in enumerate(todo, first_turn):
                record_task_input(recorder, obj, turn)
                result = await _turn(obj, turn, mode)
                outcome = outcome_of(result, obj)
                instrumentation.end_turn(turn_output(outcome))
                if outcome.stop_reason == APPROVAL_STOP_REASON:
                    mark_paused(recorder, outcome, number)  # the resume needs turn and session
                    break
                if outcome.status not in (OutcomeStatus.COMPLETED, OutcomeStatus.INTERRUPTED):
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
