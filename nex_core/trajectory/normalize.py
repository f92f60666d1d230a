"""The canonical form of a trajectory, for comparing runs across frameworks.

What is dropped: step ids, times, latencies, usage, provenance, framework metadata.
What is renamed: tool-call ids become ordinals in order of first appearance.
What becomes a set: tool and sub-agent steps answering one LLM response (a parallel batch) are
sorted by their canonical JSON, so the order in which concurrent calls started does not matter.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nex_core.trajectory.schema import (
    InputStep,
    LLMStep,
    Message,
    Outcome,
    SubAgentStep,
    ToolStep,
    Trajectory,
)

AnyStep = LLMStep | ToolStep | SubAgentStep | InputStep


class _Ids:
    def __init__(self) -> None:
        self._map: dict[str, str] = {}

    def __call__(self, call_id: str | None) -> str | None:
        if call_id is None:
            return None
        if call_id not in self._map:
            self._map[call_id] = f"call_{len(self._map) + 1}"
        return self._map[call_id]


def _canonical_arguments(raw: str) -> Any:
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {"__raw__": raw}


def _message(m: Message, ids: _Ids) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role}
    text = m.text()
    if text:
        out["content"] = text
    if m.tool_calls:
        out["tool_calls"] = sorted(
            (
                {
                    "id": ids(tc.id),
                    "name": tc.function.name,
                    "arguments": _canonical_arguments(tc.function.arguments),
                }
                for tc in m.tool_calls
            ),
            key=lambda c: c["id"] or "",
        )
    if m.tool_call_id:
        out["tool_call_id"] = ids(m.tool_call_id)
    return out


def _register_call_ids(traj: Trajectory, ids: _Ids) -> None:
    # Ordinals follow the order the model produced the calls, which is deterministic under a
    # script, rather than the order tool steps started, which is not.
    for step in traj.steps:
        if isinstance(step, LLMStep) and step.response and step.response.message.tool_calls:
            for tc in step.response.message.tool_calls:
                ids(tc.id)


def _step(
    step: AnyStep, traj: Trajectory, ids: _Ids, by_parent: dict[str | None, list[AnyStep]]
) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": step.kind, "agent": step.agent, "status": step.status.value}
    if step.error is not None:
        out["error"] = {"type": step.error.type, "message": step.error.message}
    if isinstance(step, LLMStep):
        out["request"] = {
            "messages": [_message(m, ids) for m in step.request.messages],
            "tools": sorted(t.name for t in step.request.tools),
        }
        if step.response is not None:
            out["response"] = _message(step.response.message, ids)
    elif isinstance(step, ToolStep):
        out.update(call_id=ids(step.call_id), name=step.name, arguments=step.arguments)
        if step.raw_arguments is not None:
            out["raw_arguments"] = step.raw_arguments
        if step.error is None:
            # Compared as the text the model saw: frameworks differ in whether they keep the
            # returned object (5) or its rendering ("5").
            out["result"] = (
                step.result
                if isinstance(step.result, str)
                else json.dumps(step.result, ensure_ascii=False, default=str)
            )
    elif isinstance(step, InputStep):
        out.update(mode=step.mode, value=step.value)
    else:
        out.update(
            child=step.child,
            mode=step.mode,
            call_id=ids(step.call_id),
            input=[_message(m, ids) for m in step.input],
            output=step.output,
        )
    children = _children(step.id, traj, ids, by_parent)
    if children:
        out["steps"] = children
    return out


def _children(
    parent: str | None, traj: Trajectory, ids: _Ids, by_parent: dict[str | None, list[AnyStep]]
) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for child in by_parent.get(parent, []):
        item = _step(child, traj, ids, by_parent)
        if item["kind"] in ("llm", "input"):  # sequence points: what follows answers them
            result += _sorted_batch(batch)
            batch = []
            result.append(item)
        else:
            batch.append(item)
    return result + _sorted_batch(batch)


def _sorted_batch(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(batch, key=lambda d: json.dumps(d, sort_keys=True, default=str))


def normalize(traj: Trajectory) -> dict[str, Any]:
    """Canonical, framework-independent form of ``traj`` (a JSON-compatible dict)."""
    ids = _Ids()
    _register_call_ids(traj, ids)
    by_parent: dict[str | None, list[AnyStep]] = {}
    known = {s.id for s in traj.steps}
    for s in traj.steps:
        parent = s.parent_id if s.parent_id in known else None
        by_parent.setdefault(parent, []).append(s)
    outcome = traj.outcome
    return {
        "schema_version": traj.schema_version,
        "root_agent": traj.root_agent,
        "turns": list(traj.task.turns),
        "steps": _children(None, traj, ids, by_parent),
        "outcome": None if outcome is None else _outcome(outcome),
    }


def _outcome(outcome: Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {"status": outcome.status.value, "final_output": outcome.final_output}
    if outcome.structured_output is not None:
        out["structured_output"] = outcome.structured_output
    if outcome.pending:
        out["pending"] = outcome.pending
    return out


def digest(traj: Trajectory) -> str:
    """sha256 of the normal form: equal for runs that behaved the same."""
    canonical = json.dumps(normalize(traj), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
