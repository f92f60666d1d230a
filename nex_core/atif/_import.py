"""ATIF → nex: an ATIF document (already validated) as a :class:`Trajectory`, and what of it nex
cannot hold.

The conversation is rebuilt as ATIF lays it out: system and user steps are messages sent to the
model; an agent step is a model call whose request is the conversation so far and whose answer
is the step's message, reasoning and tool calls; its observation results are the tool results
(tool steps, linked by ``source_call_id``) and, with ``subagent_trajectory_ref``, sub-agent
invocations whose embedded trajectories become the sub-agent step's own steps. Documents that
nex wrote carry ``extra.nex`` (step status and errors, outcome, provenance ...), read back so
the round trip is exact under ``normalize()``; from other writers, whatever has no nex field
(costs, multimodal parts, file-referenced sub-agents ...) is kept in ``metadata["atif"]`` or
named in the returned notes.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from nex_core.trajectory.schema import (
    ErrorInfo,
    InputStep,
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    Step,
    StepStatus,
    SubAgentStep,
    TaskInfo,
    Tokens,
    ToolCall,
    ToolSchema,
    ToolStep,
    TopLogprobs,
    Trajectory,
    Usage,
)


def _time(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _text(message: Any, notes: Counter[str]) -> str | list[dict[str, Any]]:
    if isinstance(message, str):
        return message
    parts = []
    for part in message:
        if part.get("type") == "text":
            parts.append({"type": "text", "text": part.get("text", "")})
        else:
            parts.append(dict(part))
            notes[f"{part.get('type')} content parts (kept as content parts)"] += 1
    return parts


def _tool_schema(definition: dict[str, Any]) -> ToolSchema:
    function = definition.get("function", definition)
    return ToolSchema(
        name=function.get("name", ""),
        description=function.get("description", "") or "",
        parameters=function.get("parameters") or {"type": "object", "properties": {}},
    )


def _status(nex: dict[str, Any], step: Any) -> None:
    if "status" in nex:
        step.status = StepStatus(nex["status"])
    if "error" in nex:
        step.error = ErrorInfo.model_validate(nex["error"])
    step.rewards = nex.get("rewards")
    step.labels = nex.get("labels")
    if nex.get("metadata"):
        step.metadata.update(nex["metadata"])


def _metrics(metrics: dict[str, Any] | None) -> tuple[Usage | None, Tokens | None]:
    if not metrics:
        return None, None
    usage = None
    if metrics.get("prompt_tokens") is not None or metrics.get("completion_tokens") is not None:
        prompt = metrics.get("prompt_tokens") or 0
        completion = metrics.get("completion_tokens") or 0
        usage = Usage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
            cached_tokens=metrics.get("cached_tokens"),
        )
    tokens = None
    ids = ("prompt_token_ids", "completion_token_ids", "logprobs")
    top = (metrics.get("extra") or {}).get("top_logprobs")
    if any(metrics.get(k) is not None for k in ids) or top is not None:
        tokens = Tokens(
            prompt_token_ids=metrics.get("prompt_token_ids"),
            completion_token_ids=metrics.get("completion_token_ids"),
            logprobs=metrics.get("logprobs"),
            top_logprobs=TopLogprobs.model_validate(top) if top is not None else None,
        )
    return usage, tokens


class _Importer:
    def __init__(self, doc: dict[str, Any], started: datetime) -> None:
        self.doc = doc
        self.started = started
        self.steps: list[Step] = []
        self.notes: Counter[str] = Counter()
        self._ids = 0

    def new_id(self) -> str:
        self._ids += 1
        return f"s{self._ids}"

    def invocation(self, doc: dict[str, Any], parent: str | None, agent: str) -> None:
        """Add the steps of one ATIF trajectory (an invocation) under ``parent``."""
        tools = [_tool_schema(t) for t in doc["agent"].get("tool_definitions") or []]
        embedded = {s["trajectory_id"]: s for s in doc.get("subagent_trajectories") or []}
        conversation: list[Message] = []
        for atif in doc["steps"]:
            source = atif["source"]
            observation = atif.get("observation")
            given = ((atif.get("extra") or {}).get("nex") or {}).get("input")
            if source == "system" and given is not None:
                started = _time(atif.get("timestamp"), self.started)
                step = InputStep(
                    id=self.new_id(), parent_id=parent, agent=given.get("agent", agent),
                    started_at=started, ended_at=started, status=StepStatus.OK,
                    mode=given.get("mode", "input"), value=given.get("value"),
                )
                _status(given, step)
                self.steps.append(step)
                continue
            if source in ("system", "user") and observation is None:
                content = _text(atif["message"], self.notes)
                conversation.append(Message(role=source, content=content))
                continue
            if source == "agent" and atif.get("llm_call_count") != 0:
                conversation = self._model_call(atif, parent, agent, tools, conversation)
            elif source == "agent":  # a deterministic dispatch: no model call
                message = Message.assistant(
                    atif["message"] or None, self._calls(atif) or None
                )
                conversation.append(message)
                self.notes["agent steps without a model call (kept as history)"] += 1
            elif source == "user":
                self.notes["observations on user steps (not kept)"] += 1
                continue
            for result in (observation or {}).get("results", []):
                tool = self._result(result, atif, parent, agent, embedded)
                if tool is not None:
                    conversation.append(tool)

    def _calls(self, atif: dict[str, Any]) -> list[ToolCall]:
        calls = []
        for call in atif.get("tool_calls") or []:
            raw = ((call.get("extra") or {}).get("nex") or {}).get("raw_arguments")
            calls.append(
                ToolCall.make(call["tool_call_id"], call["function_name"],
                              raw if raw is not None else call["arguments"])
            )
        return calls

    def _model_call(
        self,
        atif: dict[str, Any],
        parent: str | None,
        agent: str,
        tools: list[ToolSchema],
        conversation: list[Message],
    ) -> list[Message]:
        nex = (atif.get("extra") or {}).get("nex") or {}
        if "request" in nex:
            request = [Message.model_validate(m) for m in nex["request"]]
        else:
            request = list(conversation)
        if "tools" in nex:
            step_tools = [ToolSchema.model_validate(t) for t in nex["tools"]]
        else:
            step_tools = list(tools)
        started = _time(atif.get("timestamp"), self.started)
        step = LLMStep(
            id=self.new_id(), parent_id=parent, agent=nex.get("agent", agent), started_at=started,
            ended_at=started, status=StepStatus.OK, model=atif.get("model_name"),
            request=LLMRequest(messages=request, tools=step_tools, params=nex.get("params", {})),
        )
        _status(nex, step)
        self._atif_metadata(atif, step)
        if not nex.get("no_response"):
            if "message" in nex:
                message = Message.model_validate(nex["message"])
            else:
                message = Message.assistant(
                    _text(atif["message"], self.notes) or None,  # type: ignore[arg-type]
                    self._calls(atif) or None,
                    reasoning=atif.get("reasoning_content"),
                )
            usage, tokens = _metrics(atif.get("metrics"))
            step.response = LLMResponse(
                message=message, finish_reason=nex.get("finish_reason"), usage=usage,
                tokens=tokens,
            )
        self.steps.append(step)
        return request + ([step.response.message] if step.response else [])

    def _atif_metadata(self, atif: dict[str, Any], step: Step) -> None:
        kept = {k: atif[k] for k in ("reasoning_effort", "is_copied_context") if atif.get(k)}
        if atif.get("llm_call_count", 1) > 1:
            kept["llm_call_count"] = atif["llm_call_count"]
        metrics = atif.get("metrics") or {}
        if metrics.get("cost_usd") is not None:
            kept["cost_usd"] = metrics["cost_usd"]
        extra = {k: v for k, v in (atif.get("extra") or {}).items() if k != "nex"}
        if extra:
            kept["extra"] = extra
        if kept:
            step.metadata["atif"] = kept
            for key in kept:
                self.notes[f"step {key} (kept in metadata['atif'])"] += 1

    def _result(
        self,
        result: dict[str, Any],
        atif: dict[str, Any],
        parent: str | None,
        agent: str,
        embedded: dict[str, dict[str, Any]],
    ) -> Message | None:
        """The tool and sub-agent steps of one observation result; the tool message the model
        will see next, if it is one."""
        extra = result.get("extra") or {}
        nex = extra.get("nex")
        sub = extra.get("subagent")
        call_id = result.get("source_call_id")
        calls = {c["tool_call_id"]: c for c in atif.get("tool_calls") or []}
        content = result.get("content")
        text = content if isinstance(content, str) else None
        if content is not None and not isinstance(content, str):
            text = "".join(str(p.get("text", "")) for p in content)
            self.notes["multimodal tool results (their text kept)"] += 1
        refs = result.get("subagent_trajectory_ref") or []
        started = _time(atif.get("timestamp"), self.started)
        tool_step = None
        if nex is not None or (call_id is not None and not (refs and sub)):
            tool_step = self._tool_step(
                nex or {}, call_id, calls.get(call_id or ""), text, parent, agent, started
            )
        for ref in refs:
            self._subagent_step(ref, sub or {}, call_id, text, tool_step, parent, agent,
                                embedded, started)
        if call_id is not None and text is not None:
            return Message.tool(call_id, text)
        return None

    def _tool_step(
        self,
        nex: dict[str, Any],
        call_id: str | None,
        call: dict[str, Any] | None,
        text: str | None,
        parent: str | None,
        agent: str,
        started: datetime,
    ) -> ToolStep:
        call_id = call_id if call_id is not None else nex.get("call_id")
        name = nex.get("tool") or (call["function_name"] if call else "")
        arguments = nex["arguments"] if "arguments" in nex else (call or {}).get("arguments")
        step = ToolStep(
            id=self.new_id(), parent_id=parent, agent=nex.get("agent", agent), started_at=started,
            ended_at=started, status=StepStatus.OK, call_id=call_id, name=name, arguments=arguments,
            raw_arguments=nex.get("raw_arguments"),
        )
        _status(nex, step)
        if step.error is None:
            step.result = nex.get("result", text)
        self.steps.append(step)
        return step

    def _subagent_step(
        self,
        ref: dict[str, Any],
        sub: dict[str, Any],
        call_id: str | None,
        text: str | None,
        tool_step: ToolStep | None,
        parent: str | None,
        agent: str,
        embedded: dict[str, dict[str, Any]],
        started: datetime,
    ) -> None:
        child_doc = embedded.get(ref.get("trajectory_id") or "")
        child = sub.get("child") or (child_doc["agent"]["name"] if child_doc else "subagent")
        under = tool_step.id if (tool_step is not None and sub.get("under_tool", True)) else parent
        step = SubAgentStep(
            id=self.new_id(), parent_id=under, agent=sub.get("agent", agent), started_at=started,
            ended_at=started, status=StepStatus.OK, child=child, mode=sub.get("mode", "tool"),
            call_id=call_id if call_id is not None else sub.get("call_id"),
            input=[Message.model_validate(m) for m in sub.get("input", [])],
            output=sub.get("output", text),
        )
        _status(sub, step)
        self.steps.append(step)
        if child_doc is not None:
            self.invocation(child_doc, step.id, child)
        else:
            step.metadata["atif"] = {"subagent_trajectory_ref": ref}
            self.notes["sub-agent trajectories referenced by path (not read)"] += 1


def from_atif(doc: dict[str, Any]) -> tuple[Trajectory, list[str]]:
    """A validated ATIF document as a trajectory, and notes on what nex could not hold."""
    from nex_core import __version__

    nex = (doc.get("extra") or {}).get("nex") or {}
    started = _time(nex.get("started_at"), datetime.now(UTC))
    importer = _Importer(doc, started)
    agent = doc["agent"]
    root = nex.get("root_agent", agent["name"])
    importer.invocation(doc, None, root)
    if "provenance" in nex:
        provenance = Provenance.model_validate(nex["provenance"])
    else:
        provenance = Provenance(
            framework="atif", adapter=agent["name"], adapter_version=agent.get("version"),
            nex_version=__version__, model=agent.get("model_name"),
        )
    if "task" in nex:
        task = TaskInfo.model_validate(nex["task"])
    else:
        turns = [s["message"] for s in doc["steps"] if s["source"] == "user"
                 and isinstance(s["message"], str) and s.get("observation") is None]
        task = TaskInfo(id=doc.get("session_id"), turns=turns)
    if "outcome" in nex:
        outcome = Outcome.model_validate(nex["outcome"])
    else:
        answers = [s for s in importer.steps if isinstance(s, LLMStep) and s.parent_id is None
                   and s.response is not None]
        final = answers[-1].response.message.text() if answers and answers[-1].response else None
        outcome = Outcome(status=OutcomeStatus.COMPLETED, final_output=final)
    metadata = dict(nex.get("metadata") or {})
    atif_only = {k: doc[k] for k in ("continued_trajectory_ref", "final_metrics") if doc.get(k)}
    foreign_extra = {k: v for k, v in (doc.get("extra") or {}).items() if k != "nex"}
    if foreign_extra:
        atif_only["extra"] = foreign_extra
    if atif_only and not nex:
        metadata["atif"] = atif_only
    trajectory = Trajectory(
        schema_version=nex.get("schema_version", 2),
        id=nex.get("id") or doc.get("trajectory_id") or doc.get("session_id") or "atif",
        provenance=provenance, task=task, root_agent=root, started_at=started,
        ended_at=_time(nex.get("ended_at"), started), steps=importer.steps, outcome=outcome,
        metadata=metadata,
    )
    notes = [f"{what}: {n}" for what, n in sorted(importer.notes.items())]
    return trajectory, notes

