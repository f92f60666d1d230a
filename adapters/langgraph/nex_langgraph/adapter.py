"""The LangGraph adapter, registered with nex through the ``nex`` entry-point group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from nex_core.adapter import Adapter, Capability, Conversion
from nex_core.hookspecs import hookimpl
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.trajectory.schema import TaskInfo, Trajectory
from nex_core.trajectory.sinks import TrajectorySink
from nex_langgraph import _bridge, _build, _codegen, _convert, _resume, _run
from nex_langgraph._version import __version__


class LangGraphAdapter(Adapter):
    """LangGraph and LangChain agents: convert, build, record, bridge.

    Capabilities not declared, and why:
    ``STOP_TOOLS`` — built as ``return_direct`` tools, which end the turn only when every call of
    the batch is one, and also when it failed (natively: any successful stop-tool call);
    ``TEAMS_ROUND_ROBIN``/``TEAMS_SELECTOR`` — LangGraph has no team of that shape to build;
    ``TEXT_TOOL_FORMAT`` — LangGraph agents call tools natively.

    ``TOOL_APPROVAL``: paused runs resume in the process that ran them (their state is an
    in-memory checkpointer kept per session); agents used as tools and supervisors' own tools
    cannot pause (building such a spec says so).
    """

    name = "langgraph"
    framework = "langgraph"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TOOL_CALLS,
            Capability.PARALLEL_TOOL_CALLS,
            Capability.TOOL_ERRORS,
            Capability.SUB_AGENTS,
            Capability.NESTED_SUB_AGENTS,
            Capability.PARALLEL_SUB_AGENTS,
            Capability.HANDOFFS,
            Capability.MCP_TOOLS,
            Capability.STRUCTURED_OUTPUT,
            Capability.STRUCTURED_OUTPUT_RETRY,
            Capability.MAX_STEPS,
            Capability.MULTI_TURN,
            Capability.MODEL_RETRY,
            Capability.STREAMING,
            Capability.CONVERT_FROM,
            Capability.CONVERT_TO,
            Capability.RECORD_FOREIGN,
            Capability.TOOL_APPROVAL,
        }
    )

    @property
    def version(self) -> str:
        return __version__

    def recognizes(self, obj: Any) -> bool:
        return _convert.recognizes(obj)

    def to_spec(self, obj: Any) -> Conversion:
        return _convert.to_spec(obj)

    def from_spec(self, spec: AgentSpec | TeamSpec, *, model: Any, checkpointer: Any = None) -> Any:
        return _build.build_graph(spec, model, checkpointer=checkpointer)

    def to_code(self, spec: AgentSpec | TeamSpec) -> str:
        return _codegen.to_code(spec)

    def bridge_model(self, model: Any, *, agent: str | None = None) -> Any:
        return _bridge.bridge_model(model, agent=agent)

    def kit_shape_app(self, shape: str, model: Any) -> Any:
        """The conformance kit's recording-shape hook (``nex_conformance.shapes``)."""
        from nex_langgraph._kit_shapes import kit_shape_app

        return kit_shape_app(shape, model)

    async def arun(
        self,
        spec: AgentSpec | TeamSpec,
        task: TaskInfo | str,
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        mode: _run.Mode = "ainvoke",
    ) -> Trajectory:
        return await _run.arun(spec, task, model=model, sinks=sinks, mode=mode)

    async def arecord(
        self,
        obj: Any,
        task: TaskInfo | str,
        *,
        sinks: Sequence[TrajectorySink] = (),
        mode: _run.Mode = "ainvoke",
    ) -> Trajectory:
        return await _run.arecord(obj, task, sinks=sinks, mode=mode)

    async def aresume(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        decision: Decision | Mapping[str, Decision],
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        mode: _run.Mode = "ainvoke",
    ) -> Trajectory:
        """Resume a run this adapter paused for approval, in this process: the paused state
        is the run's in-memory checkpointer, kept per session (see ``_resume``)."""
        return await _resume.aresume(spec, paused, decision, model=model, sinks=sinks, mode=mode)


@hookimpl
def nex_adapters() -> list[Adapter]:
    return [LangGraphAdapter()]
