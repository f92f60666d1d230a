"""The nex protocol: a framework-neutral description of agents, tools and sub-agents.

Specs are pure data. Runners (the native runtime, framework adapters) take a spec and produce a
trajectory; nothing here executes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from nex_core._field_docs import DocumentedModel
from nex_core.protocol.approval import ApprovalPolicy

SPEC_VERSION = 1

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"

Name = Annotated[str, Field(pattern=NAME_PATTERN)]

IMPORT_PATH_PATTERN = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


class _Spec(DocumentedModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ToolFormat(str):
    """How the model invokes tools: the name of a registered tool-invocation format.

    ``native`` is provider function calling; every other name is a format whose calls live in
    the model's text (``xml``, ``hermes``, ``qwen3_coder``, ``llama3_json``, ``mistral``,
    ``gpt_oss`` ... see :mod:`nex_core.toolformats`), including formats third-party plugins
    register through ``nex_tool_formats``. A spec naming no registered format is rejected with
    the names that are. Names are interned, so ``fmt is ToolFormat.NATIVE`` holds for every
    ``ToolFormat("native")``.
    """

    NATIVE: ClassVar[ToolFormat]
    """Provider-native function calling (OpenAI ``tool_calls``)."""
    XML: ClassVar[ToolFormat]
    """nex's own ``<tool_call name="...">{json args}</tool_call>`` tags in the model's text."""
    _interned: ClassVar[dict[str, ToolFormat]] = {}

    def __new__(cls, value: str) -> ToolFormat:
        known = cls._interned.get(value)
        if known is None:
            known = cls._interned[value] = super().__new__(cls, value)
        return known

    @property
    def value(self) -> str:
        return str(self)

    @property
    def is_text(self) -> bool:
        """True when tool calls live in the model's text (every format but ``native``)."""
        return self is not ToolFormat.NATIVE

    @classmethod
    def known(cls, value: str) -> ToolFormat:
        """``value`` as a format name, checked against the registry."""
        if value != "native":
            from nex_core.toolformats.registry import available_formats

            formats = available_formats()
            if value not in formats:
                raise ValueError(
                    f"unknown tool format '{value}' (known: {', '.join(sorted(formats))})"
                )
        return cls(value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            cls.known,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


ToolFormat.NATIVE = ToolFormat("native")
ToolFormat.XML = ToolFormat("xml")


class ModelSettings(_Spec):
    """Which model an agent uses and how it samples. Secrets are references, never values."""

    # A rejected literal key must not be echoed back in the validation error.
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    id: str | None = None
    """Model id as the provider knows it (``gpt-4o-mini``, ``Qwen/Qwen3-8B``)."""
    provider: str | None = None
    """Provider name (``openai``, ``scripted``, ``replay``); the CLI's ``--model`` overrides it."""
    base_url: str | None = None
    """OpenAI-compatible endpoint; may be a ``${env:NAME}`` reference."""
    api_key: str | None = None
    """Always a reference such as ``${env:OPENAI_API_KEY}``; a literal key is rejected."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature."""
    top_p: float | None = Field(default=None, gt=0, le=1)
    """Nucleus sampling."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Cap on generated tokens per call."""
    seed: int | None = None
    """Sampling seed where the provider honours it."""
    capture_tokens: bool = False
    """Ask the endpoint for the prompt and completion token ids of every call and record them
    (vLLM's ``return_token_ids``); for token-level RL data."""
    logprobs: int | None = Field(default=None, ge=0, le=20)
    """Record each generated token's log probability (``0``), and its top-k candidates (``k``)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Provider-specific request parameters, passed through."""

    @model_validator(mode="after")
    def _api_key_is_reference(self) -> ModelSettings:
        from nex_core.protocol.secrets import is_reference

        if self.api_key is not None and not is_reference(self.api_key):
            raise ValueError(
                "api_key must be a reference like '${env:OPENAI_API_KEY}', never the key itself"
            )
        return self

    def sampling(self) -> dict[str, Any]:
        """The sampling parameters that are set, as sent to a provider."""
        keys = ("temperature", "top_p", "max_tokens", "seed")
        out = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        out.update(self.extra)
        return out


class ImportBinding(_Spec):
    """A Python callable found by import path."""

    kind: Literal["import"] = "import"
    path: str = Field(pattern=IMPORT_PATH_PATTERN)
    """``package.module:function`` (sync or async)."""


class MCPBinding(_Spec):
    """A tool served by an MCP server declared in the agent's ``mcp_servers``."""

    kind: Literal["mcp"] = "mcp"
    server: str
    """Key of the server in ``mcp_servers`` of this agent or an ancestor."""
    tool: str | None = None
    """Tool name on the server; defaults to the nex tool name."""


class CallableBinding(_Spec):
    """A Python function of the running process. Written to YAML/JSON as its name only;
    ``nex_core.bind(spec, {ref: function})`` attaches the function to a loaded spec."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    kind: Literal["callable"] = "callable"
    ref: str
    """The function's name in the spec: what ``nex_core.bind`` matches (the function itself is
    never serialised)."""
    func: SkipJsonSchema[Callable[..., Any] | None] = Field(default=None, exclude=True, repr=False)
    """The function (sync or async); present only in specs built or bound in Python."""


class SimulatedBinding(_Spec):
    """A tool with no implementation: a model plays it from its name, description, schema and
    the episode's earlier simulated calls (see :mod:`nex_core.runtime.simulated`). Its results
    are marked ``simulated`` in the trajectory, so exports can keep or drop them."""

    kind: Literal["simulated"] = "simulated"
    state: dict[str, Any] = Field(default_factory=dict)
    """The world the tool starts each episode in (records, balances ...), shown to the model."""
    instructions: str = ""
    """How the tool behaves beyond its description (error cases, formats)."""
    model: str | None = None
    """Model reference that plays the tool (``openai:gpt-4o-mini``); by default the model of
    the run it is called in."""


def _binding_kind(value: Any) -> str:
    # Accept the short forms people write by hand: a bare "pkg.mod:func" string, a mapping
    # without "kind" whose keys make the kind obvious, or (in Python) the function itself.
    if isinstance(value, BaseModel):
        return str(getattr(value, "kind", ""))
    if value == "simulated":
        return "simulated"
    if isinstance(value, str):
        return "import"
    if callable(value):
        return "callable"
    if isinstance(value, dict):
        if "kind" in value:
            return str(value["kind"])
        if "server" in value:
            return "mcp"
        if "ref" in value:
            return "callable"
        return "import"
    return ""


def _expand_binding(value: Any) -> Any:
    if value == "simulated":
        return {"kind": "simulated"}
    if isinstance(value, str):
        return {"kind": "import", "path": value}
    if callable(value) and not isinstance(value, BaseModel):
        ref = getattr(value, "__name__", None) or type(value).__name__
        return CallableBinding(ref=ref, func=value)
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": _binding_kind(value), **value}
    return value


ImportPath = Annotated[str, Field(pattern=IMPORT_PATH_PATTERN)]

ToolBinding = Annotated[
    Annotated[ImportBinding, Tag("import")]
    | Annotated[MCPBinding, Tag("mcp")]
    | Annotated[CallableBinding, Tag("callable")]
    | Annotated[SimulatedBinding, Tag("simulated")],
    Discriminator(_binding_kind),
    # The published schema accepts the short forms the loader accepts.
    BeforeValidator(
        _expand_binding,
        json_schema_input_type=ImportPath
        | Literal["simulated"]
        | ImportBinding
        | MCPBinding
        | CallableBinding
        | SimulatedBinding,
    ),
]


class ToolSpec(_Spec):
    """A tool as the model sees it, plus how to run it."""

    name: Name
    """Name the model calls the tool by."""
    description: str = ""
    """What the tool does, shown to the model."""
    parameters: dict[str, Any] | None = None
    """JSON Schema of the arguments object. ``None`` for MCP tools means: ask the server."""
    binding: ToolBinding
    """How the tool is executed: ``{kind: import, path: pkg.mod:func}`` (or just the path string),
    ``{kind: mcp, server: NAME, tool: NAME}``, ``{kind: callable, ref: NAME}`` for a Python
    function (in Python, pass the function itself; ``nex_core.bind`` re-attaches it to a spec
    read from a file), or ``simulated`` (``{kind: simulated, state: {...}}``) for a tool a
    model plays."""

    timeout_s: float | None = Field(default=None, gt=0)
    """Per-tool timeout; overrides the agent's ``limits.tool_timeout_s``."""
    approval: ApprovalPolicy = "never"
    """``required``: the run pauses (outcome ``interrupted``) before this tool runs, until a human
    approves, rejects or edits the call (``nex_core.protocol.approval``)."""


