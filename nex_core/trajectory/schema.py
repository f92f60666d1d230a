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

from pydantic import ConfigDict, Field, model_validator

from nex_core._field_docs import DocumentedModel

TRAJECTORY_VERSION: Literal[2] = 2
"""Version 2 added token ids, logprobs and cached-token usage to LLM responses, and rewards and
labels to every step. Version 1 files read unchanged (every v2 field is optional)."""
READABLE_VERSIONS = (1, 2)
"""Every ``schema_version`` this nex reads."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Record(DocumentedModel):
    model_config = ConfigDict(extra="forbid")


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
    cached_tokens: int | None = None
    """v2: how many of ``prompt_tokens`` the server served from its prompt cache."""


class TopLogprobs(_Record):
    """v2: the k most likely tokens at each completion position, as parallel arrays.

    Row ``i`` of each array belongs to completion token ``i``; one list per position, not one
    object per candidate token, so a long completion stays a few compact JSON arrays."""

    logprobs: list[list[float]]
    token_ids: list[list[int]] | None = None
    """The candidates' ids, where the server gave ids (vLLM's ``token_id:N`` tokens)."""
    tokens: list[list[str]] | None = None
    """The candidates' text, where the server gave text rather than ids."""


class TokensFrom(_Record):
    """Stored form only: the prompt ids begin with an earlier call's prompt and completion."""

    step: str
    """Id of an earlier LLM step (the latest LLM step with that id before this one)."""
    count: int = Field(ge=1)
    """How many ids of that step's prompt ids followed by its completion ids come first."""


class Tokens(_Record):
    """v2: the token ids a model call read and wrote, exactly as the endpoint returned them.

    Token-level RL trainers need what the model saw: re-tokenising the text later drifts (a
    chat template renders an assistant turn differently from how the model wrote it). The
    lists are plain JSON arrays of numbers, and a stored prompt that continues an earlier
    call's prompt and completion names it in ``prompt_from`` and lists only the rest."""

    prompt_token_ids: list[int] | None = None
    """The prompt as the server tokenised it (chat template applied). In a stored trajectory
    with ``prompt_from``, only the ids after the shared prefix; reading puts the prefix back."""
    prompt_from: TokensFrom | None = None
    """Stored form only (see :class:`TokensFrom`); ``None`` in memory."""
    completion_token_ids: list[int] | None = None
    """The ids the model generated, in order (tool-call text and end token included)."""
    logprobs: list[float] | None = None
    """Log probability of each completion token (aligned with ``completion_token_ids``)."""
    top_logprobs: TopLogprobs | None = None
    """The top-k candidates at each completion position, when they were asked for."""


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


class MessagesFrom(_Record):
    """Stored form only: the request's messages begin with those of an earlier request."""

    step: str
    """Id of an earlier LLM step of the same trajectory (the latest LLM step with that id before
    this one)."""
    count: int = Field(ge=1)
    """How many of that step's messages (its whole list, after resolving its own
    ``messages_from``) come first."""


class LLMRequest(_Record):
    messages: list[Message]
    """Messages exactly as sent. In a stored trajectory whose request sets ``messages_from``, only
    the messages after the shared prefix; reading the trajectory puts the prefix back."""
    messages_from: MessagesFrom | None = None
    """Stored form only: the messages sent are the first ``count`` messages of step ``step``'s
    request followed by ``messages``. Every request repeats the conversation so far, so without
    it a run of n steps takes O(n²) bytes. ``Trajectory.to_json`` writes it; reading a
    ``Trajectory`` resolves it, so in memory it is ``None`` and ``messages`` is complete.
    Files without it read as they always did."""
    tools: list[ToolSchema] = Field(default_factory=list)
    """Tool schemas offered."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Sampling and request parameters (temperature, max_tokens, tool_choice ...)."""


class LLMResponse(_Record):
    message: Message
    """The assistant message: content, reasoning, tool calls with ids and raw arguments."""
    finish_reason: str | None = None
    usage: Usage | None = None
    tokens: Tokens | None = None
    """v2: token ids and logprobs, when the model was asked to capture them."""


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
    rewards: dict[str, float] | None = None
    """v2: rewards given to this step (a judge's score, a format penalty ...), by name."""
    labels: dict[str, Any] | None = None
    """v2: labels given to this step by checks or annotators."""


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


class InputStep(_StepBase):
    """Input that reached a run other than as a text turn: the value a paused run was resumed
    with (a human's decision, a ``HandoffMessage`` back from the user), or a turn's input given
    as structured data (a graph whose state is not messages). Begins and ends at once."""

    kind: Literal["input"] = "input"
    mode: Literal["input", "resume"] = "input"
    """``resume``: the answer to the request a paused run waits for (see
    ``Outcome.pending``); ``input``: a turn's input as given."""
    value: Any = None
    """The input as given, JSON-compatible."""


Step = Annotated[LLMStep | ToolStep | SubAgentStep | InputStep, Field(discriminator="kind")]


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
    INTERRUPTED = "interrupted"
    """Paused for input (a human's approval, a handoff to the user); ``Outcome.pending`` says
    what it waits for, and a later run of the same session resumes it."""


class Outcome(_Record):
    status: OutcomeStatus
    final_output: str | None = None
    stop_reason: str | None = None
    """Why the run ended (``final_answer``, ``stop_tool:NAME``, ``max_steps``, an error ...)."""
    error: ErrorInfo | None = None
    structured_output: Any = None
    """The final answer as structured data, when the agent answers in an output schema
    (``final_output`` is then its JSON text)."""
    pending: list[Any] | None = None
    """``interrupted`` only: the requests the run waits for (interrupt values, JSON)."""
    rewards: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, Any] = Field(default_factory=dict)


class TaskInfo(_Record):
    id: str | None = None
    turns: list[str] = Field(default_factory=list)
    """User turns, in order."""


class Trajectory(_Record):
    """One recorded run."""

    schema_version: Literal[1, 2] = TRAJECTORY_VERSION
    """The schema version the file was written with (see ``READABLE_VERSIONS``)."""
    id: str
    provenance: Provenance
    task: TaskInfo = Field(default_factory=TaskInfo)
    root_agent: str | None = None
    session_id: str | None = None
    """The conversation this run belongs to: runs that share it are turns of one conversation
    (a LangGraph checkpointer thread, an AutoGen team resumed), in ``started_at`` order."""
    started_at: datetime
    ended_at: datetime | None = None
    steps: list[Step] = Field(default_factory=list)
    outcome: Outcome | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def children(
        self, parent_id: str | None
    ) -> list[LLMStep | ToolStep | SubAgentStep | InputStep]:
        return [s for s in self.steps if s.parent_id == parent_id]

    def step(self, step_id: str) -> LLMStep | ToolStep | SubAgentStep | InputStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @model_validator(mode="after")
    def _resolve_stored_messages(self) -> Trajectory:
        # After, not before, validation: the resolved requests share the referenced steps'
        # Message objects, as the runtime's own requests do, so a long run read from disk takes
        # O(n) objects and writing it again stays linear.
        from nex_core.trajectory import compact

        compact.resolve(self.steps)
        compact.resolve_tokens(self.steps)
        return self

    def to_json(self) -> str:
        """One line of JSON, ``None`` fields left out, in the stored form: an LLM request whose
        messages begin with an earlier request's says so with ``messages_from`` and lists only
        the rest, so the line grows linearly with the run (see ``nex_core.trajectory.compact``).
        ``Trajectory.model_validate_json`` reads it back to an equal trajectory; pydantic's own
        ``model_dump_json`` still writes every request in full."""
        from nex_core.trajectory import compact

        return compact.dumps(self)
