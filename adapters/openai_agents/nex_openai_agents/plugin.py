"""The OpenAI Agents SDK adapter, registered through nex's ``nex.adapters`` entry-point group.

The SDK itself is imported only when the adapter is used, so ``nex`` starts as fast with this
plugin installed as without it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, ClassVar

from nex_core.adapter import Adapter, Capability, Conversion, _dist_version, as_task
from nex_core.errors import AdapterError
from nex_core.hookspecs import hookimpl
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.trajectory.schema import Provenance, TaskInfo, Trajectory
from nex_core.trajectory.sinks import TrajectorySink

CAPABILITIES = frozenset(
    {
        Capability.TOOL_CALLS,
        Capability.PARALLEL_TOOL_CALLS,
        Capability.TOOL_ERRORS,
        Capability.SUB_AGENTS,
        Capability.NESTED_SUB_AGENTS,
        Capability.PARALLEL_SUB_AGENTS,
        Capability.HANDOFFS,
        Capability.MAX_STEPS,
        Capability.STOP_TOOLS,
        Capability.MULTI_TURN,
        Capability.MCP_TOOLS,
        Capability.STRUCTURED_OUTPUT,
        Capability.STREAMING,
        Capability.CONVERT_FROM,
        Capability.CONVERT_TO,
        Capability.RECORD_FOREIGN,
        Capability.TOOL_APPROVAL,
    }
)
"""What the adapter does the protocol's way. Left out, and why:

- ``teams_round_robin``, ``teams_selector``: the Agents SDK has no teams; agents pass control
  only by handoffs;
- ``model_retry``: the SDK retries only on a provider's retry advice, which a nex model does
  not give; a failed call ends the run;
- ``text_tool_format``: the SDK reads tool calls only from native function calling;
- ``structured_output_retry``: the SDK ends a run whose answer does not fit ``output_type``
  (``ModelBehaviorError``) and never asks the model again, so no run could pass
  ``invalid_structured_output``.
"""

BASELINE = "baseline.yaml"


class OpenAIAgentsAdapter(Adapter):
    """OpenAI Agents SDK: convert, build, record, bridge."""

    name = "openai-agents"
    framework = "openai-agents"
    capabilities: ClassVar[frozenset[Capability]] = CAPABILITIES

    @property
    def conformance_baseline(self) -> str:
        """This adapter's expected conformance failures, with reasons (read by the kit)."""
        return str(resources.files("nex_openai_agents") / BASELINE)

    @property
    def version(self) -> str:
        return _versions()[0]

    @property
    def framework_version(self) -> str | None:
        return _versions()[1]

    def recognizes(self, obj: Any) -> bool:
        import sys

        if "agents" not in sys.modules:
            return False
        from agents import Agent

        return isinstance(obj, Agent)

    def to_spec(self, obj: Any) -> Conversion:
        from nex_openai_agents.convert import to_spec

        return to_spec(obj)

    def from_spec(self, spec: AgentSpec | TeamSpec, *, model: Any) -> Any:
        from nex_openai_agents.build import build

        return build(spec, model)

    def to_code(self, spec: AgentSpec | TeamSpec) -> str:
        from nex_openai_agents.codegen import to_code

        return to_code(spec)

    def bridge_model(self, model: Any, *, agent: str | None = None) -> Any:
        from nex_openai_agents.bridge import bridge_model

        return bridge_model(model, agent=agent)

    def kit_shape_app(self, shape: str, model: Any) -> Any:
        """The conformance kit's recording-shape hook (``nex_conformance.shapes``)."""
        from nex_openai_agents.kit_shapes import kit_shape_app

        return kit_shape_app(shape, model)

    async def arun(
        self,
        spec: AgentSpec | TeamSpec,
        task: TaskInfo | str,
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        mode: str = "run",
    ) -> Trajectory:
        """Build ``spec`` in the Agents SDK, run ``task`` with ``model`` and return the
        trajectory. ``mode`` is ``run`` or ``run_streamed``. MCP servers come from the pool set
        by :func:`nex_core.runtime.mcp.use_shared_pool`, else from a pool of this run's own. A
        tool binding that cannot be resolved fails the run before the first model call. A call
        to an ``approval: required`` tool ends the run ``interrupted`` (see :meth:`aresume`)."""
        from nex_openai_agents._resume import run_built

        return await run_built(self, spec, as_task(task), model=model, sinks=sinks, mode=mode)

    async def aresume(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        decision: Decision | Mapping[str, Decision],
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
    ) -> Trajectory:
        """Continue ``paused`` (a run of ``spec`` by this adapter that ended ``interrupted``
        for approval) with the human's ``decision``, from the SDK ``RunState`` kept in the
        paused trajectory's metadata (so it works in another process too). Bad input (another
        backend's run, a decision for an unknown call) is an :class:`AdapterError`."""
        from nex_openai_agents._resume import resume

        return await resume(self, spec, paused, decision, model=model, sinks=sinks)

    async def arecord(
        self,
        obj: Any,
        task: TaskInfo | str,
        *,
        sinks: Sequence[TrajectorySink] = (),
        mode: str = "run",
        max_turns: int | None = None,
        session: Any = None,
        run_config: Any = None,
        context: Any = None,
    ) -> Trajectory:
        """Run the user's own ``Agent`` through ``task``'s turns with ``Runner.run`` (or
        ``run_streamed``), recording it. ``session``, ``run_config`` and ``context`` go to the
        runner as given; with a session each turn sends only the new user message."""
        from nex_core import __version__
        from nex_core.trajectory.recorder import Recorder
        from nex_openai_agents._run import DEFAULT_MAX_TURNS, drive

        if not self.recognizes(obj):
            raise AdapterError(
                f"openai-agents cannot record {type(obj).__name__}: pass an agents.Agent"
            )
        info = as_task(task)
        provenance = Provenance(
            framework=self.framework,
            framework_version=self.framework_version,
            adapter=self.name,
            adapter_version=self.version,
            nex_version=__version__,
            model=_model_id(obj),
            task_id=info.id,
        )
        recorder = Recorder(provenance=provenance, task=info, root_agent=obj.name, sinks=sinks)
        return await drive(
            obj,
            info,
            recorder,
            mode=mode_of(mode),
            max_turns=max_turns or DEFAULT_MAX_TURNS,
            session=session,
            run_config=run_config,
            context=context,
        )


def mode_of(mode: str) -> Any:
    if mode not in ("run", "run_streamed"):
        raise AdapterError(f"unknown run mode '{mode}': use 'run' or 'run_streamed'")
    return mode


@functools.cache
def _versions() -> tuple[str, str | None]:
    return _dist_version("nex-openai-agents"), _dist_version("openai-agents")


def _model_id(agent: Any) -> str | None:
    from nex_openai_agents.bridge import NexModel

    model = getattr(agent, "model", None)
    if isinstance(model, NexModel):
        return model.model_id
    if isinstance(model, str):
        return model
    return getattr(model, "model", None) or (type(model).__name__ if model else None)


@hookimpl
def nex_adapters() -> list[Adapter]:
    return [OpenAIAgentsAdapter()]
