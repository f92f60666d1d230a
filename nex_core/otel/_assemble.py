"""One trace's spans as one trajectory, with a report of what the spans lacked.

Spans are classified by the GenAI conventions (``gen_ai.operation.name``) or OpenInference
(``openinference.span.kind``): model calls become LLM steps, tool executions tool steps, agent
invocations below the trace's root sub-agent steps. Spans of other kinds (OpenInference CHAIN,
HTTP spans ...) are passed through: their children hang under the nearest span that became a
step. The report lists what could not be recovered (content not captured, no tool schemas,
unknown span kinds, missing parents, cycles, duplicate ids, dropped oversized attributes); the
trajectory keeps it under ``metadata["otlp"]``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from nex_core._version import __version__
from nex_core.otel import _openinference as oi
from nex_core.otel import semconv as sc
from nex_core.otel._messages import (
    MessageShapeError,
    PrefixParser,
    messages_from_genai,
    tools_from_genai,
)
from nex_core.otel._wire import STATUS_ERROR, SpanRecord
from nex_core.trajectory.schema import (
    ErrorInfo,
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    StepStatus,
    SubAgentStep,
    TaskInfo,
    ToolCall,
    ToolSchema,
    ToolStep,
    Trajectory,
    Usage,
)

AnyStep = LLMStep | ToolStep | SubAgentStep
METADATA_KEY = "otlp"
_STEP_STATUSES = frozenset(s.value for s in StepStatus)
_OUTCOME_STATUSES = frozenset(s.value for s in OutcomeStatus)


@dataclass
class ImportReport:
    """What one trace gave and what its spans lacked."""

    trace_id: str
    trajectory_id: str
    spans: int = 0
    steps: int = 0
    instrumentors: list[str] = field(default_factory=list)
    lacks: Counter[str] = field(default_factory=Counter)

    def lack(self, what: str) -> None:
        self.lacks[what] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "trajectory_id": self.trajectory_id,
            "spans": self.spans,
            "steps": self.steps,
            "instrumentors": list(self.instrumentors),
            "lacks": [
                f"{what} (x{n})" if n > 1 else what for what, n in sorted(self.lacks.items())
            ],
        }


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1000
    )


def classify(span: SpanRecord) -> str:
    """``llm``, ``tool``, ``agent``, ``chain`` (glue), ``skip`` (agent creation) or ``unknown:…``
    (a kind nex has no step for) or ``other`` (no GenAI or OpenInference kind at all)."""
    op = span.attributes.get(sc.OPERATION_NAME)
    if isinstance(op, str):
        if op in sc.MODEL_OPERATIONS:
            return "llm"
        if op == sc.OP_EXECUTE_TOOL:
            return "tool"
        if op == sc.OP_INVOKE_AGENT:
            return "agent"
        if op == sc.OP_CREATE_AGENT:
            return "skip"
        return f"unknown:gen_ai.operation.name={op}"
    kind = span.attributes.get(sc.OI_SPAN_KIND)
    if isinstance(kind, str):
        kind = kind.upper()
        mapping = {sc.OI_LLM: "llm", sc.OI_TOOL: "tool", sc.OI_AGENT: "agent", sc.OI_CHAIN: "chain"}
        return mapping.get(kind, f"unknown:openinference.span.kind={kind}")
    return "other"


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) + 1 :] if name.startswith(prefix + " ") else name


def _agent_name(span: SpanRecord) -> str:
    for key in (sc.AGENT_NAME, sc.OI_AGENT_NAME):
        value = span.attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return _strip(span.name, sc.OP_INVOKE_AGENT) or "agent"


def _framework(scope: str) -> str:
    if scope.startswith("openinference.instrumentation."):
        return scope.rsplit(".", 1)[-1].replace("_", "-")
    if scope.startswith("autogen"):
        return "autogen"
    if scope.startswith("agent_framework"):
        return "agent-framework"
    return scope or "unknown"


class _Tree:
    """Parents, roots and the order of a trace's spans, with its damage repaired and reported."""

    def __init__(self, spans: list[SpanRecord], report: ImportReport) -> None:
        self.by_id: dict[str, SpanRecord] = {}
        for span in spans:
            if span.span_id in self.by_id:
                report.lack(f"duplicate span id {span.span_id} (the later copy was dropped)")
                continue
            self.by_id[span.span_id] = span
        self.parent: dict[str, str | None] = {}
        for span in self.by_id.values():
            parent = span.parent_id
            if parent is not None and parent not in self.by_id:
                report.lack(f"span '{span.name}' has a parent that is not in the trace")
                parent = None
            self.parent[span.span_id] = parent
        self._break_cycles(report)
        roots = [s for s in self.by_id.values() if self.parent[s.span_id] is None]
        roots.sort(key=lambda s: (s.start_ns, -s.end_ns))
        self.root = roots[0]
        for other in roots[1:]:  # several roots: the first is the run, the others hang under it
            self.parent[other.span_id] = self.root.span_id
        self.children: dict[str, list[SpanRecord]] = {}
        for span in self.by_id.values():
            parent = self.parent[span.span_id]
            if parent is not None:
                self.children.setdefault(parent, []).append(span)
        for kids in self.children.values():
            kids.sort(key=lambda s: (s.start_ns, s.span_id))

    def _break_cycles(self, report: ImportReport) -> None:
        settled: set[str] = set()
        for start in self.by_id:
            path: list[str] = []
            on_path: set[str] = set()
            node: str | None = start
            while node is not None and node not in settled:
                if node in on_path:
                    report.lack(
                        f"spans whose parents form a cycle; cut at '{self.by_id[node].name}'"
                    )
                    self.parent[node] = None
                    break
                on_path.add(node)
                path.append(node)
                node = self.parent[node]
            settled.update(path)


