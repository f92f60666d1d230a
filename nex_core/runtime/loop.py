"""Running a spec on the native runtime: :func:`run_native`.

The loop itself is :class:`nex_core.runtime.native.NativeRun`; a run's results are in
:mod:`nex_core.runtime.results` and its provenance in :mod:`nex_core.runtime.provenance`. Every
name this module had before that split is still importable from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from nex_core._version import __version__
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime import approval
from nex_core.runtime.mcp import MCPPool, shared_pool
from nex_core.runtime.native import MAX_HANDOFF_DEPTH, NativeRun
from nex_core.runtime.provenance import provenance_for, spec_digest
from nex_core.runtime.results import AgentResult, SubAgentFailed, _CallResult
from nex_core.runtime.tools import resolve_bindings
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import Message, OutcomeStatus, TaskInfo, Trajectory
from nex_core.trajectory.sinks import TrajectorySink

__all__ = [
    "MAX_HANDOFF_DEPTH",
    "AgentResult",
    "NativeRun",
    "SubAgentFailed",
    "_CallResult",
    "provenance_for",
    "run_native",
    "spec_digest",
]


async def run_native(
    spec: AgentSpec | TeamSpec,
    task: TaskInfo,
    *,
    model: ChatModel,
    sinks: Sequence[TrajectorySink] = (),
    listeners: Sequence[Callable[[Any], None]] = (),
    mcp_pool: MCPPool | None = None,
) -> Trajectory:
    """Run ``spec`` on ``task`` and return the trajectory (also written to ``sinks``).

    A run that fails still returns its trajectory, with outcome ``error`` (a tool binding that
    cannot be resolved fails it before the first model call); a cancelled run is
    recorded as ``cancelled`` and the cancellation propagates. MCP servers come from
    ``mcp_pool``, else from the pool set by :func:`nex_core.runtime.mcp.use_shared_pool`, else
    from a pool of this run's own (started lazily, closed at the end).
    """
    provenance = provenance_for(
        spec,
        model,
        task,
        framework="nex",
        framework_version=__version__,
        adapter="native",
        adapter_version=__version__,
    )
    recorder = Recorder(
        provenance=provenance, task=task, root_agent=spec.name, sinks=sinks, listeners=listeners
    )
    given = mcp_pool or shared_pool()
    pool = given if given is not None else MCPPool({})
    for agent in spec.walk():
        pool.add(agent.mcp_servers)
    runner = NativeRun(model, recorder, pool)
    history: list[Message] = []
    result = AgentResult(OutcomeStatus.COMPLETED, None, "no_turns")
    try:
        # A binding that cannot be resolved is a configuration error: the run fails with it
        # before the first model call, and no tool's latency includes importing its module.
        resolve_bindings(spec, check_mcp_servers=given is None)
        runner.approvals = approval.check_spec(spec)
        with recorder.active():
            active: AgentSpec | TeamSpec = spec
            for number, turn in enumerate(task.turns):
                history.append(Message.user(turn))
                if isinstance(active, TeamSpec):
                    result = await runner.run_team(active, history)
                else:
                    result, active = await runner.converse(active, history)
                if result.status is not OutcomeStatus.COMPLETED:
                    approval.mark_paused(recorder, result, number)
                    break
    except asyncio.CancelledError as exc:
        recorder.fail(exc)
        raise
    except Exception as exc:
        return recorder.fail(exc)
    finally:
        if given is None:
            await pool.aclose()
    return recorder.finish(result.outcome())
