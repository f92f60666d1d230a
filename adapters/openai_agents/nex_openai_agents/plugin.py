"""The OpenAI Agents SDK adapter, registered through nex's ``nex.adapters`` entry-point group.

The SDK itself is imported only when the adapter is used, so ``nex`` starts as fast with this
plugin installed as without it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from importlib import resources
from typing import Any, ClassVar

from nex_core.adapter import Adapter, Capability, Conversion, _dist_version, as_task
from nex_core.errors import AdapterError
from nex_core.hookspecs import hookimpl
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
    }
)
"""What the adapter does the protocol's way. Left out, and why:

- ``teams_round_robin``, ``teams_selector``: the Agents SDK has no teams; agents pass control
  only by handoffs;
- ``model_retry``: the SDK retries only on a provider's retry advice, which a nex model does
  not give; a failed call ends the run;
- ``text_tool_format``: the SDK reads tool calls only from native function calling.
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
        tool binding that cannot be resolved fails the run before the first model call."""
        from nex_core.runtime.loop import provenance_for
        from nex_core.runtime.mcp import shared_pool
        from nex_core.runtime.mcp_tools import MCPTools, pool_for_run, uses_mcp
        from nex_core.runtime.tools import resolve_bindings
        from nex_core.trajectory.recorder import Recorder
        from nex_openai_agents._run import drive
        from nex_openai_agents.build import build

        info = as_task(task)
        provenance = provenance_for(
            spec,
            model,
            info,
            framework=self.framework,
            framework_version=self.framework_version,
            adapter=self.name,
            adapter_version=self.version,
        )
        recorder = Recorder(provenance=provenance, task=info, root_agent=spec.name, sinks=sinks)
        try:
            resolve_bindings(spec, check_mcp_servers=shared_pool() is None)
            if isinstance(spec, TeamSpec):
                build(spec, model)  # raises the AdapterError that explains
        except Exception as exc:
            return recorder.fail(exc)
        async with contextlib.AsyncExitStack() as stack:
            mcp = None
            try:
                if uses_mcp(spec):
                    mcp = MCPTools(await stack.enter_async_context(pool_for_run(spec)))
                    await mcp.discover(spec)  # a server that fails fails the run, as natively
                agent = build(spec, model, mcp=mcp)
            except Exception as exc:
                return recorder.fail(exc)
            assert isinstance(spec, AgentSpec)
            return await drive(
                agent, info, recorder, mode=_mode(mode), max_turns=spec.limits.max_steps
            )

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
            mode=_mode(mode),
            max_turns=max_turns or DEFAULT_MAX_TURNS,
            session=session,
            run_config=run_config,
            context=context,
        )


def _mode(mode: str) -> Any:
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
