"""The AutoGen adapter, registered through nex's ``nex`` entry-point group.

AutoGen itself is imported only when the adapter is used, so ``nex`` starts as fast with this
plugin installed as without it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from nex_core.adapter import Adapter, Capability, Conversion, _dist_version, as_task
from nex_core.hookspecs import hookimpl
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.trajectory.schema import Provenance, TaskInfo, Trajectory
from nex_core.trajectory.sinks import TrajectorySink

if TYPE_CHECKING:  # annotations only: the plugin module is imported at every `nex` start
    from nex_autogen.resume import BatchStarts
    from nex_core.protocol.approval import Decision
    from nex_core.trajectory.recorder import Recorder

CAPABILITIES = frozenset(
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
        Capability.TEAMS_ROUND_ROBIN,
        Capability.MAX_STEPS,
        Capability.MULTI_TURN,
        Capability.STREAMING,
        Capability.CONVERT_FROM,
        Capability.CONVERT_TO,
        Capability.RECORD_FOREIGN,
        Capability.TOOL_APPROVAL,
    }
)
"""What the adapter does the protocol's way. Left out, and why:

- ``stop_tools``: an AutoGen agent's turn cannot end on a tool call;
- ``teams_selector``: AutoGen's ``SelectorGroupChat`` runs, but writes its own speaker-selection
  request (one message from its template), so that model call differs from the protocol's;
- ``model_retry``: AutoGen does not retry a failed model call;
- ``text_tool_format``: AutoGen reads tool calls only from native function calling.

``tool_approval`` holds for the root agent of a spec and every agent it hands off to (built
into a Swarm); approval tools in agents used as tools and in team members are refused
(``nex_autogen.approval``). A paused run is resumed from its trajectory, in any process.

