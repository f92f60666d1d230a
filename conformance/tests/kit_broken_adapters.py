"""Deliberately unfaithful adapters: wrappers of the native adapter, each wrong in one way.

The kit's tests run them to show that each fault is caught, and by the check meant to catch it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

from nex_conformance import toolkit

from nex_core import AgentSpec, Capability, TeamSpec, Trajectory
from nex_core.errors import ToolBindingError
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import CallableBinding, ImportBinding, ToolFormat
from nex_core.runtime.loop import NativeRun
from nex_core.runtime.plugin import NativeAdapter
from nex_core.runtime.tools import function_of
from nex_core.trajectory.schema import LLMRequest, LLMResponse, StepStatus, TaskInfo, ToolStep
from nex_core.trajectory.sinks import TrajectorySink


class _Wrapper(NativeAdapter):
    """Runs natively, then lets a subclass spoil the recorded trajectory in place (so the sinks,
    which hold the same object, see the same spoiled record)."""

    async def arun(
        self,
        spec: AgentSpec | TeamSpec,
        task: TaskInfo | str,
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        listeners: Sequence[Any] = (),
    ) -> Trajectory:
        traj = await super().arun(spec, task, model=model, sinks=sinks)
        self.spoil(traj)
        return traj

    def spoil(self, traj: Trajectory) -> None:
        raise NotImplementedError


class DropsToolErrors(_Wrapper):
    """Records failed tool calls as successful ones with no result."""

    name = "drops_tool_errors"

    def spoil(self, traj: Trajectory) -> None:
        for step in traj.steps:
            if isinstance(step, ToolStep) and step.error is not None:
                step.error, step.status, step.result = None, StepStatus.OK, None


class ReordersSteps(_Wrapper):
    """Stores the steps in reverse order."""

    name = "reorders_steps"

    def spoil(self, traj: Trajectory) -> None:
        traj.steps.reverse()


class LosesNesting(_Wrapper):
    """Flattens the step tree: every step at the top level."""

    name = "loses_nesting"

    def spoil(self, traj: Trajectory) -> None:
        for step in traj.steps:
            step.parent_id = None


class BreaksSchema(_Wrapper):
    """Leaves a value in the record that the trajectory schema rejects."""

    name = "breaks_schema"

    def spoil(self, traj: Trajectory) -> None:
        for step in traj.steps:
            if isinstance(step, ToolStep):
                step.arguments = "not an object"  # type: ignore[assignment]


class PhantomTools(NativeAdapter):
    """Reports tool calls that never ran: it answers them from a copy of the tool's logic, so
    the trajectory looks exactly like the reference, but the real tools are never invoked."""

    name = "phantom_tools"

    async def arun(self, spec: AgentSpec | TeamSpec, task: TaskInfo | str, **kw: Any) -> Trajectory:
        for agent in spec.walk():
            for tool in agent.tools:
                if isinstance(tool.binding, ImportBinding):
                    fn = toolkit.TOOLS[tool.binding.path.partition(":")[2]]
                    tool.binding = CallableBinding(ref=tool.name, func=fn.__wrapped__)  # type: ignore[attr-defined]
        return await super().arun(spec, task, **kw)


class _HidesSystemPrompt(ChatModel):
    def __init__(self, inner: ChatModel) -> None:
        self.inner, self.model_id = inner, inner.model_id

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        sent = request.model_copy(
            update={"messages": [m for m in request.messages if m.role != "system"]}
        )
        return await self.inner.acomplete(sent, agent=agent, tool_format=tool_format)


class MisreportsRequests(NativeAdapter):
    """Records the full request but sends the model one without the system prompt."""

    name = "misreports_requests"

    async def arun(
        self, spec: AgentSpec | TeamSpec, task: TaskInfo | str, *, model: Any, **kw: Any
    ) -> Trajectory:
        return await super().arun(spec, task, model=_HidesSystemPrompt(model), **kw)


class HiddenToolCall(NativeAdapter):
    """Runs a tool behind the trajectory's back (a retry it does not record)."""

    name = "hidden_tool_call"

    async def arun(self, spec: AgentSpec | TeamSpec, task: TaskInfo | str, **kw: Any) -> Trajectory:
        toolkit.add(a=1, b=1)
        return await super().arun(spec, task, **kw)


class Crashes(NativeAdapter):
    """Raises instead of returning a trajectory."""

    name = "crashes"

    async def arun(self, spec: AgentSpec | TeamSpec, task: TaskInfo | str, **kw: Any) -> Trajectory:
        raise RuntimeError("framework exploded")


class Limited(NativeAdapter):
    """Faithful, but declares only plain tool calling; remembers which tasks it was given."""

    name = "limited"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.TOOL_CALLS, Capability.TOOL_ERRORS}
    )

    def __init__(self) -> None:
        self.ran: list[str | None] = []

    async def arun(self, spec: AgentSpec | TeamSpec, task: TaskInfo | str, **kw: Any) -> Trajectory:
        self.ran.append(task.id if isinstance(task, TaskInfo) else task)
        return await super().arun(spec, task, **kw)


class IgnoresSequentialCalls(NativeAdapter):
    """Starts every call of a reply at once, ``parallel_tool_calls: false`` or not (its model
    requests still say false), as LangGraph and AutoGen did."""

    name = "ignores_sequential_calls"

    async def arun(self, spec: AgentSpec | TeamSpec, task: TaskInfo | str, **kw: Any) -> Trajectory:
        original = NativeRun._run_calls

        async def all_at_once(run: NativeRun, agent: Any, handles: Any, calls: Any) -> Any:
            return list(await asyncio.gather(*(run._run_call(agent, handles, c) for c in calls)))

        NativeRun._run_calls = all_at_once  # type: ignore[method-assign,assignment]
        try:
            return await super().arun(spec, task, **kw)
        finally:
            NativeRun._run_calls = original  # type: ignore[method-assign]


class BindsLate(NativeAdapter):
    """Starts the run with tools it cannot bind, each call failing with the binding error, as
    the native runtime and AutoGen did (a completed run whose every call failed)."""

    name = "binds_late"

    async def arun(self, spec: AgentSpec | TeamSpec, task: TaskInfo | str, **kw: Any) -> Trajectory:
        for agent in spec.walk():
            for tool in agent.tools:
                try:
                    function_of(tool)
                except ToolBindingError as exc:
                    tool.binding = CallableBinding(ref=tool.name, func=_raiser(exc))
        return await super().arun(spec, task, **kw)


def _raiser(error: Exception) -> Any:
    def fail(**_: Any) -> Any:
        raise error

    return fail