class MCPServerSpec(_Spec):
    """An MCP server, over stdio or streamable HTTP."""

    transport: Literal["stdio", "http"] = "stdio"
    """``stdio`` starts ``command``; ``http`` connects to ``url`` (streamable HTTP)."""
    command: str | None = None
    """Executable for stdio servers (``python``, ``uvx`` ...)."""
    args: list[str] = Field(default_factory=list)
    """Arguments for ``command``."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment; values may be ``${env:NAME}`` references."""
    url: str | None = None
    """Endpoint of a streamable-HTTP server."""
    headers: dict[str, str] = Field(default_factory=dict)
    """HTTP headers; secret values must be ``${env:NAME}`` references."""

    @model_validator(mode="after")
    def _transport_fields(self) -> MCPServerSpec:
        if self.transport == "stdio" and not self.command:
            raise ValueError("a stdio MCP server needs 'command'")
        if self.transport == "http" and not self.url:
            raise ValueError("an http MCP server needs 'url'")
        return self


def _check_json_schema(value: dict[str, Any]) -> dict[str, Any]:
    # Checked when the spec is read, so a broken schema is a spec error with its file, line and
    # field rather than a failure in the middle of a run. jsonschema is imported here only.
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(value)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(schema)"
        raise ValueError(f"not a valid JSON Schema: {where}: {exc.message}") from None
    return value