class _Builder:
    def __init__(self, spans: list[SpanRecord]) -> None:
        trace_id = spans[0].trace_id
        self.report = ImportReport(trace_id=trace_id, trajectory_id=trace_id, spans=len(spans))
        self.tree = _Tree(spans, self.report)
        self.steps: list[AnyStep] = []
        self.inputs = PrefixParser()
        self.pending_calls: list[ToolCall] = []
        """Tool calls of the latest model reply, for tool spans that carry no call id."""
        scopes = {(s.scope, s.scope_version) for s in self.tree.by_id.values()}
        self.report.instrumentors = sorted(f"{n} {v}".strip() for n, v in scopes if n)
        for span in self.tree.by_id.values():
            for what in span.dropped:
                self.report.lack(f"oversized attribute dropped: {what}")

    # ------------------------------------------------------------------ the walk

    def build(self) -> Trajectory:
        root = self.tree.root
        kind = classify(root)
        nex_root = sc.NEX_TRAJECTORY_ID in root.attributes
        if kind in ("llm", "tool"):  # a bare model or tool call: the run is implicit
            root_agent = None
            self._walk_span(root, None, None)
        else:
            root_agent = _agent_name(root) if kind == "agent" else (root.name or None)
            self._note_kind(kind)
            self._walk_children(root, None, root_agent)
        if not any(isinstance(s, LLMStep) for s in self.steps):
            self.report.lack("no model-call spans (the instrumentation records none)")
        traj = Trajectory(
            id=str(root.attributes.get(sc.NEX_TRAJECTORY_ID) or root.trace_id),
            provenance=self._provenance(root),
            task=self._task(root),
            root_agent=str(root.attributes.get(sc.NEX_STEP_AGENT) or root_agent)
            if root_agent
            else None,
            started_at=_time(root.start_ns),
            ended_at=_time(root.end_ns) if root.end_ns else None,
            steps=[*self.steps],
            outcome=self._outcome(root, nex_root),
        )
        self.report.trajectory_id = traj.id
        self.report.steps = len(self.steps)
        traj.metadata[METADATA_KEY] = self.report.as_dict()
        return traj

    def _note_kind(self, kind: str) -> None:
        if kind.startswith("unknown:"):
            self.report.lack(f"unknown span kind {kind.partition(':')[2]} (passed through)")
        elif kind == "other":
            self.report.lack("span with no GenAI or OpenInference kind (passed through)")

    def _walk_children(self, span: SpanRecord, parent_step: str | None, agent: str | None) -> None:
        for child in self.tree.children.get(span.span_id, []):
            self._walk_span(child, parent_step, agent)

    def _walk_span(self, span: SpanRecord, parent_step: str | None, agent: str | None) -> None:
        kind = classify(span)
        step: AnyStep | None = None
        child_agent = agent
        if kind == "llm":
            step = self._llm(span, parent_step, agent)
        elif kind == "tool":
            step = self._tool(span, parent_step, agent)
        elif kind == "agent":
            sub = self._subagent(span, parent_step, agent)
            step, child_agent = sub, sub.child
        elif kind == "skip":
            return
        else:
            self._note_kind(kind)
        if step is not None:
            self.steps.append(step)
            parent_step = step.id
        self._walk_children(span, parent_step, child_agent)

    # ------------------------------------------------------------------ steps

    def _base(self, span: SpanRecord, parent: str | None, agent: str | None) -> dict[str, Any]:
        a = span.attributes
        status = StepStatus.OK
        error = None
        if span.status_code == STATUS_ERROR:
            status = StepStatus.ERROR
            error = self._error(span)
        recorded = a.get(sc.NEX_STEP_STATUS)
        if isinstance(recorded, str) and recorded in _STEP_STATUSES:
            status = StepStatus(recorded)
        return {
            "id": str(a.get(sc.NEX_STEP_ID) or span.span_id),
            "parent_id": parent,
            "agent": str(a.get(sc.NEX_STEP_AGENT) or agent)
            if (a.get(sc.NEX_STEP_AGENT) or agent)
            else None,
            "started_at": _time(span.start_ns),
            "ended_at": _time(span.end_ns) if span.end_ns else None,
            "status": status,
            "error": error,
            "metadata": {"otel_span_id": span.span_id},
        }

    def _error(self, span: SpanRecord) -> ErrorInfo:
        kind = span.attributes.get(sc.ERROR_TYPE)
        message = span.status_message
        for name, attrs in span.events:
            if name == "exception":
                kind = kind or attrs.get("exception.type")
                message = message or str(attrs.get("exception.message") or "")
        return ErrorInfo(type=str(kind or "error"), message=message or "the span ended in error")

    def _llm(self, span: SpanRecord, parent: str | None, agent: str | None) -> LLMStep:
        a = span.attributes
        base = self._base(span, parent, agent)
        params: dict[str, Any] = {}
        if sc.INPUT_MESSAGES in a or sc.OPERATION_NAME in a:
            messages, tools, response = self._genai_content(span)
            for key, name in sc.REQUEST_PARAMS.items():
                if name in a:
                    params[key] = a[name]
            extra = a.get(sc.NEX_REQUEST_PARAMS)
            if isinstance(extra, str):
                try:
                    params.update(json.loads(extra))
                except ValueError:
                    self.report.lack(f"{sc.NEX_REQUEST_PARAMS} is not JSON")
            finish = a.get(sc.RESPONSE_FINISH_REASONS)
            finish_reason = str(finish[0]) if isinstance(finish, list) and finish else None
            usage_in, usage_out = a.get(sc.USAGE_INPUT_TOKENS), a.get(sc.USAGE_OUTPUT_TOKENS)
            cached = a.get(sc.USAGE_CACHE_READ_TOKENS)
            model = a.get(sc.RESPONSE_MODEL) or a.get(sc.REQUEST_MODEL)
        else:
            messages = oi.messages(a, sc.OI_INPUT_MESSAGES)
            tools = oi.tools(a)
            outputs = oi.messages(a, sc.OI_OUTPUT_MESSAGES)
            response = outputs[0] if outputs else None
            if not messages:
                self.report.lack("model call without input messages (content not captured)")
            if response is None and base["status"] is StepStatus.OK:
                self.report.lack("model call without output messages (content not captured)")
            params = oi.invocation_params(a)
            finish_reason = a.get(sc.OI_FINISH_REASON)
            usage_in, usage_out = a.get(sc.OI_TOKENS_PROMPT), a.get(sc.OI_TOKENS_COMPLETION)
            cached = a.get(sc.OI_TOKENS_CACHE_READ)
            model = a.get(sc.OI_MODEL_NAME)
        if not tools and (self._has_tool_spans() or (response and response.tool_calls)):
            self.report.lack("model call without tool schemas")
        usage = None
        if isinstance(usage_in, int) or isinstance(usage_out, int):
            i, o = int(usage_in or 0), int(usage_out or 0)
            usage = Usage(
                prompt_tokens=i,
                completion_tokens=o,
                total_tokens=i + o,
                cached_tokens=cached if isinstance(cached, int) and cached >= 0 else None,
            )
        if response is not None and response.role != "assistant":
            response = response.model_copy(update={"role": "assistant"})
        self.pending_calls = list(response.tool_calls or []) if response else []
        return LLMStep(
            **base,
            model=str(model) if model else None,
            request=LLMRequest(messages=messages, tools=tools, params=params),
            response=None
            if response is None
            else LLMResponse(
                message=response,
                finish_reason=str(finish_reason) if finish_reason else None,
                usage=usage,
            ),
        )

    def _genai_content(
        self, span: SpanRecord
    ) -> tuple[list[Message], list[ToolSchema], Message | None]:
        a = span.attributes
        messages: list[Message] = []
        tools: list[ToolSchema] = []
        response = None
        try:
            if isinstance(a.get(sc.INPUT_MESSAGES), str):
                messages = list(self.inputs.parse(a[sc.INPUT_MESSAGES]))
            else:
                self.report.lack("model call without input messages (content not captured)")
            system = a.get(sc.SYSTEM_INSTRUCTIONS)
            if isinstance(system, str) and not any(m.role == "system" for m in messages):
                parts = json.loads(system)
                text = (
                    "".join(str(p.get("content", "")) for p in parts if isinstance(p, dict))
                    if isinstance(parts, list)
                    else str(parts)
                )
                messages.insert(0, Message.system(text))
            if isinstance(a.get(sc.TOOL_DEFINITIONS), str):
                tools = tools_from_genai(a[sc.TOOL_DEFINITIONS])
            if isinstance(a.get(sc.OUTPUT_MESSAGES), str):
                outputs = messages_from_genai(a[sc.OUTPUT_MESSAGES])
                response = outputs[0] if outputs else None
            elif span.status_code != STATUS_ERROR:
                self.report.lack("model call without output messages (content not captured)")
        except (MessageShapeError, ValidationError, ValueError) as exc:
            self.report.lack(f"span '{span.name}': unreadable message content ({exc})")
        return messages, tools, response

    def _has_tool_spans(self) -> bool:
        if not hasattr(self, "_tool_spans"):
            self._tool_spans = any(classify(s) == "tool" for s in self.tree.by_id.values())
        return self._tool_spans

    def _tool(self, span: SpanRecord, parent: str | None, agent: str | None) -> ToolStep:
        a = span.attributes
        base = self._base(span, parent, agent)
        name = str(
            a.get(sc.TOOL_NAME) or a.get(sc.OI_TOOL_NAME) or _strip(span.name, sc.OP_EXECUTE_TOOL)
        )
        call_id = a.get(sc.TOOL_CALL_ID) or a.get(sc.OI_TOOL_CALL_ID)
        arguments: Any = None
        raw: str | None = None
        result: Any = None
        ok = base["status"] is StepStatus.OK
        if sc.OPERATION_NAME in a:
            text = a.get(sc.TOOL_CALL_ARGUMENTS)
            raw = (
                a.get(sc.NEX_RAW_ARGUMENTS)
                if isinstance(a.get(sc.NEX_RAW_ARGUMENTS), str)
                else None
            )
            if isinstance(text, str):
                arguments = oi.value_text(text)
            elif raw is None:
                self.report.lack("tool call without arguments (content not captured)")
            if isinstance(a.get(sc.TOOL_CALL_RESULT), str):
                result = oi.value_text(a[sc.TOOL_CALL_RESULT])
            elif ok:
                self.report.lack("tool call without a result (content not captured)")
        else:
            value = a.get(sc.OI_INPUT_VALUE)
            arguments = oi.value_text(value) if value is not None else None
            if value is None:
                self.report.lack("tool call without arguments (content not captured)")
            found_id, result = oi.tool_message_of(a.get(sc.OI_OUTPUT_VALUE))
            if a.get(sc.OI_OUTPUT_VALUE) is None and ok:
                self.report.lack("tool call without a result (content not captured)")
            call_id = call_id or found_id
        if isinstance(arguments, str):  # arguments that are not a JSON object stay raw
            raw, arguments = arguments, None
        elif arguments is not None and not isinstance(arguments, dict):
            raw, arguments = json.dumps(arguments), None
        if not call_id:
            call_id = self._match_call(name, arguments)
            if call_id is None:
                self.report.lack("tool call without a call id")
        return ToolStep(
            **base,
            call_id=str(call_id) if call_id else None,
            name=name,
            arguments=arguments,
            raw_arguments=raw,
            result=result if ok else None,
            latency_ms=(span.end_ns - span.start_ns) / 1e6 if span.end_ns else None,
        )

    def _match_call(self, name: str, arguments: dict[str, Any] | None) -> str | None:
        """The call id of the latest model reply's call this tool span answers (same name, and
        the same arguments where several calls share it); each call is matched once."""
        same = [c for c in self.pending_calls if c.function.name == name]
        if len(same) > 1 and arguments is not None:
            same = [c for c in same if _parsed(c) == arguments] or same
        if not same:
            return None
        self.pending_calls.remove(same[0])
        return same[0].id

    def _subagent(self, span: SpanRecord, parent: str | None, agent: str | None) -> SubAgentStep:
        a = span.attributes
        base = self._base(span, parent, agent)
        child = _agent_name(span)
        inputs: list[Message] = []
        output: str | None = None
        try:
            if isinstance(a.get(sc.INPUT_MESSAGES), str):
                inputs = messages_from_genai(a[sc.INPUT_MESSAGES])
            elif isinstance(a.get(sc.OI_INPUT_VALUE), str):
                inputs = [Message.user(a[sc.OI_INPUT_VALUE])]
            if isinstance(a.get(sc.OUTPUT_MESSAGES), str):
                outs = messages_from_genai(a[sc.OUTPUT_MESSAGES])
                output = "".join(m.text() for m in outs) if outs else None
            elif isinstance(a.get(sc.OI_OUTPUT_VALUE), str):
                output = a[sc.OI_OUTPUT_VALUE]
        except (MessageShapeError, ValidationError) as exc:
            self.report.lack(f"span '{span.name}': unreadable message content ({exc})")
        if not inputs and output is None:
            self.report.lack("sub-agent call without input or output (content not captured)")
        mode = a.get(sc.NEX_SUBAGENT_MODE)
        return SubAgentStep(
            **base,
            child=child,
            mode=mode if mode in ("tool", "handoff", "team_turn") else "tool",
            call_id=str(a[sc.NEX_CALL_ID]) if a.get(sc.NEX_CALL_ID) else None,
            input=inputs,
            output=output,
        )

    # ------------------------------------------------------------------ the run

    def _provenance(self, root: SpanRecord) -> Provenance:
        recorded = root.attributes.get(sc.NEX_PROVENANCE)
        if isinstance(recorded, str):
            try:
                return Provenance.model_validate_json(recorded)
            except ValidationError:
                self.report.lack(f"{sc.NEX_PROVENANCE} is not a provenance record")
        scopes = [s for s in self.report.instrumentors]
        name = root.scope or (scopes[0].split(" ")[0] if scopes else "")
        model = next((s.model for s in self.steps if isinstance(s, LLMStep) and s.model), None)
        return Provenance(
            framework=_framework(name),
            framework_version=None,
            adapter="otlp",
            adapter_version=__version__,
            nex_version=__version__,
            model=model,
        )

    def _task(self, root: SpanRecord) -> TaskInfo:
        a = root.attributes
        task_id = a.get(sc.NEX_TASK_ID)
        turns_attr = a.get(sc.NEX_TASK_TURNS)
        turns: list[str] = []
        if isinstance(turns_attr, str):
            try:
                turns = [str(t) for t in json.loads(turns_attr)]
            except (ValueError, TypeError):
                turns = []
        elif isinstance(a.get(sc.INPUT_MESSAGES), str):
            try:
                turns = [
                    m.text() for m in messages_from_genai(a[sc.INPUT_MESSAGES]) if m.role == "user"
                ]
            except MessageShapeError:
                turns = []
        else:
            turns = [m.text() for m in oi.messages(a, sc.OI_INPUT_MESSAGES) if m.role == "user"]
            if not turns and isinstance(a.get(sc.OI_INPUT_VALUE), str):
                value = oi.value_text(a[sc.OI_INPUT_VALUE])
                if isinstance(value, str):
                    turns = [value]
        if not turns:
            first = next((s for s in self.steps if isinstance(s, LLMStep)), None)
            turns = [
                m.text() for m in (first.request.messages if first else []) if m.role == "user"
            ]
            self.report.lack(
                "the run's input is not on its root span (taken from the first model call)"
                if turns
                else "the run's input was not captured"
            )
        return TaskInfo(id=str(task_id) if task_id is not None else None, turns=turns)

    def _outcome(self, root: SpanRecord, nex_root: bool) -> Outcome:
        a = root.attributes
        status = (
            OutcomeStatus.ERROR if root.status_code == STATUS_ERROR else OutcomeStatus.COMPLETED
        )
        recorded = a.get(sc.NEX_OUTCOME_STATUS)
        if isinstance(recorded, str) and recorded in _OUTCOME_STATUSES:
            status = OutcomeStatus(recorded)
        final: str | None = None
        if isinstance(a.get(sc.NEX_FINAL_OUTPUT), str):
            final = a[sc.NEX_FINAL_OUTPUT]
        elif isinstance(a.get(sc.OUTPUT_MESSAGES), str):
            try:
                outs = messages_from_genai(a[sc.OUTPUT_MESSAGES])
                final = "".join(m.text() for m in outs) if outs else None
            except MessageShapeError:
                final = None
        else:
            outs = oi.messages(a, sc.OI_OUTPUT_MESSAGES)
            if outs:
                final = outs[-1].text()
            elif isinstance(a.get(sc.OI_OUTPUT_VALUE), str) and isinstance(
                oi.value_text(a[sc.OI_OUTPUT_VALUE]), str
            ):
                final = a[sc.OI_OUTPUT_VALUE]
        if final is None and status is OutcomeStatus.COMPLETED:
            last = next(
                (s for s in reversed(self.steps) if isinstance(s, LLMStep) and s.response), None
            )
            if nex_root:  # nex wrote the run without content: say so, infer nothing
                self.report.lack("the run's output was not captured")
            elif (
                last is not None
                and last.response is not None
                and not last.response.message.tool_calls
            ):
                final = last.response.message.text()
                self.report.lack(
                    "the run's output is not on its root span (taken from the last model reply)"
                )
            else:
                self.report.lack("the run's output was not captured")
        stop = a.get(sc.NEX_STOP_REASON)
        error = self._error(root) if status is OutcomeStatus.ERROR else None
        return Outcome(
            status=status,
            final_output=final,
            stop_reason=str(stop)
            if stop
            else ("final_answer" if status is OutcomeStatus.COMPLETED else None),
            error=error,
        )


def _parsed(call: ToolCall) -> Any:
    try:
        return call.parsed_arguments()
    except ValueError:
        return None


RUN_KINDS = frozenset({"llm", "tool", "agent", "chain"})


def assemble(spans: list[SpanRecord]) -> Trajectory | None:
    """The trajectory of one trace's spans (all of one trace id), its report in
    ``metadata["otlp"]``; None for a trace with no agent run in it (only agent creation, or
    no GenAI or OpenInference span at all: an app's HTTP traces)."""
    if not any(classify(s) in RUN_KINDS for s in spans):
        return None
    return _Builder(spans).build()
