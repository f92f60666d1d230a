"""The Microsoft Agent Framework adapter, registered through nex's ``nex.adapters`` entry points.

Agent Framework is imported only when the adapter is used, so ``nex`` starts as fast with this
plugin installed as without it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from nex_core.adapter import (
    Adapter,
    Capability,
    Conversion,
    ConversionReport,
    _dist_version,
    as_task,
)
from nex_core.errors import AdapterError
from nex_core.hookspecs import hookimpl
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.trajectory.schema import Provenance, TaskInfo, Trajectory
from nex_core.trajectory.sinks import TrajectorySink

if TYPE_CHECKING:
    from nex_core.protocol.approval import Decision

DISTRIBUTION = "agent-framework-core"

CAPABILITIES = frozenset(
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
        Capability.STOP_TOOLS,
        Capability.MAX_STEPS,
        Capability.MULTI_TURN,
        Capability.MCP_TOOLS,
        Capability.STRUCTURED_OUTPUT,
        Capability.STRUCTURED_OUTPUT_RETRY,
        Capability.TOOL_APPROVAL,
        Capability.STREAMING,
        Capability.CONVERT_FROM,
        Capability.CONVERT_TO,
        Capability.RECORD_FOREIGN,
    }
)
"""What the adapter does the protocol's way. Left out, and why:

- ``model_retry``: Agent Framework does not retry a failed model call;
- ``text_tool_format``: Agent Framework reads tool calls only from native function calling.
"""


def require_framework() -> None:
    """Import Agent Framework, or say which distribution to install."""
    try:
        import agent_framework  # noqa: F401
    except ImportError as exc:
        raise AdapterError(
            f"the agent-framework adapter needs Microsoft Agent Framework: "
            f"pip install {DISTRIBUTION} ({exc})"
        ) from None


class AgentFrameworkAdapter(Adapter):
    """Microsoft Agent Framework: convert, build, record, bridge."""

    name = "agent-framework"
    framework = DISTRIBUTION
    capabilities: ClassVar[frozenset[Capability]] = CAPABILITIES
    conformance_baseline: ClassVar[dict[str, str]] = {}
    """Expected failures of the kit's scenarios, with reasons: none (every applicable one
    passes; a scenario added to the kit that fails shows up as a failure, not hidden here)."""

    @property
    def version(self) -> str:
        return _versions()[0]

    @property
    def framework_version(self) -> str | None:
        return _versions()[1]

    def recognizes(self, obj: Any) -> bool:
        import sys

        # An object of the framework means the framework is imported already; checking first
        # keeps `nex convert`'s scan of a module from importing Agent Framework for nothing.
        if sys.modules.get("agent_framework") is None:
            return False
        from nex_agent_framework.convert import recognizes

        return recognizes(obj)

    def to_spec(self, obj: Any) -> Conversion:
        require_framework()
        from nex_agent_framework.convert import to_spec

        return to_spec(obj)

    def from_spec(self, spec: AgentSpec | TeamSpec, *, model: Any) -> Any:
        require_framework()
        from nex_agent_framework.build import build

        return build(spec, model)

    def to_code(self, spec: AgentSpec | TeamSpec) -> str:
        from nex_agent_framework.codegen import to_code

        return to_code(spec)

    def code_report(self, spec: AgentSpec | TeamSpec) -> ConversionReport:
        """A handoff program's renamed tools and what HandoffBuilder does its own way."""
        from nex_agent_framework.codegen_handoffs import handoff_report, hands_off

        if isinstance(spec, AgentSpec) and hands_off(spec):
            return handoff_report(spec)
        return ConversionReport()

    def bridge_model(self, model: Any, *, agent: str | None = None) -> Any:
        require_framework()
        from nex_agent_framework.bridge import bridge_model

        return bridge_model(model, agent=agent)

    def kit_shape_app(self, shape: str, model: Any) -> Any:
        """The conformance kit's recording-shape hook (``nex_conformance.shapes``)."""
        from nex_agent_framework.kit_shapes import kit_shape_app

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
        """Build ``spec`` in Agent Framework, run ``task`` with ``model`` and return the
        trajectory. ``mode`` is ``run`` or ``stream``. MCP servers come from the pool set by
        :func:`nex_core.runtime.mcp.use_shared_pool`, else from a pool of this run's own."""
        require_framework()
        from nex_agent_framework.build import build
        from nex_agent_framework.run import drive
        from nex_core.runtime.mcp import shared_pool
        from nex_core.runtime.mcp_tools import MCPTools, pool_for_run, uses_mcp
        from nex_core.runtime.tools import resolve_bindings
        from nex_core.trajectory.recorder import Recorder

        info = as_task(task)
        recorder = Recorder(
            provenance=self._provenance(spec, model, info),
            task=info,
            root_agent=spec.name,
            sinks=sinks,
        )
        try:
            resolve_bindings(spec, check_mcp_servers=shared_pool() is None)
        except Exception as exc:
            return recorder.fail(exc)
        async with contextlib.AsyncExitStack() as stack:
            mcp = None
            try:
                if uses_mcp(spec):
                    mcp = MCPTools(await stack.enter_async_context(pool_for_run(spec)))
                    await mcp.discover(spec)
                obj = build(spec, model, mcp=mcp)
            except Exception as exc:
                return recorder.fail(exc)
            return await drive(obj, info, recorder, _mode(mode), on_pause=_keeper(recorder, obj))

    def _provenance(self, spec: AgentSpec | TeamSpec, model: Any, info: TaskInfo) -> Provenance:
        from nex_core.runtime.loop import provenance_for

        return provenance_for(
            spec,
            model,
            info,
            framework=self.framework,
            framework_version=self.framework_version,
            adapter=self.name,
            adapter_version=self.version,
        )

    async def aresume(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        decision: Decision | Mapping[str, Decision],
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
        mode: str = "run",
    ) -> Trajectory:
        """Continue a run of ``spec`` that paused for approval, in this process (the paused
        agent and conversation are kept per session: :mod:`nex_agent_framework.approval`)."""
        require_framework()
        from nex_agent_framework import approval
        from nex_agent_framework.run import drive
        from nex_core.protocol.approval import (
            APPROVAL_STOP_REASON,
            decisions_for,
            decisions_value,
            paused_for_approval,
        )
        from nex_core.trajectory.recorder import Recorder

        outcome = paused.outcome
        if outcome is None or not paused_for_approval(paused):
            status = "no outcome" if outcome is None else f"outcome '{outcome.status.value}'"
            raise AdapterError(
                f"trajectory {paused.id} did not pause for approval ({status}); only a run "
                f"that ended interrupted with stop_reason {APPROVAL_STOP_REASON} can be resumed"
            )
        try:
            decisions = decisions_for(outcome.pending, decision)
        except ValueError as exc:
            raise AdapterError(f"cannot resume trajectory {paused.id}: {exc}") from None
        from nex_core.runtime.mcp import shared_pool
        from nex_core.runtime.mcp_tools import uses_mcp

        if uses_mcp(spec) and shared_pool() is None:
            # The paused run's own MCP pool closed when arun returned.
            raise AdapterError(
                f"cannot resume trajectory {paused.id}: its spec uses MCP servers and the paused "
                "run's pool is closed; run and resume it under "
                "nex_core.runtime.mcp.use_shared_pool(...)"
            )
        state = approval.take(paused.session_id)
        if state is None:
            raise AdapterError(
                f"no paused Agent Framework run of session {paused.session_id!r} in this "
                "process: the agent-framework adapter resumes a run in the process that paused "
                "it (Agent Framework binds an approval to the run that asked for it), once"
            )
        if paused.provenance.spec_digest is not None:
            from nex_core.runtime.loop import spec_digest

            if spec_digest(spec) != paused.provenance.spec_digest:
                approval.keep(paused.session_id or "", state)
                raise AdapterError(
                    f"cannot resume trajectory {paused.id}: the spec differs from the one the "
                    "paused run ran (its digest does not match)"
                )
        _use_model(state.root, model)
        recorder = Recorder(
            provenance=self._provenance(spec, model, paused.task),
            task=paused.task,
            root_agent=paused.root_agent,
            sinks=sinks,
            session_id=paused.session_id,
        )
        leaves = state.leaves()  # the runs that asked (below agents used as tools, if so)
        recorder.input(agent=leaves[0].agent.name, value=decisions_value(decisions), mode="resume")
        for leaf in leaves:  # rejected calls are recorded where each resumes (in the driver)
            leaf.answer = approval.answer(leaf, decisions)
        return await drive(
            state.root,
            paused.task,
            recorder,
            _mode(mode),
            resume=(state, decisions),
            on_pause=_keeper(recorder, state.root),
        )

    async def arecord(
        self,
        obj: Any,
        task: TaskInfo | str | Any,
        *,
        sinks: Sequence[TrajectorySink] = (),
        mode: str = "run",
    ) -> Trajectory:
        """Run an agent or workflow the user built, the way its documentation runs it (see
        :mod:`nex_agent_framework.run`), recording every model and tool call. ``task`` is text,
        a :class:`TaskInfo` of text turns, or one input as the app gives it (a workflow's
        state mapping), recorded as given."""
        return await _run().record_given(self, obj, task, sinks, mode, _mode)