OutputSchema = Annotated[
    dict[str, Any],
    AfterValidator(_check_json_schema),
    Field(json_schema_extra={"description": "A JSON Schema (2020-12) object."}),
]
"""A JSON Schema object, checked as one (draft 2020-12 meta-schema) when the spec is loaded."""


class ContextMode(StrEnum):
    """How context passes from a parent agent to a sub-agent."""

    TOOL = "tool"
    """Agent-as-tool: the child receives only the task message it was given and returns its
    final answer as the tool result."""
    HANDOFF = "handoff"
    """Control passes to the child with the shared conversation history (supervisor / swarm)."""


class Limits(_Spec):
    """Bounds on a run."""

    max_steps: int = Field(default=10, ge=1)
    """Maximum model calls for one agent invocation before the run stops with ``max_steps``."""
    tool_timeout_s: float | None = Field(default=60.0, gt=0)
    """Default per-tool timeout in seconds."""
    max_model_retries: int = Field(default=0, ge=0)
    """Retries after a retryable model error (each failed call is recorded)."""
    max_output_retries: int = Field(default=2, ge=0)
    """With an ``output_schema``: how many answers that fail the schema are fed back to the
    model (as an error message) before the run ends ``error``."""


class SubAgentSpec(_Spec):
    """A child agent that this agent can call or hand over to."""

    mode: ContextMode = ContextMode.TOOL
    """How context passes (see :class:`ContextMode`)."""
    agent: AgentSpec | None = None
    """The child, inline."""
    ref: str | None = None
    """Path to the child's spec file, relative to the file that refers to it."""
    tool_name: Name | None = None
    """Name of the tool the parent calls; defaults to the child's name (``transfer_to_<name>``
    for handoffs)."""
    description: str | None = None
    """Description of that tool; defaults to the child's description."""

    @model_validator(mode="after")
    def _one_source(self) -> SubAgentSpec:
        if (self.agent is None) == (self.ref is None):
            raise ValueError("a sub-agent needs exactly one of 'agent' (inline) or 'ref' (file)")
        return self

    @property
    def child(self) -> AgentSpec:
        """The resolved child spec (refs are resolved by the loader)."""
        if self.agent is None:
            raise ValueError(f"sub-agent reference {self.ref!r} has not been resolved")
        return self.agent

    def resolved_tool_name(self) -> str:
        if self.tool_name:
            return self.tool_name
        name = self.child.name
        return f"transfer_to_{name}" if self.mode is ContextMode.HANDOFF else name


