"""Agent Framework agents → nex specs, with a report of what the protocol cannot express.

An ``Agent`` is read from its public attributes: name, description, ``instructions`` and the
sampling options in ``default_options``, its function tools (``FunctionTool`` schemas exactly as
the model is shown them), agents used as tools (``as_tool``, to any depth), MCP servers
(``MCPStdioTool`` / ``MCPStreamableHTTPTool``) and the client's function-loop limits. Agents this
adapter built carry their spec on the protocol middleware, so tool bindings, handoffs and stop
tools survive spec → Agent Framework → spec.
"""

from __future__ import annotations

import importlib
from typing import Any

from agent_framework import (
    BaseAgent,
    FunctionTool,
    MCPStdioTool,
    MCPStreamableHTTPTool,
    Workflow,
)

from nex_agent_framework.bridge import NexChatClient
from nex_agent_framework.names import AgentNames, agent_names
from nex_agent_framework.record import ChatRecorder, FunctionRecorder
from nex_agent_framework.structured import schema_of_format
from nex_agent_framework.tools import ProtocolMiddleware, agent_of_tool
from nex_core.adapter import Conversion, ConversionReport
from nex_core.errors import AdapterError
from nex_core.protocol.output_model import is_schema_model
from nex_core.protocol.spec import (
    AgentSpec,
    CallableBinding,
    ContextMode,
    ImportBinding,
    Limits,
    MCPBinding,
    MCPServerSpec,
    ModelSettings,
    SubAgentSpec,
    ToolSpec,
)
from nex_core.runtime.tools import SUBAGENT_PARAMETERS

_SAMPLING = ("temperature", "top_p", "max_tokens", "seed")
_KNOWN_OPTIONS = {*_SAMPLING, "instructions", "tools", "tool_choice", "model", "response_format"}
_DEFAULT_MAX_ITERATIONS = 40


def recognizes(obj: Any) -> bool:
    """Agent Framework agents (``Agent`` and any ``BaseAgent``) and workflows (recognised so
    that converting one says what to do rather than that nothing knows it)."""
    return isinstance(obj, BaseAgent | Workflow)


def to_spec(obj: Any) -> Conversion:
    """Convert an Agent Framework ``Agent`` (its agents-as-tools become sub-agents), a
    group-chat workflow (a team) or a handoff workflow (:mod:`.convert_workflows`)."""
    if isinstance(obj, Workflow):
        from nex_agent_framework.convert_workflows import workflow_to_spec

        report = ConversionReport()
        converter = _Converter(report, agent_names(obj))
        return Conversion(spec=workflow_to_spec(obj, report, converter), report=report)
    if not isinstance(obj, BaseAgent) or not hasattr(obj, "default_options"):
        raise AdapterError(
            f"the agent-framework adapter converts Agent objects, not {type(obj).__name__}; "
            "build a workflow's agents as Agent objects and convert them one by one"
        )
    report = ConversionReport()
    names = agent_names(obj)
    return Conversion(spec=_Converter(report, names).agent(obj, names.of(obj)), report=report)


def _protocol(agent: Any) -> ProtocolMiddleware | None:
    for m in getattr(agent, "middleware", None) or ():
        if isinstance(m, ProtocolMiddleware):
            return m
    return None


def import_path(func: Any) -> str | None:
    """``module:qualname`` of a function that can be imported back, else ``None``."""
    module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", "")
    if not module or "<" in qualname or module == "__main__":
        return None
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    # A ``@tool`` function's module attribute is the FunctionTool itself, which calls the
    # function when called: the same behaviour by the same path.
    same = found is func or (isinstance(found, FunctionTool) and found.func is func)
    return f"{module}:{qualname}" if same else None


