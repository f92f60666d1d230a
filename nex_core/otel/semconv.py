"""Every span attribute name nex writes or reads, in one place, with the conventions it follows.

GenAI: the OpenTelemetry semantic conventions for generative AI as published with semantic
conventions **1.44.0** (the ``gen_ai.*`` registry, agent and framework spans, model spans,
execute-tool spans). They are still marked *Development*; the Python package
``opentelemetry-semantic-conventions`` carries them only in its ``_incubating`` modules, partly
deprecated, so the strings are defined here instead of imported (a rename upstream is one edit
here). Content attributes (messages, tool definitions, tool arguments and results) are opt-in in
the conventions: nex writes them only when asked (``capture_content``, or the environment
variable the Python GenAI instrumentations read).

OpenInference: Arize's conventions (``openinference-semantic-conventions`` 0.1.x), read only,
for traces from its instrumentors (LangChain/LangGraph, AutoGen, CrewAI ...).

``nex.*``: what neither convention has a name for (the trajectory id, a sub-agent's mode, the
outcome's stop reason), so a trajectory nex exported reads back whole.
"""

from __future__ import annotations

SEMCONV_VERSION = "1.44.0"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The opt-in the Python GenAI instrumentations read (``true`` captures message content)."""

# --------------------------------------------------------------------------- GenAI: operations

OPERATION_NAME = "gen_ai.operation.name"
OP_CHAT = "chat"
OP_TEXT_COMPLETION = "text_completion"
OP_GENERATE_CONTENT = "generate_content"
OP_INVOKE_AGENT = "invoke_agent"
OP_CREATE_AGENT = "create_agent"
OP_EXECUTE_TOOL = "execute_tool"
MODEL_OPERATIONS = frozenset({OP_CHAT, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT})

PROVIDER_NAME = "gen_ai.provider.name"
SYSTEM_DEPRECATED = "gen_ai.system"
"""Replaced by ``gen_ai.provider.name``; still written by older instrumentations (AutoGen)."""
CONVERSATION_ID = "gen_ai.conversation.id"

# --------------------------------------------------------------------------- GenAI: agents

AGENT_NAME = "gen_ai.agent.name"
AGENT_ID = "gen_ai.agent.id"
AGENT_DESCRIPTION = "gen_ai.agent.description"

# --------------------------------------------------------------------------- GenAI: model calls

REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
"""Of the input tokens, those the server served from its prompt cache (``Usage.cached_tokens``)."""
REQUEST_PARAMS: dict[str, str] = {
    "temperature": "gen_ai.request.temperature",
    "max_tokens": "gen_ai.request.max_tokens",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "stop": "gen_ai.request.stop_sequences",
}
"""Request parameters with a GenAI attribute of their own (others: ``nex.request.params``)."""

# --------------------------------------------------------------------------- GenAI: tools

TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_DESCRIPTION = "gen_ai.tool.description"
TOOL_TYPE = "gen_ai.tool.type"

# ------------------------------------------------------------------ GenAI: content (opt-in)

INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
CONTENT_ATTRIBUTES = frozenset(
    {
        INPUT_MESSAGES,
        OUTPUT_MESSAGES,
        SYSTEM_INSTRUCTIONS,
        TOOL_DEFINITIONS,
        TOOL_CALL_ARGUMENTS,
        TOOL_CALL_RESULT,
    }
)

ERROR_TYPE = "error.type"
SERVICE_NAME = "service.name"

# --------------------------------------------------------------------------- OpenInference (read)

OI_SPAN_KIND = "openinference.span.kind"
OI_LLM, OI_TOOL, OI_AGENT, OI_CHAIN = "LLM", "TOOL", "AGENT", "CHAIN"
OI_KNOWN_KINDS = frozenset(
    {
        OI_LLM,
        OI_TOOL,
        OI_AGENT,
        OI_CHAIN,
        "RETRIEVER",
        "EMBEDDING",
        "RERANKER",
        "GUARDRAIL",
        "EVALUATOR",
        "PROMPT",
    }
)
OI_INPUT_MESSAGES = "llm.input_messages"
OI_OUTPUT_MESSAGES = "llm.output_messages"
OI_TOOLS = "llm.tools"
OI_TOOL_JSON_SCHEMA = "tool.json_schema"
OI_MODEL_NAME = "llm.model_name"
OI_PROVIDER = "llm.provider"
OI_INVOCATION_PARAMETERS = "llm.invocation_parameters"
OI_TOKENS_PROMPT = "llm.token_count.prompt"
OI_TOKENS_COMPLETION = "llm.token_count.completion"
OI_TOKENS_CACHE_READ = "llm.token_count.prompt_details.cache_read"
OI_FINISH_REASON = "llm.finish_reason"
OI_INPUT_VALUE = "input.value"
OI_OUTPUT_VALUE = "output.value"
OI_TOOL_NAME = "tool.name"
OI_TOOL_DESCRIPTION = "tool.description"
OI_TOOL_PARAMETERS = "tool.parameters"
OI_TOOL_CALL_ID = "tool_call.id"
OI_AGENT_NAME = "agent.name"
# Keys inside a flattened message: llm.input_messages.<i>.message.<key>
OI_MESSAGE_ROLE = "message.role"
OI_MESSAGE_CONTENT = "message.content"
OI_MESSAGE_CONTENTS = "message.contents"
OI_MESSAGE_NAME = "message.name"
OI_MESSAGE_TOOL_CALLS = "message.tool_calls"
OI_MESSAGE_TOOL_CALL_ID = "message.tool_call_id"
OI_CONTENT_TEXT = "message_content.text"
OI_CALL_ID = "tool_call.id"
OI_CALL_NAME = "tool_call.function.name"
OI_CALL_ARGUMENTS = "tool_call.function.arguments"

# --------------------------------------------------------------------------- nex's own

NEX_TRAJECTORY_ID = "nex.trajectory.id"
NEX_TASK_ID = "nex.task.id"
NEX_TASK_TURNS = "nex.task.turns"
NEX_PROVENANCE = "nex.provenance"
"""The trajectory's provenance as JSON (framework, adapter, versions, spec digest)."""
NEX_OUTCOME_STATUS = "nex.outcome.status"
NEX_STOP_REASON = "nex.outcome.stop_reason"
NEX_FINAL_OUTPUT = "nex.outcome.final_output"
NEX_STEP_ID = "nex.step.id"
NEX_STEP_AGENT = "nex.step.agent"
NEX_STEP_STATUS = "nex.step.status"
# What a human sent to a paused run (an input step): an event on the run's span.
NEX_INPUT_EVENT = "nex.input"
NEX_INPUT_MODE = "nex.input.mode"
NEX_INPUT_VALUE = "nex.input.value"
NEX_SUBAGENT_MODE = "nex.subagent.mode"
NEX_CALL_ID = "nex.call.id"
NEX_REQUEST_PARAMS = "nex.request.params"
NEX_RAW_ARGUMENTS = "nex.tool.raw_arguments"
