"""Running a built spec, and resuming one of its runs that paused for tool approval (the
contract: ``nex_core.protocol.approval``; the SDK side: ``nex_openai_agents.approval``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nex_core.errors import AdapterError
from nex_core.protocol.approval import (
    REJECTED_ERROR_TYPE,
    Decision,
    decisions_for,
    decisions_value,
    paused_for_approval,
    rejection_message,
)
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    ErrorInfo,
    TaskInfo,
    Trajectory,
)
from nex_core.trajectory.sinks import TrajectorySink
from nex_openai_agents._nested import Reopened, asker_of, enclosing_call, reopened, resumed_calls
from nex_openai_agents.approval import METADATA_KEY, Edits, call_id_of, is_held

if TYPE_CHECKING:
    from nex_openai_agents.plugin import OpenAIAgentsAdapter


def _recorder(
    adapter: OpenAIAgentsAdapter,
    spec: AgentSpec | TeamSpec,
    info: TaskInfo,
    model: Any,
    sinks: Sequence[TrajectorySink],
    session_id: str | None = None,
) -> Recorder:
    from nex_core.runtime.loop import provenance_for

    provenance = provenance_for(
        spec,
        model,
        info,
        framework=adapter.framework,
        framework_version=adapter.framework_version,
        adapter=adapter.name,
        adapter_version=adapter.version,
    )
    return Recorder(
        provenance=provenance,
        task=info,
        root_agent=spec.name,
        sinks=sinks,
        session_id=session_id,
    )


async def run_built(
    adapter: OpenAIAgentsAdapter,
    spec: AgentSpec | TeamSpec,
    info: TaskInfo,
    *,
    model: Any,
    sinks: Sequence[TrajectorySink],
    mode: str = "run",
    recorder: Recorder | None = None,
    paused: Trajectory | None = None,
    decisions: dict[str, Decision] | None = None,
) -> Trajectory:
    """Build ``spec`` (opening nex's MCP pool when it needs one) and run ``info`` on it; with
    ``paused``, resume that run with ``decisions`` (by call id) instead."""
    from nex_core.runtime.mcp import shared_pool
    from nex_core.runtime.mcp_tools import MCPTools, pool_for_run, uses_mcp
    from nex_core.runtime.tools import resolve_bindings
    from nex_openai_agents._run import drive
    from nex_openai_agents.build import build
    from nex_openai_agents.plugin import mode_of

    run_mode = mode_of(mode)
    recorder = recorder or _recorder(adapter, spec, info, model, sinks)
    try:
        resolve_bindings(spec, check_mcp_servers=shared_pool() is None)
        if isinstance(spec, TeamSpec):
            build(spec, model)  # raises the AdapterError that explains
    except Exception as exc:
        return recorder.fail(exc)
    assert isinstance(spec, AgentSpec)
    async with contextlib.AsyncExitStack() as stack:
        mcp = None
        edits = Edits()
        try:
            if uses_mcp(spec):
                mcp = MCPTools(await stack.enter_async_context(pool_for_run(spec)))
                await mcp.discover(spec)  # a server that fails fails the run, as natively
            agent = build(spec, model, mcp=mcp, edits=edits)
        except Exception as exc:
            return recorder.fail(exc)
        if paused is None:
            return await drive(
                agent, info, recorder, mode=run_mode, max_turns=spec.limits.max_steps
            )
        assert decisions is not None
        try:
            state, turn, batch, carried = await _decided_state(
                agent, paused, decisions, recorder, edits
            )
        except Exception as exc:
            return recorder.fail(exc)
        return await drive(
            agent,
            info,
            recorder,
            mode=run_mode,
            max_turns=spec.limits.max_steps,
            resume=state,
            resume_turn=turn,
            resumed_calls=batch,
            reopened=carried,
        )


async def resume(
    adapter: OpenAIAgentsAdapter,
    spec: AgentSpec | TeamSpec,
    paused: Trajectory,
    decision: Decision | Mapping[str, Decision],
    *,
    model: Any,
    sinks: Sequence[TrajectorySink],
) -> Trajectory:
    """The resumed run of ``paused`` (see :meth:`OpenAIAgentsAdapter.aresume`)."""
    from nex_core.runtime.loop import spec_digest

    outcome = paused.outcome
    if outcome is None or not paused_for_approval(paused):
        ended = "no outcome" if outcome is None else f"outcome {outcome.status.value}"
        raise AdapterError(
            f"trajectory {paused.id} did not pause for approval ({ended}): nothing to resume"
        )
    saved = paused.metadata.get(METADATA_KEY)
    if not isinstance(saved, dict) or not isinstance(saved.get("run_state"), dict):
        raise AdapterError(
            f"trajectory {paused.id} holds no Agents SDK run state (it was run by "
            f"'{paused.provenance.adapter}'): resume it with the backend that paused it"
        )
    digest = paused.provenance.spec_digest
    if digest is not None and digest != spec_digest(spec):
        raise AdapterError(
            f"trajectory {paused.id} was paused running another spec than '{spec.name}' "
            "(its spec digest differs): resume it with the spec it ran"
        )
    try:
        decisions = decisions_for(outcome.pending, decision)
    except ValueError as exc:
        raise AdapterError(f"trajectory {paused.id}: {exc}") from None
    for call_id, d in decisions.items():
        if d.action == "edit" and d.arguments is None:
            raise AdapterError(f"decision for call {call_id}: edit needs the new arguments")
    recorder = _recorder(
        adapter, spec, paused.task, model, sinks, session_id=paused.session_id or paused.id
    )
    recorder.input(
        agent=_paused_agent(paused, spec),
        value=decisions_value(decisions),
        mode="resume",
        parent_id=None,
    )
    return await run_built(
        adapter,
        spec,
        paused.task,
        model=model,
        sinks=sinks,
        recorder=recorder,
        paused=paused,
        decisions=decisions,
    )


async def _decided_state(
    agent: Any,
    paused: Trajectory,
    decisions: dict[str, Decision],
    recorder: Recorder,
    edits: Edits,
) -> tuple[Any, int, list[tuple[str, str, str]], dict[str, Reopened]]:
    """The paused ``RunState`` with the human's decisions applied (held calls approved), the
    turn it paused in, the calls the resumed run's tool spans claim their ids from, and the
    calls it carries on inside agents called as tools. Rejected calls are recorded here (or,
    inside an agent called as a tool, when its step is opened again): the SDK runs no tool span
    for them."""
    from agents import RunState

    saved = paused.metadata[METADATA_KEY]
    try:
        state = await RunState.from_json(agent, saved["run_state"])
    except Exception as exc:
        raise AdapterError(
            f"trajectory {paused.id}: the Agents SDK cannot read its run state back ({exc})"
        ) from None
    calls = resumed_calls(paused, [str(p.get("tool_call_id")) for p in _pending(paused)])
    rejected: set[str] = set()
    for item in state.get_interruptions():
        call_id = call_id_of(item)
        d = None if is_held(item) else decisions.get(call_id)
        if d is None or d.action == "approve":
            state.approve(item)
        elif d.action == "edit":
            assert d.arguments is not None
            edits.arguments[call_id] = dict(d.arguments)
            state.approve(item)
        else:
            name = item.tool_name or ""
            message = rejection_message(name, d)
            state.reject(item, rejection_message=message)
            rejected.add(call_id)
    batch: list[tuple[str, str, str]] = []
    carried = reopened(paused)
    for call_id, name, arguments in calls:
        if call_id in rejected:
            message = rejection_message(name, decisions[call_id])
            args = json.loads(arguments or "{}")
            scope = enclosing_call(paused, call_id)
            if scope is not None and scope in carried:
                # Recorded under the re-opened sub-agent step, when the resumed run opens it.
                asker = asker_of(paused, call_id)
                carried[scope].rejected.append((asker, call_id, name, args, message))
                continue
            step = recorder.begin_tool(
                agent=asker_of(paused, call_id),
                name=name,
                call_id=call_id,
                arguments=args,
                parent_id=None,
            )
            recorder.end_tool(step, error=ErrorInfo(type=REJECTED_ERROR_TYPE, message=message))
        elif call_id in edits.arguments:
            batch.append((call_id, name, json.dumps(edits.arguments[call_id])))
        else:
            batch.append((call_id, name, arguments))
    return state, int(saved.get("turn", 0)), batch, carried


def _pending(paused: Trajectory) -> list[dict[str, Any]]:
    return list((paused.outcome.pending if paused.outcome else None) or [])


def _paused_agent(paused: Trajectory, spec: AgentSpec | TeamSpec) -> str:
    agents = {p.get("agent") for p in (paused.outcome.pending if paused.outcome else None) or []}
    return next(iter(agents)) if len(agents) == 1 else spec.name
