"""The trajectory schema: one record per run, the same for every framework.

Steps form a tree through ``parent_id`` and are stored flat, in start order, so a trajectory can be
written and read as one JSON line. Messages follow the OpenAI chat shape because that is what
trainers and chat templates read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TRAJECTORY_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


# --------------------------------------------------------------------------- messages


class FunctionCall(_Record):
    name: str
    """Tool name as the model wrote it."""
    arguments: str
    """Arguments exactly as the model produced them: a JSON string (may be malformed)."""


class ToolCall(_Record):
    """A tool call inside an assistant message (OpenAI shape)."""

    id: str
    """Call id; tool results refer to it."""
    type: Literal["function"] = "function"
    function: FunctionCall

    @classmethod
    def make(cls, id: str, name: str, arguments: dict[str, Any] | str) -> ToolCall:
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        return cls(id=id, function=FunctionCall(name=name, arguments=arguments))

    @property
    def name(self) -> str:
        return self.function.name

    def parsed_arguments(self) -> dict[str, Any]:
        """Arguments as a dict; raises ``ValueError`` when they are not a JSON object."""
        value = json.loads(self.function.arguments or "{}")
        if not isinstance(value, dict):
            raise ValueError("tool arguments must be a JSON object")
        return value


class Message(_Record):
    """One chat message (system, user, assistant or tool)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    """Text, or OpenAI content parts; ``None`` for an assistant message with only tool calls."""
    name: str | None = None
    """Speaker name (multi-agent conversations)."""
    tool_calls: list[ToolCall] | None = None
    """Assistant only: the tools it called."""
    tool_call_id: str | None = None
    """Tool only: the call this message answers."""
    reasoning: str | None = None
    """Assistant only: reasoning text the provider returned separately from content."""

    @classmethod
    def system(cls, text: str) -> Message:
        return cls(role="system", content=text)

    @classmethod
    def user(cls, text: str, name: str | None = None) -> Message:
        return cls(role="user", content=text, name=name)

    @classmethod
    def assistant(
        cls, text: str | None = None, tool_calls: list[ToolCall] | None = None, **kw: Any
    ) -> Message:
        return cls(role="assistant", content=text, tool_calls=tool_calls or None, **kw)

    @classmethod
    def tool(cls, call_id: str, text: str) -> Message:
        return cls(role="tool", content=text, tool_call_id=call_id)

    def text(self) -> str:
        """The content as plain text (content parts joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text", "")) for p in self.content)


class ToolSchema(_Record):
    """A tool as offered to the model (OpenAI ``tools`` entry, flattened)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    def openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


