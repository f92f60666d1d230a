"""nex → ATIF: one trajectory as an ATIF document (a JSON-compatible dict).

Each agent invocation is one ATIF trajectory: the root run, and every sub-agent step as an
embedded ``subagent_trajectories`` entry (``trajectory_id`` = the sub-agent step's id) that the
observation answering its tool call refers to (handoffs and team turns without a call: a system
step whose observation refers to it). Within an invocation the conversation is linear, as ATIF
is: system and user steps for the messages the model was sent that it had not seen, one agent
step per model call (message, reasoning, tool calls, metrics with token ids and logprobs), and
the tool results as that step's observation, linked by call id, in the order the next request
listed them, with the text the model saw.

What ATIF has no field for is kept under ``extra.nex`` (step status and errors, outcome,
rewards and labels, provenance, a request that does not continue the conversation, a tool
result that is not text, how a sub-agent was invoked) and named in the document's ``notes``,
so :func:`nex_core.atif.from_atif` gives the same trajectory back under ``normalize()``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from nex_core.trajectory.schema import (
    InputStep,
    LLMStep,
    Message,
    Step,
    SubAgentStep,
    ToolStep,
    Trajectory,
)

ATIF_VERSION = "ATIF-v1.8"
"""The ATIF version written (and the newest one read)."""


def invocation_of(by_id: dict[str, Step], step: Step) -> str | None:
    """The sub-agent step a step belongs to (its nearest sub-agent ancestor), or None."""
    current = by_id.get(step.parent_id) if step.parent_id else None
    while current is not None:
        if isinstance(current, SubAgentStep):
            return current.id
        current = by_id.get(current.parent_id) if current.parent_id else None
    return None


def result_text(value: Any) -> str:
    """A tool result as text, as ``normalize()`` compares it."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _dump(messages: list[Message]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json", exclude_none=True) for m in messages]


def _plain(m: Message) -> bool:
    """Whether a system or user message is all an ATIF system/user step can say."""
    return m.role in ("system", "user") and isinstance(m.content, str) and m.name is None