class _Converter:
    def __init__(self, report: ConversionReport, names: AgentNames) -> None:
        self.report = report
        self.names = names
        """The recorder's names (:mod:`.names`), so a recording matches its conversion."""

    def agent(self, agent: Any, where: str) -> AgentSpec:
        name = self.names.of(agent)
        made_up = self.names.made_up(agent)
        if made_up is not None:
            self.report.add(where, made_up, "info")
        protocol = _protocol(agent)
        options: dict[str, Any] = dict(agent.default_options or {})
        tools: list[ToolSpec] = []
        subs: list[SubAgentSpec] = []
        servers: dict[str, MCPServerSpec] = {}
        for tool in options.get("tools") or ():
            self._tool(tool, agent, protocol, f"{where}.tools", tools, subs)
        for mcp in getattr(agent, "mcp_tools", None) or ():
            self._mcp(mcp, f"{where}.tools.{getattr(mcp, 'name', 'mcp')}", servers, tools)
        self._unexpressed(agent, options, where)
        spec = AgentSpec(
            name=name,
            description=agent.description or "",
            system_prompt=options.get("instructions") or "",
            model=self._model(agent, options, where),
            tools=tools,
            mcp_servers=servers,
            sub_agents=subs,
            limits=self._limits(agent, protocol, where),
            stop_tools=list(protocol.spec.stop_tools) if protocol else [],
            parallel_tool_calls=options.get("allow_multiple_tool_calls") is not False,
            output_schema=self._output_schema(options.get("response_format"), protocol, where),
        )
        return spec

    def _output_schema(
        self, given: Any, protocol: ProtocolMiddleware | None, where: str
    ) -> dict[str, Any] | None:
        """``response_format`` (a pydantic model or a JSON-schema mapping) as the answer's
        JSON Schema."""
        if given is None:
            return None
        where = f"{where}.default_options.response_format"
        schema = schema_of_format(given)
        if schema is None:
            self.report.add(where, f"response_format {given!r} has no JSON Schema; not carried")
            return None
        if isinstance(given, type) and not is_schema_model(given):
            self.report.add(
                where,
                f"the answer's Python type ({given.__name__}) becomes its JSON Schema; "
                "recordings hold the answer as JSON",
                "info",
            )
        if protocol is None:
            self.report.add(
                where,
                "Agent Framework parses the answer only when response.value is read and never "
                "asks again; the spec's agent feeds an invalid answer back "
                "(limits.max_output_retries)",
                "approximated",
            )
        return schema

    # ------------------------------------------------------------------ pieces

    def _model(self, agent: Any, options: dict[str, Any], where: str) -> ModelSettings:
        client = getattr(agent, "client", None)
        sampling = {k: options[k] for k in _SAMPLING if options.get(k) is not None}
        if isinstance(client, NexChatClient):
            return client.settings.model_copy(update=sampling, deep=True)
        model = options.get("model") or getattr(client, "model", None)
        provider = type(client).__name__.lower() if client is not None else ""
        known = next((p for p in ("azure", "openai", "anthropic", "ollama") if p in provider), None)
        if client is not None and known is None:
            self.report.add(
                f"{where}.client",
                f"model client {type(client).__name__} has no nex provider; the spec names "
                "its model only",
                "approximated",
            )
        return ModelSettings(id=str(model) if model else None, provider=known, **sampling)

    def _limits(self, agent: Any, protocol: ProtocolMiddleware | None, where: str) -> Limits:
        if protocol is not None:
            return protocol.spec.limits.model_copy(deep=True)
        config = getattr(getattr(agent, "client", None), "function_invocation_configuration", None)
        steps = (config or {}).get("max_iterations", _DEFAULT_MAX_ITERATIONS)
        self.report.add(
            f"{where}.client.function_invocation_configuration",
            f"max_iterations={steps} is limits.max_steps; when it runs out Agent Framework asks "
            "the model once more with tools disabled, the protocol stops with max_steps",
            "approximated",
        )
        return Limits(max_steps=steps)

    def _tool(
        self,
        tool: Any,
        owner: Any,
        protocol: ProtocolMiddleware | None,
        where: str,
        tools: list[ToolSpec],
        subs: list[SubAgentSpec],
    ) -> None:
        if not isinstance(tool, FunctionTool):
            label = getattr(tool, "name", None) or type(tool).__name__
            self.report.add(
                f"{where}.{label}",
                f"{type(tool).__name__} is not a function tool (a hosted or provider tool): "
                "the protocol has no such tool",
            )
            return
        here = f"{where}.{tool.name}"
        if protocol is not None and tool.name in protocol.handoffs:
            child = protocol.handoffs[tool.name]
            sub = next(s for s in protocol.spec.sub_agents if s.resolved_tool_name() == tool.name)
            subs.append(
                SubAgentSpec(
                    mode=ContextMode.HANDOFF,
                    agent=self.agent(child, here),
                    tool_name=sub.tool_name,
                    description=sub.description,
                )
            )
            return
        child = agent_of_tool(tool)
        if child is not None:
            subs.append(self._agent_tool(tool, child, f"{where}.{self.names.of(child)}"))
            return
        spec_tool = self._spec_tool(protocol, tool.name)
        if spec_tool is not None:
            tools.append(spec_tool.model_copy(deep=True))
            return
        func = tool.func
        path = import_path(func)
        binding: ImportBinding | CallableBinding
        if path is not None:
            binding = ImportBinding(path=path)
        else:
            binding = CallableBinding(ref=tool.name, func=func)
            self.report.add(
                here,
                "the function cannot be imported by path (defined in __main__ or a closure): "
                "bound as a callable; a spec file needs nex_core.bind to run it",
                "info",
            )
        tools.append(
            ToolSpec(
                name=tool.name,
                description=tool.description or "",
                parameters=tool.parameters(),
                binding=binding,
                # The framework's approval mode is the protocol's: the run pauses before it.
                approval="required" if tool.approval_mode == "always_require" else "never",
            )
        )

    @staticmethod
    def _spec_tool(protocol: ProtocolMiddleware | None, name: str) -> ToolSpec | None:
        if protocol is None:
            return None
        return next((t for t in protocol.spec.tools if t.name == name), None)

    def _agent_tool(self, tool: FunctionTool, child: Any, where: str) -> SubAgentSpec:
        spec = self.agent(child, where)
        parameters = tool.parameters()
        properties = list(parameters.get("properties") or {})
        if parameters != SUBAGENT_PARAMETERS and properties != ["task"]:
            self.report.add(
                where,
                f"the agent tool's argument is named {properties} (the protocol's is 'task')",
                "approximated",
            )
        return SubAgentSpec(
            mode=ContextMode.TOOL,
            agent=spec,
            tool_name=tool.name if tool.name != spec.name else None,
            description=tool.description
            if tool.description and tool.description != spec.description
            else None,
        )

    def _mcp(
        self, mcp: Any, where: str, servers: dict[str, MCPServerSpec], tools: list[ToolSpec]
    ) -> None:
        name = str(getattr(mcp, "name", "mcp")).replace(" ", "_")
        if isinstance(mcp, MCPStdioTool):
            servers[name] = MCPServerSpec(
                transport="stdio",
                command=mcp.command,
                args=list(getattr(mcp, "args", None) or []),
                env=dict(getattr(mcp, "env", None) or {}),
            )
        elif isinstance(mcp, MCPStreamableHTTPTool):
            servers[name] = MCPServerSpec(transport="http", url=mcp.url)
            if getattr(mcp, "_static_headers", None) or getattr(mcp, "header_provider", None):
                self.report.add(where, "HTTP headers are not carried over (secrets stay out)")
        else:
            self.report.add(where, f"{type(mcp).__name__} has no nex transport (stdio or http)")
            return
        allowed = getattr(mcp, "allowed_tools", None)
        loaded = [f.name for f in getattr(mcp, "functions", None) or []]
        names = sorted(allowed) if allowed else loaded
        if not names:
            self.report.add(
                where,
                "the server's tools are not known before it is connected; list them in the spec "
                "(binding: {kind: mcp, server: " + name + ", tool: NAME})",
            )
        for tool_name in names:
            tools.append(ToolSpec(name=tool_name, binding=MCPBinding(server=name, tool=tool_name)))

    def _unexpressed(self, agent: Any, options: dict[str, Any], where: str) -> None:
        from nex_agent_framework.teams import TeamView

        ours = (ProtocolMiddleware, ChatRecorder, FunctionRecorder, TeamView)
        for m in getattr(agent, "middleware", None) or ():
            # Agent Framework's own handoff interceptor, on the agents of a handoff workflow.
            if not isinstance(m, ours) and type(m).__name__ != "_AutoHandoffMiddleware":
                self.report.add(
                    f"{where}.middleware", f"middleware {type(m).__name__} is not carried over"
                )
        for provider in getattr(agent, "context_providers", None) or ():
            self.report.add(
                f"{where}.context_providers",
                f"context provider {type(provider).__name__} (memory, history) is not carried over",
            )
        for key, value in options.items():
            if key in _KNOWN_OPTIONS or key == "allow_multiple_tool_calls" or value is None:
                continue
            self.report.add(
                f"{where}.default_options.{key}", f"option {key}={value!r} is not carried over"
            )
        if options.get("tool_choice") not in (None, "auto"):
            self.report.add(
                f"{where}.default_options.tool_choice", "tool_choice is not carried over"
            )
