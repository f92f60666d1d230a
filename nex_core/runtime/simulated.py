"""Simulated tools: a model plays a tool that has no implementation.

A tool bound ``simulated`` (:class:`~nex_core.protocol.spec.SimulatedBinding`) is called like any
function tool on every backend: :func:`simulated_function` is its callable. The model that plays
it sees the tool's name, description and JSON Schema, the binding's starting ``state`` and
``instructions``, and every simulated call made earlier in the same episode (so an order
created by one call is there for the next), and answers with the tool's result.

Which model plays it: the binding's own ``model`` reference, else the model of the run it is
called in, which the runner provides with :func:`simulated_tools` (``nex run``, ``nex gap run``
and ``nex synth`` do). A scripted model answers from the queue named ``sim:TOOL``
(:func:`simulator_key`), so a simulated run is as deterministic as any scripted run.

Results are marked in the trajectory: :func:`mark_simulated` sets ``metadata["simulated"]`` on
every tool step a simulated tool answered, the same way on every backend (from the spec, after
the run), so exports can keep or drop those observations.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nex_core.errors import ModelError, ToolBindingError
from nex_core.protocol.spec import AgentSpec, SimulatedBinding, TeamSpec, ToolSpec
from nex_core.trajectory.schema import LLMRequest, Message, ToolStep, Trajectory

if TYPE_CHECKING:
    from nex_core.models.base import ChatModel
    from nex_core.trajectory.sinks import TrajectorySink

SIMULATED_KEY = "simulated"
"""Key in ``ToolStep.metadata`` of a result a model played (``{"by": "MODEL_ID" | "run"}``)."""

SIMULATOR_PROMPT = """\
You are simulating a software tool for an agent. You are not the agent: answer exactly as the
tool would, with its result only (JSON when the result is structured), no commentary.

Tool: {name}
Description: {description}
Arguments schema (JSON Schema): {schema}
{instructions}State of the world at the start of this episode (JSON): {state}
Earlier calls to simulated tools in this episode, oldest first (JSON): {history}

Stay consistent with the state and the earlier calls. For arguments the tool would reject,
answer with the error the tool would return."""


def simulator_key(tool_name: str) -> str:
    """The ``agent`` a simulated tool's model calls are made as (a scripted model's queue)."""
    return f"sim:{tool_name}"


@dataclass
class Simulation:
    """The models and per-episode memories simulated tools use while it is active."""

    model: ChatModel | None
    """The run's model, used by tools whose binding names none."""
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Simulated calls so far, per episode (trajectory id, or ``""`` outside a recorded run)."""
    models: dict[str, ChatModel] = field(default_factory=dict)
    """Models built from bindings' own references, one per reference."""

    def model_for(self, binding: SimulatedBinding, tool: str) -> ChatModel:
        if binding.model is not None:
            if binding.model not in self.models:
                from nex_core.models.registry import make_model

                self.models[binding.model] = make_model(binding.model)
            return self.models[binding.model]
        if self.model is None:
            raise ToolBindingError(
                f"tool '{tool}' is simulated but no model plays it: give its binding a "
                "'model' reference, or run it with nex run / nex gap run (which use the run's "
                "model), or inside nex_core.runtime.simulated.simulated_tools(model)"
            )
        return self.model


_current: ContextVar[Simulation | None] = ContextVar("nex_simulation", default=None)


@contextmanager
def simulated_tools(model: ChatModel | None) -> Iterator[Simulation]:
    """Simulated tools called inside the block are played by ``model`` (unless their binding
    names its own), each episode with a memory of its own."""
    simulation = Simulation(model)
    token = _current.set(simulation)
    try:
        yield simulation
    finally:
        _current.reset(token)


