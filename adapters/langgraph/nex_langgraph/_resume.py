"""Resuming a spec run that paused for a human's approval (``Adapter.aresume``).

The paused state lives in the checkpointer of the graph that paused (``build_graph`` gives an
approval spec an ``InMemorySaver``), so it is kept in-process per session (``_approval.PAUSES``):
the run and its resume happen in one process. The graph is built again from the spec with the
given model over that checkpointer and sent ``Command(resume={"decisions": [...]})``, with the
texts rejected calls answer with in the run's config (see ``ApprovalMiddleware``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.types import Command

from nex_core.errors import AdapterError
from nex_core.models.base import ChatModel
from nex_core.protocol.approval import (
    APPROVAL_STOP_REASON,
    Decision,
    decisions_for,
    decisions_value,
)
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.trajectory.schema import OutcomeStatus, Trajectory
from nex_core.trajectory.sinks import TrajectorySink
from nex_langgraph._approval import PAUSES, REJECTIONS_KEY, rejection_texts
from nex_langgraph._build import build_graph
from nex_langgraph._mcp import uses_mcp
from nex_langgraph._run import Mode, _drive, _Session, _spec_provenance


async def aresume(
    spec: AgentSpec | TeamSpec,
    paused: Trajectory,
    decision: Decision | Mapping[str, Decision],
    *,
    model: ChatModel,
    sinks: Sequence[TrajectorySink] = (),
    mode: Mode = "ainvoke",
) -> Trajectory:
    """Continue ``paused`` (a run of ``spec`` by this adapter, in this process, that ended
    ``interrupted`` for approval) with the human's ``decision``; returns the resumed run."""
    outcome = paused.outcome
    if outcome is None or outcome.status is not OutcomeStatus.INTERRUPTED:
        raise AdapterError(f"run {paused.id} did not pause, so there is nothing to resume")
    if outcome.stop_reason != APPROVAL_STOP_REASON:
        raise AdapterError(
            f"run {paused.id} paused for {outcome.stop_reason!r}, not for a tool's approval"
        )
    if uses_mcp(spec):
        raise AdapterError(
            f"'{spec.name}' uses MCP tools, whose sessions end with the run that paused: the "
            "LangGraph adapter resumes only specs without MCP tools"
        )
    pause = PAUSES.get(paused.session_id)
    if pause is None or pause.checkpointer is None:
        raise AdapterError(
            f"no paused LangGraph run of session {paused.session_id} in this process (already "
            "resumed, or paused in another process): the paused state lives in the run's "
            "in-memory checkpointer, kept per session in the process that ran it"
        )
    try:
        decisions = decisions_for(outcome.pending, decision)
    except ValueError as exc:
        raise AdapterError(f"cannot resume run {paused.id}: {exc}") from None
    requests = pause.requests()
    if {r.tool_call_id for r in requests} != set(decisions):
        raise AdapterError(
            f"run {paused.id} is not the latest pause of session {paused.session_id}"
        )
    graph = build_graph(spec, model, checkpointer=pause.checkpointer)
    config: dict[str, Any] = {
        "configurable": {
            "thread_id": pause.thread_id,
            REJECTIONS_KEY: rejection_texts(requests, decisions),
        }
    }
    # The resumed run belongs to the same task as the pause (native keeps it too).
    task = paused.task.model_copy(deep=True)
    session = _Session(
        graph,
        spec,
        task,
        _spec_provenance(spec, model, task),
        sinks,
        inputs=[Command(resume=pause.command_value(decisions))],
        config=config,
        resume_value=decisions_value(decisions),
        resume_agent=str(outcome.pending[0].get("agent")) if outcome.pending else None,
    )
    PAUSES.pop(paused.session_id)
    return await _drive(session, mode)