MCP tools built from a spec run through nex's MCP pool (the native runtime's servers and errors),
not AutoGen's MCP workbench; a workbench the user brings is recorded as it is.
"""


class AutogenAdapter(Adapter):
    """AutoGen AgentChat 0.7: convert, build, record, bridge."""

    name = "autogen"
    framework = "autogen-agentchat"
    capabilities: ClassVar[frozenset[Capability]] = CAPABILITIES

    # Looked up once: reading distribution metadata costs milliseconds, more than a scripted run.
    @property
    def version(self) -> str:
        return _versions()[0]

    @property
    def framework_version(self) -> str | None:
        return _versions()[1]

    def recognizes(self, obj: Any) -> bool:
        module = type(obj).__module__
        if not module.startswith(("autogen_agentchat", "nex_autogen")) and not _autogen_loaded():
            return False
        from autogen_agentchat.agents import BaseChatAgent
        from autogen_agentchat.teams import BaseGroupChat

        return isinstance(obj, BaseChatAgent | BaseGroupChat)

    def to_spec(self, obj: Any) -> Conversion:
        from nex_autogen.convert import to_spec

        return to_spec(obj)

    def from_spec(self, spec: AgentSpec | TeamSpec, *, model: Any) -> Any:
        from nex_autogen.build import build

        return build(spec, model)

    def to_code(self, spec: AgentSpec | TeamSpec) -> str:
        from nex_autogen.codegen import to_code

        return to_code(spec)

    def bridge_model(self, model: Any, *, agent: str | None = None) -> Any:
        from nex_autogen.bridge import bridge_model

        return bridge_model(model, agent=agent)

    def kit_shape_app(self, shape: str, model: Any) -> Any:
        """The conformance kit's recording-shape hook (``nex_conformance.shapes``)."""
        from nex_autogen.kit_shapes import kit_shape_app

        return kit_shape_app(shape, model)

    async def arun(
        self,
        spec: AgentSpec | TeamSpec,
        task: TaskInfo | str,
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        mode: Literal["run", "run_stream"] = "run",
    ) -> Trajectory:
        """Build ``spec`` in AutoGen, run ``task`` with ``model`` and return the trajectory.

        ``mode`` drives each turn with ``run`` or ``run_stream``. MCP servers come from the pool
        set by :func:`nex_core.runtime.mcp.use_shared_pool`, else from a pool of this run's own
        (closed when the run ends). A tool binding that cannot be resolved fails the run
        (outcome ``error``) before the first model call.
        """
        from nex_autogen.run import drive
        from nex_core.runtime.loop import provenance_for
        from nex_core.trajectory.recorder import Recorder

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
        async with contextlib.AsyncExitStack() as stack:
            try:
                obj = await _built(spec, model, stack)
            except Exception as exc:
                return recorder.fail(exc)
            return await drive(obj, info, recorder, mode)

    async def aresume(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        decision: Decision | Mapping[str, Decision],
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        mode: Literal["run", "run_stream"] = "run",
    ) -> Trajectory:
        """Continue ``paused`` (a run of ``spec`` that paused for approval, on this adapter or
        natively) with ``decision``, from the trajectory alone (:mod:`nex_autogen.resume`): the
        spec is built again with ``model``, the waiting batch runs under the decisions, and the
        run goes on, with the paused run's session id. What does not fit (not paused, a
        decision for a call that is not pending, another spec) is an ``AdapterError`` before
        anything runs."""
        from nex_autogen.approval import check_spec
        from nex_autogen.record import Instrumentation
        from nex_autogen.resume import (
            check_paused,
            continue_batch,
            continue_swarm,
            later_turns,
            paused_member,
        )
        from nex_autogen.resume_nested import is_nested
        from nex_autogen.run import drive

        if is_nested(paused):
            return await self._aresume_nested(
                spec, paused, decision, model=model, sinks=sinks, mode=mode
            )
        state, decisions = check_paused(spec, paused, decision)
        check_spec(spec)
        recorder, starts = self._resume_recorder(spec, paused, model, sinks)
        async with contextlib.AsyncExitStack() as stack:
            try:
                obj = await _built(spec, model, stack)
            except Exception as exc:
                return recorder.fail(exc)
            agent, swarm = paused_member(obj, state.agent.name, paused.id)

            async def batch(instrumentation: Instrumentation) -> None:
                results = await continue_batch(agent, state, decisions, recorder, starts)
                if swarm is not None:
                    call_id = await continue_swarm(swarm, agent, results)
                    instrumentation.handed_off(swarm, agent.name, call_id)
                return None

            turns = later_turns(paused, state)
            return await drive(
                obj, paused.task, recorder, mode, turns, before=batch, first_turn=state.turn
            )

    def _resume_recorder(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        model: Any,
        sinks: Sequence[TrajectorySink],
    ) -> tuple[Recorder, BatchStarts]:
        """The recorder of a resumed run (the paused run's task and session) and the listener
        that starts a resumed batch's calls in the model's order (``resume.BatchStarts``)."""
        from nex_autogen.resume import BatchStarts
        from nex_core.runtime.loop import provenance_for
        from nex_core.trajectory.recorder import Recorder

        provenance = provenance_for(
            spec,
            model,
            paused.task,
            framework=self.framework,
            framework_version=self.framework_version,
            adapter=self.name,
            adapter_version=self.version,
        )
        starts = BatchStarts()
        recorder = Recorder(
            provenance=provenance,
            task=paused.task,
            root_agent=spec.name,
            sinks=sinks,
            listeners=[starts],
            session_id=paused.session_id or paused.id,
        )
        return recorder, starts

    async def _aresume_nested(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        decision: Decision | Mapping[str, Decision],
        *,
        model: Any,
        sinks: Sequence[TrajectorySink],
        mode: Literal["run", "run_stream"],
    ) -> Trajectory:
        """:meth:`aresume` of a run that paused inside an agent used as a tool
        (:mod:`nex_autogen.resume_nested`)."""
        from autogen_agentchat.teams import BaseGroupChat

        from nex_autogen.approval import check_spec
        from nex_autogen.record import Instrumentation
        from nex_autogen.resume import continue_swarm, paused_member
        from nex_autogen.resume_nested import check_nested, continue_frame
        from nex_autogen.resume_team import continue_team
        from nex_autogen.run import drive
        from nex_core.protocol.approval import APPROVAL_STOP_REASON, decisions_value
        from nex_core.runtime.paused import TeamPause
        from nex_core.trajectory.schema import Outcome, OutcomeStatus

        frame, turn, decisions = check_nested(spec, paused, decision)
        check_spec(spec)
        recorder, starts = self._resume_recorder(spec, paused, model, sinks)
        assert paused.outcome is not None and paused.outcome.pending
        asker = str(paused.outcome.pending[0].get("agent"))
        async with contextlib.AsyncExitStack() as stack:
            try:
                obj = await _built(spec, model, stack)
            except Exception as exc:
                return recorder.fail(exc)

            async def batch(instrumentation: Instrumentation) -> Outcome | None:
                recorder.input(agent=asker, value=decisions_value(decisions), mode="resume")
                if isinstance(frame, TeamPause):
                    assert isinstance(obj, BaseGroupChat)
                    return await continue_team(obj, frame, paused, decisions, recorder, starts)
                agent, swarm = paused_member(obj, frame.agent.name, paused.id)
                results, again = await continue_frame(agent, frame, decisions, recorder, starts)
                if again:  # paused again below: no model call, the run pauses
                    return Outcome(
                        status=OutcomeStatus.INTERRUPTED,
                        stop_reason=APPROVAL_STOP_REASON,
                        pending=again,
                    )
                if swarm is not None:
                    call_id = await continue_swarm(swarm, agent, results)
                    instrumentation.handed_off(swarm, agent.name, call_id)
                return None

            turns = [None, *paused.task.turns[turn + 1 :]]
            return await drive(
                obj, paused.task, recorder, mode, turns, before=batch, first_turn=turn
            )

    async def arecord(
        self,
        obj: Any,
        task: Any,
        *,
        sinks: Sequence[TrajectorySink] = (),
        mode: Literal["run", "run_stream"] = "run",
    ) -> Trajectory:
        """Run an agent or team the user built, recording it. ``task`` is user text, a
        :class:`TaskInfo`, what AutoGen's ``run(task=...)`` takes (a message such as the
        ``HandoffMessage`` that resumes a Swarm, a list of messages), or a list of such turns.
        Runs of one object share a ``session_id``."""
        from nex_autogen.run import drive, session_of, task_and_turns
        from nex_core.trajectory.recorder import Recorder

        info, turns = task_and_turns(task)
        recorder = Recorder(
            provenance=self.foreign_provenance(obj, info),
            task=info,
            root_agent=obj.name,
            sinks=sinks,
            session_id=session_of(obj),
        )
        return await drive(obj, info, recorder, mode, turns)

    def foreign_provenance(self, obj: Any, task: TaskInfo) -> Provenance:
        """Provenance of a run of an object the user built (no spec behind it)."""
        from nex_core import __version__

        return Provenance(
            framework=self.framework,
            framework_version=self.framework_version,
            adapter=self.name,
            adapter_version=self.version,
            nex_version=__version__,
            model=_model_id(obj),
            task_id=task.id,
        )