class Usage(_Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


# --------------------------------------------------------------------------- steps


class StepStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    CANCELLED = "cancelled"


class ErrorInfo(_Record):
    type: str
    """Exception class name (``TimeoutError``, ``ValueError`` ...) or a nex error kind."""
    message: str
    """What went wrong."""


class LLMRequest(_Record):
    messages: list[Message]
    """Messages exactly as sent."""
    tools: list[ToolSchema] = Field(default_factory=list)
    """Tool schemas offered."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Sampling and request parameters (temperature, max_tokens, tool_choice ...)."""


class LLMResponse(_Record):
    message: Message
    """The assistant message: content, reasoning, tool calls with ids and raw arguments."""
    finish_reason: str | None = None
    usage: Usage | None = None


class _StepBase(_Record):
    id: str
    parent_id: str | None = None
    agent: str | None = None
    """Name of the agent that made this step."""
    started_at: datetime
    ended_at: datetime | None = None
    status: StepStatus = StepStatus.RUNNING
    error: ErrorInfo | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Adapter-specific extras (framework run ids ...)."""


class LLMStep(_StepBase):
    kind: Literal["llm"] = "llm"
    model: str | None = None
    request: LLMRequest
    response: LLMResponse | None = None


class ToolStep(_StepBase):
    kind: Literal["tool"] = "tool"
    call_id: str | None = None
    name: str
    arguments: dict[str, Any] | None = None
    """Parsed arguments; ``None`` when parsing failed (see ``raw_arguments``)."""
    raw_arguments: str | None = None
    """Argument text as the model wrote it, kept when it could not be parsed."""
    result: Any = None
    """What the tool returned (JSON-compatible), absent on error."""
    latency_ms: float | None = None


class SubAgentStep(_StepBase):
    kind: Literal["subagent"] = "subagent"
    child: str
    """Name of the agent invoked."""
    mode: Literal["tool", "handoff", "team_turn"]
    """How context passed: agent-as-tool, handoff, or a turn in a team."""
    call_id: str | None = None
    """The tool call that started it, when there was one."""
    input: list[Message] = Field(default_factory=list)
    """What the child received (for ``tool``: only the task message)."""
    output: str | None = None
    """What the child returned."""


Step = Annotated[LLMStep | ToolStep | SubAgentStep, Field(discriminator="kind")]


# --------------------------------------------------------------------------- run


class Provenance(_Record):
    framework: str
    framework_version: str | None = None
    adapter: str
    adapter_version: str | None = None
    nex_version: str
    spec_digest: str | None = None
    """sha256 of the canonical JSON of the agent spec."""
    model: str | None = None
    sampling: dict[str, Any] = Field(default_factory=dict)
    task_id: str | None = None


class OutcomeStatus(StrEnum):
    COMPLETED = "completed"
    MAX_STEPS = "max_steps"
    ERROR = "error"
    CANCELLED = "cancelled"


class Outcome(_Record):
    status: OutcomeStatus
    final_output: str | None = None
    stop_reason: str | None = None
    """Why the run ended (``final_answer``, ``stop_tool:NAME``, ``max_steps``, an error ...)."""
    error: ErrorInfo | None = None
    rewards: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, Any] = Field(default_factory=dict)


class TaskInfo(_Record):
    id: str | None = None
    turns: list[str] = Field(default_factory=list)
    """User turns, in order."""


class Trajectory(_Record):
    """One recorded run."""

    schema_version: int = TRAJECTORY_VERSION
    id: str
    provenance: Provenance
    task: TaskInfo = Field(default_factory=TaskInfo)
    root_agent: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    steps: list[Step] = Field(default_factory=list)
    outcome: Outcome | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def children(self, parent_id: str | None) -> list[LLMStep | ToolStep | SubAgentStep]:
        return [s for s in self.steps if s.parent_id == parent_id]

    def step(self, step_id: str) -> LLMStep | ToolStep | SubAgentStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def to_json(self) -> str:
        """One line of JSON, ``None`` fields left out: what ``model_dump_json(exclude_none=True)``
        gives (fields may come in another order), but fast on long runs.

        Every LLM request repeats the conversation so far, so a run of n steps holds O(n²)
        messages while having only O(n) distinct ones (the runtime shares the objects). Each
        distinct message object is serialised once, and a request that extends the previous
        one reuses the previous one's text.
        """
        memo: dict[int, str] = {}

        def message(m: Message) -> str:
            text = memo.get(id(m))
            if text is None:
                text = memo[id(m)] = m.model_dump_json(exclude_none=True)
            return text

        steps = []
        # Text of the previous request's messages after the first (the first, a system prompt,
        # is often rebuilt for every call), reused when this request's tail extends it.
        prev_ids: list[int] = []
        prev_tail = ""
        for step in self.steps:
            if not isinstance(step, LLMStep):
                steps.append(step.model_dump_json(exclude_none=True))
                continue
            tail = step.request.messages[1:]
            ids = list(map(id, tail))
            n = len(prev_ids)
            if n and ids[:n] == prev_ids:
                new = ",".join(message(m) for m in tail[n:])
                tail_text = prev_tail + "," + new if new else prev_tail
            else:
                tail_text = ",".join(message(m) for m in tail)
            prev_ids, prev_tail = ids, tail_text
            first = step.request.messages[:1]
            joined = ",".join([message(m) for m in first] + ([tail_text] if tail else []))
            head = step.model_dump_json(exclude_none=True, exclude={"request"})
            rest = step.request.model_dump_json(exclude_none=True, exclude={"messages"})
            request = '{"messages":[' + joined + "]" + ("}" if rest == "{}" else "," + rest[1:])
            steps.append(head[:-1] + ',"request":' + request + "}")
        head = self.model_dump_json(exclude_none=True, exclude={"steps"})
        return head[:-1] + ',"steps":[' + ",".join(steps) + "]}"