def _use_model(root: Any, model: Any) -> None:
    """The model given to a resume drives the rest of the run: every agent built from the
    spec (a team's members and selector too) is switched to it."""
    from nex_agent_framework.record import agents_of, workflow_agents
    from nex_agent_framework.teams import team_state

    state = team_state(root)
    roots = workflow_agents(root) if state is not None else [root]
    clients = [a.client for r in roots for a in agents_of(r)]
    if state is not None and state.selector is not None:
        clients.append(state.selector)
    for client in clients:
        if hasattr(client, "nex_model"):
            client.nex_model = model


def _keeper(recorder: Any, root: Any) -> Any:
    """What keeps a paused run for :meth:`AgentFrameworkAdapter.aresume`: its state, under the
    trajectory's session id (a new one for the first run of a conversation)."""
    import uuid

    from nex_agent_framework import approval

    def on_pause(paused: approval.Paused) -> None:
        trajectory = recorder.trajectory
        if trajectory.session_id is None:
            trajectory.session_id = uuid.uuid4().hex
        paused.root = root
        approval.keep(trajectory.session_id, paused)

    return on_pause


def _mode(mode: str) -> Any:
    if mode not in ("run", "stream"):
        raise AdapterError(
            f"unknown mode '{mode}' (the agent-framework adapter runs 'run' or 'stream')"
        )
    return mode


@functools.cache
def _run() -> Any:
    """:mod:`.run`, imported when first used (it imports Agent Framework) and then kept: an
    import statement in :meth:`AgentFrameworkAdapter.arecord` ran every recorded run. Without
    the framework it raises (every call: a raised call is not cached)."""
    require_framework()
    from nex_agent_framework import run

    return run


@functools.cache
def _versions() -> tuple[str, str | None]:
    return _dist_version("nex-agent-framework"), _dist_version(DISTRIBUTION)


@hookimpl
def nex_adapters() -> list[Adapter]:
    return [AgentFrameworkAdapter()]