def simulated_function(tool: ToolSpec) -> Callable[..., Awaitable[Any]]:
    """The callable behind a simulated tool: asks the playing model, returns its answer (parsed
    as JSON when it is JSON, else the text)."""
    binding = tool.binding
    assert isinstance(binding, SimulatedBinding)

    async def play(**arguments: Any) -> Any:
        simulation = _current.get() or Simulation(None)
        model = simulation.model_for(binding, tool.name)
        episode = _episode_id()
        history = simulation.histories.setdefault(episode, [])
        request = _request(tool, binding, arguments, history)
        inner: Any = getattr(model, "inner", model)  # a GAP endpoint limiter wraps the model
        script = getattr(inner, "script", None)
        key = simulator_key(tool.name)
        if script is not None and key not in getattr(script, "agents", {key: None}):
            # Without this a scripted run would feed the tool an agent's shared replies.
            raise ModelError(
                f"simulated tool '{tool.name}': the script has no replies for '{key}' "
                f"(add them under agents: {{'{key}': [...]}})"
            )
        response = await model.acomplete(request, agent=key)
        text = response.message.text()
        result = _parsed(text)
        history.append({"tool": tool.name, "arguments": arguments, "result": result})
        return result

    play.__name__ = tool.name
    play.__doc__ = tool.description
    return play


def _episode_id() -> str:
    from nex_core.trajectory.recorder import current_recorder

    recorder = current_recorder()
    return recorder.trajectory.id if recorder is not None else ""


def _request(
    tool: ToolSpec, binding: SimulatedBinding, arguments: dict[str, Any], history: list[Any]
) -> LLMRequest:
    instructions = f"Behaviour: {binding.instructions}\n" if binding.instructions else ""
    system = SIMULATOR_PROMPT.format(
        name=tool.name,
        description=tool.description or "(none)",
        schema=json.dumps(tool.parameters or {"type": "object"}, sort_keys=True),
        instructions=instructions,
        state=json.dumps(binding.state, sort_keys=True, ensure_ascii=False, default=str),
        history=json.dumps(history, ensure_ascii=False, default=str),
    )
    call = json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)
    return LLMRequest(
        messages=[Message.system(system), Message.user(f"{tool.name}({call})")],
        params={"temperature": 0},
    )


def _parsed(text: str) -> Any:
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text


def simulated_tool_names(spec: AgentSpec | TeamSpec) -> dict[str | None, set[str]]:
    """``{agent name: names of its simulated tools}``; ``None`` holds every simulated name."""
    out: dict[str | None, set[str]] = {None: set()}
    for agent in spec.walk():
        names = {t.name for t in agent.tools if isinstance(t.binding, SimulatedBinding)}
        out.setdefault(agent.name, set()).update(names)
        out[None] |= names
    return out


def mark_simulated(trajectory: Trajectory, spec: AgentSpec | TeamSpec) -> int:
    """Mark the tool steps of ``trajectory`` that simulated tools of ``spec`` answered; returns
    how many. Steps are matched by agent and tool name (by tool name alone where a backend
    did not record the agent)."""
    names = simulated_tool_names(spec)
    if not names[None]:
        return 0
    marked = 0
    for step in trajectory.steps:
        if not isinstance(step, ToolStep):
            continue
        own = names.get(step.agent) if step.agent is not None else names[None]
        if own and step.name in own:
            step.metadata[SIMULATED_KEY] = True
            marked += 1
    return marked


def is_simulated(step: Any) -> bool:
    """Whether a trajectory step holds a simulated tool's result."""
    return isinstance(step, ToolStep) and bool(step.metadata.get(SIMULATED_KEY))


def simulated_call_ids(trajectory: Trajectory) -> set[str]:
    """Call ids of the tool calls whose results a simulated tool gave (what exports drop)."""
    return {
        s.call_id
        for s in trajectory.steps
        if isinstance(s, ToolStep) and is_simulated(s) and s.call_id is not None
    }


class MarkingSink:
    """A sink that marks simulated tool steps (:func:`mark_simulated`) before writing."""

    def __init__(self, inner: TrajectorySink, spec: AgentSpec | TeamSpec) -> None:
        self.inner = inner
        self.spec = spec

    def write(self, trajectory: Trajectory) -> None:
        mark_simulated(trajectory, self.spec)
        self.inner.write(trajectory)

    def close(self) -> None:
        self.inner.close()