def _arguments(call: Any, notes: Counter[str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """ATIF arguments are an object; the text the model wrote goes to extra where it differs."""
    text = call.function.arguments
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        notes["tool-call arguments that are not a JSON object (raw text in extra.nex)"] += 1
        return {}, {"nex": {"raw_arguments": text}}
    if json.dumps(value, ensure_ascii=False) == text:
        return value, None
    return value, {"nex": {"raw_arguments": text}}


def _metrics(step: LLMStep) -> dict[str, Any] | None:
    response = step.response
    if response is None:
        return None
    out: dict[str, Any] = {}
    if response.usage is not None:
        out["prompt_tokens"] = response.usage.prompt_tokens
        out["completion_tokens"] = response.usage.completion_tokens
        if response.usage.cached_tokens is not None:
            out["cached_tokens"] = response.usage.cached_tokens
    tokens = response.tokens
    if tokens is not None:
        if tokens.prompt_token_ids is not None:
            out["prompt_token_ids"] = tokens.prompt_token_ids
        if tokens.completion_token_ids is not None:
            out["completion_token_ids"] = tokens.completion_token_ids
        if tokens.logprobs is not None:
            out["logprobs"] = tokens.logprobs
        if tokens.top_logprobs is not None:
            out["extra"] = {"top_logprobs": tokens.top_logprobs.model_dump(exclude_none=True)}
    return out or None


def _status(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if step.status.value != "ok":
        out["status"] = step.status.value
    if step.error is not None:
        out["error"] = step.error.model_dump()
    if step.rewards:
        out["rewards"] = dict(step.rewards)
    if step.labels:
        out["labels"] = dict(step.labels)
    if step.metadata:
        out["metadata"] = step.metadata
    return out


class _Invocation:
    """Builds the ATIF document of one invocation."""

    def __init__(
        self, exporter: _Exporter, invocation: str | None, steps: list[Step], agent: str
    ) -> None:
        self.exporter = exporter
        self.invocation = invocation
        self.steps = steps
        self.agent = agent
        self.out: list[dict[str, Any]] = []
        self.conversation: list[Message] = []
        self.by_call: dict[str, dict[str, Any]] = {}  # call id -> its agent step
        self.results: dict[str, dict[str, Any]] = {}  # call id -> observation result
        self.pending: dict[str, Any] | None = None  # the agent step whose results may still come
        llm = [s for s in steps if isinstance(s, LLMStep)]
        self.tools = [t.openai() for t in llm[0].request.tools] if llm else []
        # What the model saw of each result: the tool messages of later requests.
        self.seen: dict[str, tuple[int, str]] = {}
        for s in llm:
            for position, m in enumerate(s.request.messages):
                if m.role == "tool" and m.tool_call_id and m.tool_call_id not in self.seen:
                    self.seen[m.tool_call_id] = (position, m.text())

    def _add(self, step: dict[str, Any]) -> dict[str, Any]:
        step["step_id"] = len(self.out) + 1
        self.out.append(step)
        return step

    def build(self) -> dict[str, Any]:
        for step in self.steps:
            if isinstance(step, LLMStep):
                self._llm(step)
            elif isinstance(step, ToolStep):
                self._tool(step)
            elif isinstance(step, InputStep):
                self._input(step)
            else:
                self._subagent(step)
        self._flush()
        doc: dict[str, Any] = {
            "agent": {"name": self.agent, "version": self.exporter.version},
            "steps": self.out,
        }
        if self.tools:
            doc["agent"]["tool_definitions"] = self.tools
        return doc

    def _flush(self) -> None:
        """Close the latest agent step's observation: its results in the order the next request
        gave them, and their text in the conversation, as the importer reads them."""
        if self.pending is None:
            return
        results = self.pending.get("observation", {}).get("results", [])
        # Reordered only when a later request shows every one of them: where a rebuilt context
        # dropped some, the order they ran in is the only order there is (moving the seen ones
        # first would pair identical sub-agent runs with the wrong calls on the way back).
        if all(r.get("source_call_id", "") in self.seen for r in results):
            results.sort(key=lambda r: self.seen[r.get("source_call_id", "")][0])
        for r in results:
            if "source_call_id" in r and isinstance(r.get("content"), str):
                self.conversation.append(Message.tool(r["source_call_id"], r["content"]))
        self.pending = None

    def _llm(self, step: LLMStep) -> None:
        self._flush()
        nex: dict[str, Any] = _status(step)
        request = step.request.messages
        known = len(self.conversation)
        continues = request[:known] == self.conversation and all(
            _plain(m) for m in request[known:]
        )
        if continues:
            for m in request[known:]:
                self._add({"source": m.role, "message": m.content})
        else:
            nex["request"] = _dump(request)
            self.exporter.notes[
                "model requests that do not continue the conversation (kept whole in "
                "extra.nex.request)"
            ] += 1
        self.conversation = list(request)
        if [t.openai() for t in step.request.tools] != self.tools:
            nex["tools"] = [t.model_dump() for t in step.request.tools]
        if step.request.params:
            nex["params"] = step.request.params
        if step.agent != self.agent:
            nex["agent"] = step.agent
        out: dict[str, Any] = {"source": "agent", "message": "", "llm_call_count": 1}
        if step.model:
            out["model_name"] = step.model
        out["timestamp"] = step.started_at.isoformat()
        response = step.response
        if response is not None:
            message = response.message
            out["message"] = message.text()
            if isinstance(message.content, list) or message.name is not None:
                nex["message"] = message.model_dump(mode="json", exclude_none=True)
            if message.reasoning:
                out["reasoning_content"] = message.reasoning
            if message.tool_calls:
                calls = []
                for call in message.tool_calls:
                    arguments, extra = _arguments(call, self.exporter.notes)
                    item: dict[str, Any] = {
                        "tool_call_id": call.id,
                        "function_name": call.function.name,
                        "arguments": arguments,
                    }
                    if extra:
                        item["extra"] = extra
                    calls.append(item)
                    self.by_call[call.id] = out
                out["tool_calls"] = calls
            if response.finish_reason:
                nex["finish_reason"] = response.finish_reason
            self.conversation.append(message)
        else:
            nex["no_response"] = True
        metrics = _metrics(step)
        if metrics:
            out["metrics"] = metrics
        if nex:
            out["extra"] = {"nex": nex}
            if set(nex) & {"status", "error"}:
                self.exporter.notes["step status and errors (in extra.nex)"] += 1
        self._add(out)
        self.pending = out

    def _result(self, call_id: str | None) -> dict[str, Any]:
        """The observation result for ``call_id``, on the agent step that made the call, or on
        a system step of its own (a step no model call asked for)."""
        if call_id is not None and call_id in self.results:
            return self.results[call_id]
        owner = self.by_call.get(call_id) if call_id is not None else None
        result: dict[str, Any] = {}
        if owner is None:
            event = self._add({"source": "system", "message": "", "observation": {"results": []}})
            event["observation"]["results"].append(result)
            return result
        assert call_id is not None
        result["source_call_id"] = call_id
        owner.setdefault("observation", {"results": []})["results"].append(result)
        self.results[call_id] = result
        return result

    def _tool(self, step: ToolStep) -> None:
        result = self._result(step.call_id)
        nex: dict[str, Any] = {"tool": step.name, **_status(step)}
        if step.agent != self.agent:
            nex["agent"] = step.agent
        seen = self.seen.get(step.call_id or "")
        if step.error is None:
            text = result_text(step.result)
            result["content"] = seen[1] if seen else text
            if result["content"] != text or not isinstance(step.result, str):
                nex["result"] = step.result
                self.exporter.notes["tool results that are not text (value in extra.nex)"] += 1
        elif seen:
            result["content"] = seen[1]
        nex["arguments"] = step.arguments
        if step.raw_arguments is not None:
            nex["raw_arguments"] = step.raw_arguments
        if "source_call_id" not in result:
            nex["call_id"] = step.call_id
        result.setdefault("extra", {})["nex"] = nex

    def _input(self, step: InputStep) -> None:
        """Input given other than as a text turn (a paused run's resume value): ATIF has no
        step for it, so a system step that carries it in ``extra.nex.input``."""
        nex = {"mode": step.mode, "value": step.value, **_status(step)}
        if step.agent != self.agent:
            nex["agent"] = step.agent
        self._add({"source": "system", "message": "", "timestamp": step.started_at.isoformat(),
                   "extra": {"nex": {"input": nex}}})
        self.exporter.notes["inputs and resume values (system steps, in extra.nex.input)"] += 1

    def _subagent(self, step: SubAgentStep) -> None:
        result = self._result(step.call_id)
        under_tool = isinstance(self.exporter.by_id.get(step.parent_id or ""), ToolStep)
        result["subagent_trajectory_ref"] = [{"trajectory_id": step.id}]
        nex = {
            "mode": step.mode,
            "child": step.child,
            "agent": step.agent,
            "input": _dump(step.input),
            "output": step.output,
            "under_tool": under_tool,
            **_status(step),
        }
        if "source_call_id" not in result:
            nex["call_id"] = step.call_id
        if "content" not in result and step.output is not None and not under_tool:
            result["content"] = step.output
        result.setdefault("extra", {})["subagent"] = nex
        self.exporter.subagents.append(step)


class _Exporter:
    def __init__(self, traj: Trajectory) -> None:
        self.traj = traj
        self.by_id: dict[str, Step] = {s.id: s for s in traj.steps}
        self.owned: dict[str | None, list[Step]] = {}
        for step in traj.steps:
            self.owned.setdefault(invocation_of(self.by_id, step), []).append(step)
        self.notes: Counter[str] = Counter()
        self.subagents: list[SubAgentStep] = []
        p = traj.provenance
        self.version = p.adapter_version or p.nex_version

    def document(self, invocation: str | None, agent: str) -> dict[str, Any]:
        doc = _Invocation(self, invocation, self.owned.get(invocation, []), agent).build()
        children = [s for s in self.subagents if invocation_of(self.by_id, s) == invocation]
        if children:
            embedded = []
            for child in children:
                sub = self.document(child.id, child.child)
                embedded.append({"schema_version": ATIF_VERSION, "trajectory_id": child.id, **sub})
            doc["subagent_trajectories"] = embedded
        return doc


def to_atif(traj: Trajectory) -> dict[str, Any]:
    """``traj`` as an ATIF document (``schema_version`` ``ATIF-v1.8``), JSON-compatible."""
    exporter = _Exporter(traj)
    agent = traj.root_agent or traj.provenance.framework
    body = exporter.document(None, agent)
    if traj.provenance.model:
        body["agent"]["model_name"] = traj.provenance.model
    nex: dict[str, Any] = {
        "schema_version": traj.schema_version,
        "id": traj.id,
        "provenance": traj.provenance.model_dump(mode="json", exclude_none=True),
        "task": traj.task.model_dump(mode="json", exclude_none=True),
        "root_agent": traj.root_agent,
        "started_at": traj.started_at.isoformat(),
    }
    if traj.ended_at is not None:
        nex["ended_at"] = traj.ended_at.isoformat()
    if traj.outcome is not None:
        nex["outcome"] = traj.outcome.model_dump(mode="json", exclude_none=True)
        exporter.notes["the outcome, its rewards and labels (in extra.nex.outcome)"] += 1
    if traj.metadata:
        nex["metadata"] = traj.metadata
    usage = [s.response.usage for s in traj.steps if isinstance(s, LLMStep) and s.response
             and s.response.usage]
    final: dict[str, Any] = {"total_steps": len(body["steps"])}
    if usage:
        final["total_prompt_tokens"] = sum(u.prompt_tokens for u in usage)
        final["total_completion_tokens"] = sum(u.completion_tokens for u in usage)
        cached = [u.cached_tokens for u in usage if u.cached_tokens is not None]
        if cached:
            final["total_cached_tokens"] = sum(cached)
    doc: dict[str, Any] = {
        "schema_version": ATIF_VERSION,
        "session_id": traj.id,
        "trajectory_id": traj.id,
        **body,
        "final_metrics": final,
        "extra": {"nex": nex},
    }
    exporter.notes["step ids, end times and latencies (not kept)"] += 1
    doc["notes"] = "Written by nex. Not in ATIF's own fields: " + "; ".join(
        f"{what}: {n}" for what, n in sorted(exporter.notes.items())
    )
    return doc
