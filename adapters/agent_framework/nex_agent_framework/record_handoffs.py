"""Recording handoff workflows (``HandoffBuilder``) nested the way the native runtime nests
handoffs.

Each participant of a handoff workflow gets a :class:`HandoffRecorder` (an agent middleware).
The start agent's run is recorded at the top of the run (its calls, its ``handoff_to_<agent>``
tool call); a run that follows a handoff is a ``handoff`` sub-agent step under the handing
agent's steps, carrying the call id of the handoff call and what the framework passed the
target. A handoff step stays open until the chain ends — an agent answers without handing off —
and then every open step ends with that answer as its output, as natively (``converse``). The
framework's own clone of each agent carries ``_AutoHandoffMiddleware``, whose tool-name →
target map says where each handoff call goes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agent_framework import AgentContext, AgentMiddleware

from nex_agent_framework.messages import ConversionCache, to_nex_messages
from nex_core.trajectory.recorder import Recorder, current_parent_id
from nex_core.trajectory.schema import SubAgentStep


@dataclass
class HandoffState:
    """Where each agent's steps go, the handoff each target is waiting for, the open steps."""

    recorder: Recorder
    cache: ConversionCache
    container: dict[str, str | None] = field(default_factory=dict)
    pending: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """Target agent → (the agent that handed off, the handoff call's id)."""
    open_steps: list[SubAgentStep] = field(default_factory=list)

    def end_chain(self, output: str | None) -> None:
        for step in reversed(self.open_steps):
            self.recorder.end_subagent(step, output)
        self.open_steps.clear()
        self.pending.clear()

    def close_open(self, error: BaseException) -> None:
        for step in reversed(self.open_steps):
            self.recorder.end_subagent(step, None, error=error)
        self.open_steps.clear()


def handoff_targets(agent: Any) -> dict[str, str]:
    """Tool name → target agent of the handoff tools Agent Framework gave ``agent``."""
    for middleware in getattr(agent, "middleware", None) or ():
        functions = getattr(middleware, "_handoff_functions", None)
        if type(middleware).__name__ == "_AutoHandoffMiddleware" and isinstance(functions, dict):
            return {str(k): str(v) for k, v in functions.items()}
    return {}


class HandoffRecorder(AgentMiddleware):
    """One participant's runs in a handoff workflow (see the module docstring)."""

    def __init__(self, agent: Any, name: str, state: HandoffState) -> None:
        self.name = name
        self.state = state
        self.targets = handoff_targets(agent)

    async def process(
        self, context: AgentContext, call_next: Callable[[], Awaitable[None]]
    ) -> None:
        from agent_framework import AgentResponse

        from nex_agent_framework.run import final_text

        state, rec = self.state, self.state.recorder
        pending = state.pending.pop(self.name, None)
        if pending is None:
            state.container[self.name] = current_parent_id()
            await call_next()
        else:
            source, call_id = pending
            step = rec.begin_subagent(
                agent=source,
                child=self.name,
                mode="handoff",
                call_id=call_id,
                input=to_nex_messages(_works_from(context), cache=state.cache),
                parent_id=state.container.get(source, current_parent_id()),
            )
            state.container[self.name] = step.id
            state.open_steps.append(step)
            with rec.under(step.id):
                await call_next()
        result = context.result
        handoff = self._handoff_in(result)
        if handoff is not None:
            target, call_id = handoff
            state.pending[target] = (self.name, call_id)
        elif isinstance(result, AgentResponse):
            state.end_chain(final_text(result))

    def _handoff_in(self, result: Any) -> tuple[str, str | None] | None:
        for message in reversed(getattr(result, "messages", None) or []):
            for content in message.contents:
                if content.type == "function_call" and content.name in self.targets:
                    return self.targets[content.name], content.call_id
        return None


def _works_from(context: AgentContext) -> list[Any]:
    """What a handed-to agent works from: its session's history (HandoffBuilder runs each
    agent in a session of its own; Agent Framework's default history provider keeps it in the
    session state), then what the workflow passed it now."""
    from agent_framework import InMemoryHistoryProvider

    session = context.session
    state = getattr(session, "state", None) or {}
    history = (state.get(InMemoryHistoryProvider.DEFAULT_SOURCE_ID) or {}).get("messages") or []
    return [*history, *context.messages]


def is_handoff_workflow(workflow: Any) -> bool:
    from agent_framework_orchestrations import HandoffAgentExecutor

    executors = getattr(workflow, "executors", None) or {}
    return any(isinstance(e, HandoffAgentExecutor) for e in executors.values())
