"""The native runtime, registered as an adapter through the same hooks third parties use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from nex_core._version import __version__
from nex_core.adapter import Adapter, Capability, as_task
from nex_core.hookspecs import hookimpl

# This module is loaded with every plugin manager (`nex --help` too): the runtime is imported
# when a spec is run, not here.
if TYPE_CHECKING:
    from nex_core.protocol.approval import Decision
    from nex_core.protocol.spec import AgentSpec, TeamSpec
    from nex_core.trajectory.schema import TaskInfo, Trajectory
    from nex_core.trajectory.sinks import TrajectorySink


class NativeAdapter(Adapter):
    """Runs specs directly: the reference behaviour every other adapter is compared with."""

    name = "native"
    framework = "nex-core"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TOOL_CALLS,
            Capability.PARALLEL_TOOL_CALLS,
            Capability.TOOL_ERRORS,
            Capability.SUB_AGENTS,
            Capability.NESTED_SUB_AGENTS,
            Capability.PARALLEL_SUB_AGENTS,
            Capability.HANDOFFS,
            Capability.TEAMS_ROUND_ROBIN,
            Capability.TEAMS_SELECTOR,
            Capability.MAX_STEPS,
            Capability.STOP_TOOLS,
            Capability.MULTI_TURN,
            Capability.MODEL_RETRY,
            Capability.TEXT_TOOL_FORMAT,
            Capability.MCP_TOOLS,
            Capability.STRUCTURED_OUTPUT,
            Capability.STRUCTURED_OUTPUT_RETRY,
            Capability.TOOL_APPROVAL,
        }
    )

    @property
    def version(self) -> str:
        return __version__

    def text_formats(self) -> frozenset[str]:
        # The loop looks formats up in the registry, so it runs every registered text format.
        from nex_core.toolformats.registry import text_format_names

        return text_format_names()

    @property
    def framework_version(self) -> str | None:
        return __version__

    def recognizes(self, obj: Any) -> bool:
        from nex_core.protocol.spec import AgentSpec, TeamSpec

        return isinstance(obj, AgentSpec | TeamSpec)

    def from_spec(self, spec: AgentSpec | TeamSpec, *, model: Any) -> Any:
        return spec  # the spec is the native runtime's object

    def bridge_model(self, model: Any, *, agent: str | None = None) -> Any:
        return model

    async def arun(
        self,
        spec: AgentSpec | TeamSpec,
        task: TaskInfo | str,
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        listeners: Sequence[Any] = (),
    ) -> Trajectory:
        from nex_core.runtime.loop import run_native

        return await run_native(spec, as_task(task), model=model, sinks=sinks, listeners=listeners)

    async def aresume(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        decision: Decision | Mapping[str, Decision],
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        listeners: Sequence[Any] = (),
    ) -> Trajectory:
        from nex_core.runtime.resume import resume_native

        return await resume_native(
            spec, paused, decision, model=model, sinks=sinks, listeners=listeners
        )


@hookimpl
def nex_adapters() -> list[Adapter]:
    return [NativeAdapter()]