@functools.cache
def _versions() -> tuple[str, str | None]:
    return _dist_version("nex-autogen"), _dist_version("autogen-agentchat")


def _autogen_loaded() -> bool:
    import sys

    return "autogen_agentchat" in sys.modules


def _model_id(obj: Any) -> str | None:
    from nex_autogen.record import client_model_id

    client = getattr(obj, "_model_client", None)
    if client is None:
        for participant in getattr(obj, "_participants", []):
            client = getattr(participant, "_model_client", None)
            if client is not None:
                break
    return client_model_id(client) if client is not None else None


async def _built(spec: AgentSpec | TeamSpec, model: Any, stack: contextlib.AsyncExitStack) -> Any:
    """``spec`` built in AutoGen for a run: its tool bindings resolved (one that cannot be is
    the run's error, before the first model call), its MCP servers from the shared pool or a
    pool of this run's own (closed with ``stack``) and discovered — a server that fails fails
    the run, as natively."""
    from nex_autogen.build import build
    from nex_autogen.mcp import mcp_for_run, uses_mcp
    from nex_core.runtime.mcp import shared_pool
    from nex_core.runtime.tools import resolve_bindings

    resolve_bindings(spec, check_mcp_servers=shared_pool() is None)
    mcp = await stack.enter_async_context(mcp_for_run(spec)) if uses_mcp(spec) else None
    if mcp is not None:
        await mcp.discover(spec)
    return build(spec, model, mcp=mcp)


@hookimpl
def nex_adapters() -> list[Adapter]:
    return [AutogenAdapter()]