class AgentSpec(_Spec):
    """One agent: prompt, model, tools, sub-agents and loop settings."""

    kind: Literal["agent"] = "agent"
    """Document kind."""
    version: int = SPEC_VERSION
    """Protocol version this spec was written for."""
    name: Name
    """Unique name within the system."""
    description: str = ""
    """What the agent does; shown to parents that call it."""
    system_prompt: str = ""
    """System message."""
    model: ModelSettings = Field(default_factory=ModelSettings)
    """Model and sampling settings."""
    tools: list[ToolSpec] = Field(default_factory=list)
    """Tools the agent can call."""
    mcp_servers: dict[str, MCPServerSpec] = Field(default_factory=dict)
    """MCP servers whose tools are bound here (inherited by sub-agents)."""
    sub_agents: list[SubAgentSpec] = Field(default_factory=list)
    """Child agents, called as tools or handed over to."""
    limits: Limits = Field(default_factory=Limits)
    """Step, timeout and retry bounds."""
    stop_tools: list[str] = Field(default_factory=list)
    """Tools whose call ends the agent's turn; their result is the final output."""
    parallel_tool_calls: bool = True
    """Whether the model may request several tool calls at once (they run concurrently)."""
    tool_format: ToolFormat = ToolFormat.NATIVE
    """How the model invokes tools: ``native`` function calling, or the name of any registered
    text format (``xml``, ``hermes``, ``qwen3_coder``, ``llama3_json``, ``gpt_oss`` ...)."""
    output_schema: OutputSchema | None = None
    """JSON Schema (2020-12) of the agent's final answer. When set, the agent ends with a JSON
    value valid against it (recorded as the outcome's ``structured_output``, its text as
    ``final_output``); the model is asked for it as a ``json_schema`` response format, and an
    answer that fails the schema is fed back (``limits.max_output_retries``). A sub-agent's
    structured answer is its tool result."""
    extensions: dict[str, Any] = Field(default_factory=dict)
    """Framework-specific extras, namespaced by framework (``{"langgraph": {...}}``)."""

    @model_validator(mode="after")
    def _unique_tool_names(self) -> AgentSpec:
        seen: set[str] = set()
        names = [t.name for t in self.tools]
        names += [s.resolved_tool_name() for s in self.sub_agents if s.agent is not None]
        for n in names:
            if n in seen:
                raise ValueError(f"agent '{self.name}' offers two tools named '{n}'")
            seen.add(n)
        unknown = set(self.stop_tools) - seen
        if unknown and all(s.agent is not None for s in self.sub_agents):
            raise ValueError(f"stop_tools names unknown tools: {sorted(unknown)}")
        return self

    def walk(self) -> list[AgentSpec]:
        """This agent and every descendant, depth first."""
        out = [self]
        for sub in self.sub_agents:
            if sub.agent is not None:
                out += sub.agent.walk()
        return out


class Termination(_Spec):
    """When a team stops."""

    max_turns: int = Field(default=10, ge=1)
    """Total agent turns across the team."""
    text_mention: str | None = None
    """Stop when a reply contains this text (AutoGen's ``TextMentionTermination``)."""


class TeamSpec(_Spec):
    """Agents taking turns on a shared conversation."""

    kind: Literal["team"] = "team"
    """Document kind."""
    version: int = SPEC_VERSION
    """Protocol version."""
    name: Name
    """Team name."""
    description: str = ""
    """What the team does."""
    members: list[AgentSpec] = Field(min_length=1)
    """Participants, in round-robin order."""
    speaker_selection: Literal["round_robin", "model"] = "round_robin"
    """Round-robin turns, or a model chooses the next speaker."""
    selector_model: ModelSettings | None = None
    """Model that picks speakers when ``speaker_selection`` is ``model``."""
    termination: Termination = Field(default_factory=Termination)
    """Stop conditions."""
    extensions: dict[str, Any] = Field(default_factory=dict)
    """Framework-specific extras."""

    def walk(self) -> list[AgentSpec]:
        out: list[AgentSpec] = []
        for m in self.members:
            out += m.walk()
        return out


def _system_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return str(getattr(value, "kind", ""))
    if isinstance(value, dict):
        return str(value.get("kind", "agent"))
    return ""


SystemSpec = Annotated[
    Annotated[AgentSpec, Tag("agent")] | Annotated[TeamSpec, Tag("team")],
    Discriminator(_system_kind),
]
"""Anything a spec file can hold at its top level."""

SubAgentSpec.model_rebuild()
AgentSpec.model_rebuild()
