"""Agents SDK ``Agent`` → nex spec, with a report of what the protocol cannot hold.

Carried over: name, instructions (when a string), handoff description, the model (its name, or
a bridged nex model's settings) and sampling settings, ``parallel_tool_calls``, function tools
(schema as the SDK advertises it, bound by import path where the function is importable),
``Agent.as_tool`` sub-agents, handoffs (agents or ``handoff(...)`` objects), ``StopAtTools``,
stdio and streamable-HTTP MCP servers. Reported: dynamic instructions, guardrails (agent and
tool), structured output types, hosted tools, custom handoff inputs and filters, hooks, and
whatever else has no protocol field.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Literal

from agents import Agent, FunctionTool, Handoff
from agents.agent import StopAtTools

from nex_core.adapter import Conversion, ConversionReport
from nex_core.errors import AdapterError
from nex_core.protocol.spec import (
    NAME_PATTERN,
    AgentSpec,
    CallableBinding,
    ContextMode,
    ImportBinding,
    MCPServerSpec,
    ModelSettings,
    SubAgentSpec,
    ToolSpec,
)
from nex_openai_agents.bridge import NexModel
from nex_openai_agents.names import AgentNames, agent_names
from nex_openai_agents.structured import output_schema_of

_WRAPPED = "__agents_function_tool_wrapped_callable__"


def to_spec(agent: Any) -> Conversion:
    """The spec of ``agent`` and its report; an object that is not an ``Agent`` is an
    :class:`AdapterError` naming it."""
    if not isinstance(agent, Agent):
        raise AdapterError(
            f"cannot convert {type(agent).__module__}.{type(agent).__qualname__}: the "
            "openai-agents adapter converts agents.Agent objects (an agent's tools, handoffs and "
            "sub-agents come with it)"
        )
    report = ConversionReport()
    spec = _Converter(report, agent_names(agent)).agent(agent, agent.name)
    return Conversion(spec=spec, report=report)


class _Converter:
    def __init__(self, report: ConversionReport, names: AgentNames) -> None:
        self.report = report
        self.names = names
        """The recorder's names (:mod:`.names`), so a recording matches its conversion."""
        self._seen: dict[int, AgentSpec] = {}
        self._path: list[int] = []

    def agent(self, agent: Agent[Any], where: str) -> AgentSpec:
        if id(agent) in self._path:
            raise AdapterError(
                f"{where}: agent '{agent.name}' hands off back to an agent that leads to it; "
                "the protocol's sub-agents form a tree (break the cycle, or convert each agent "
                "on its own)"
            )
        if id(agent) in self._seen:
            return self._seen[id(agent)]
        self._path.append(id(agent))
        try:
            spec = self._agent(agent, where)
        finally:
            self._path.pop()
        self._seen[id(agent)] = spec
        return spec

    def _agent(self, agent: Agent[Any], where: str) -> AgentSpec:
        clash = self.names.clash(agent)
        if clash is not None:
            self.report.add(where, clash, "info")
        tools: list[ToolSpec] = []
        subs: list[SubAgentSpec] = []
        for tool in agent.tools:
            at = f"{where}.tools.{getattr(tool, 'name', type(tool).__name__)}"
            if isinstance(tool, FunctionTool) and tool._is_agent_tool:
                subs.append(self._agent_tool(tool, at))
            elif isinstance(tool, FunctionTool):
                tools.append(self._tool(tool, at))
            else:
                self.report.add(
                    at, f"hosted tool {type(tool).__name__} has no protocol form; left out"
                )
        for item in agent.handoffs:
            sub = self._handoff(item, f"{where}.handoffs")
            if sub is not None:
                subs.append(sub)
        self._check_extras(agent, where)
        return AgentSpec(
            name=_name(self.names.of(agent), where, self.report),
            description=agent.handoff_description or "",
            system_prompt=self._instructions(agent, where),
            model=self._model(agent, where),
            tools=tools,
            sub_agents=subs,
            mcp_servers=self._mcp_servers(agent, where),
            stop_tools=self._stop_tools(agent, tools, subs, where),
            parallel_tool_calls=agent.model_settings.parallel_tool_calls is not False,
            output_schema=output_schema_of(agent.output_type, f"{where}.output_type", self.report),
        )

    # ------------------------------------------------------------------ parts

    def _instructions(self, agent: Agent[Any], where: str) -> str:
        if agent.instructions is None or isinstance(agent.instructions, str):
            return agent.instructions or ""
        self.report.add(
            f"{where}.instructions",
            "instructions are a function (computed per run); the system prompt is left empty "
            "(the first system message of a recorded run shows what it produced)",
        )
        return ""

    def _model(self, agent: Agent[Any], where: str) -> ModelSettings:
        settings = agent.model_settings
        sampling = {
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "max_tokens": settings.max_tokens,
        }
        model = agent.model
        if isinstance(model, NexModel):
            given = {k: v for k, v in model.settings.items() if k in ModelSettings.model_fields}
            sampling = {**given, **{k: v for k, v in sampling.items() if v is not None}}
            model_id: str | None = model.model_id
        elif isinstance(model, str):
            model_id = model
        elif model is None:
            model_id = None
        else:
            model_id = getattr(model, "model", None)
            self.report.add(
                f"{where}.model",
                f"model object {type(model).__name__} is recorded by name only "
                f"({model_id or 'unknown'}); its client and endpoint are not in the spec",
                "approximated",
            )
        extra = dict(settings.extra_args or {})
        from agents.models.default_models import get_default_model_settings

        defaults = get_default_model_settings(model if isinstance(model, str) else None)
        for key in ("tool_choice", "reasoning", "truncation", "metadata", "store"):
            value = getattr(settings, key, None)
            if value is not None and value != getattr(defaults, key, None):
                self.report.add(
                    f"{where}.model_settings.{key}", f"{key}={value!r} has no protocol field"
                )
        return ModelSettings.model_validate(
            {"id": model_id, "extra": extra, **{k: v for k, v in sampling.items() if v is not None}}
        )

    def _tool(self, tool: FunctionTool, where: str) -> ToolSpec:
        func = _wrapped_callable(tool)
        binding: ImportBinding | CallableBinding
        path = _import_path(func) if func is not None else None
        if path is not None:
            binding = ImportBinding(path=path)
        else:
            binding = CallableBinding(ref=tool.name, func=_runner_of(tool))
            why = (
                "@function_tool replaced the module's function with the SDK tool"
                if func is not None and "<locals>" not in getattr(func, "__qualname__", "")
                else "the function is not importable by path"
            )
            self.report.add(
                where,
                f"{why}; bound in-process (nex_core.bind re-attaches it to a spec read from a "
                "file), or bind an undecorated function by import path",
                "approximated",
            )
        if tool.tool_input_guardrails or tool.tool_output_guardrails:
            self.report.add(where, "tool guardrails have no protocol form; left out")
        approval = _approval(tool, where, self.report)
        if tool.timeout_seconds is not None:
            self.report.add(where, "timeout carried over as timeout_s", "info")
        return ToolSpec(
            name=_name(tool.name, where, self.report),
            description=tool.description,
            parameters=dict(tool.params_json_schema),
            binding=binding,
            timeout_s=tool.timeout_seconds,
            approval=approval,
        )

    def _agent_tool(self, tool: FunctionTool, where: str) -> SubAgentSpec:
        child = tool._agent_instance
        self.report.add(
            where,
            "Agent.as_tool takes {input: string}; the protocol's agent-as-tool takes "
            "{task: string} (the child still gets one user message)",
            "approximated",
        )
        return SubAgentSpec(
            mode=ContextMode.TOOL,
            # at the child's name (items at the tool's path are the tool's)
            agent=self.agent(child, f"{where}.{self.names.of(child)}"),
            tool_name=tool.name if tool.name != child.name else None,
            description=tool.description or None,
        )

    def _handoff(self, item: Agent[Any] | Handoff[Any, Any], where: str) -> SubAgentSpec | None:
        child: Any
        if isinstance(item, Agent):
            child, name, description = item, None, None
        else:
            child = item._agent_ref() if item._agent_ref is not None else None
            if not isinstance(child, Agent):
                self.report.add(
                    f"{where}.{item.tool_name}",
                    f"handoff to '{item.agent_name}' does not reach its agent object; left out",
                )
                return None
            name, description = item.tool_name, item.tool_description
            if item.input_filter is not None:
                self.report.add(f"{where}.{item.tool_name}", "handoff input_filter left out")
            if item.input_json_schema.get("properties"):
                self.report.add(
                    f"{where}.{item.tool_name}",
                    "handoff input (input_type) left out: protocol handoffs take no arguments",
                )
        sub = SubAgentSpec(
            mode=ContextMode.HANDOFF,
            agent=self.agent(child, f"{where}.{self.names.of(child)}"),
            description=description,
        )
        if name and name != sub.resolved_tool_name():
            sub.tool_name = name
        return sub

    def _mcp_servers(self, agent: Agent[Any], where: str) -> dict[str, MCPServerSpec]:
        servers: dict[str, MCPServerSpec] = {}
        for server in agent.mcp_servers:
            at = f"{where}.mcp_servers.{server.name}"
            params = getattr(server, "params", None)
            if params is not None and not isinstance(params, dict):
                params = {k: getattr(params, k, None) for k in ("command", "args", "env")}
            spec: MCPServerSpec | None = None
            if isinstance(params, dict) and params.get("command"):
                spec = MCPServerSpec(
                    transport="stdio",
                    command=str(params["command"]),
                    args=[str(a) for a in params.get("args") or []],
                    env={k: str(v) for k, v in (params.get("env") or {}).items()},
                )
            elif isinstance(params, dict) and params.get("url"):
                spec = MCPServerSpec(transport="http", url=str(params["url"]))
                if params.get("headers"):
                    self.report.add(at, "HTTP headers left out (they may hold secrets)")
            if spec is None:
                self.report.add(at, f"MCP server {type(server).__name__} has no protocol form")
                continue
            servers[_name(server.name, at, self.report)] = spec
            self.report.add(
                at,
                "server declared; the SDK lists its tools at run time, so bind the ones the "
                "agent uses as tools with binding {server: NAME}",
                "approximated",
            )
        return servers

    def _stop_tools(
        self, agent: Agent[Any], tools: list[ToolSpec], subs: list[SubAgentSpec], where: str
    ) -> list[str]:
        behavior = agent.tool_use_behavior
        if behavior == "run_llm_again":
            return []
        if isinstance(behavior, dict):  # StopAtTools is a TypedDict
            return list(StopAtTools(**behavior)["stop_at_tool_names"])
        names = [t.name for t in tools] + [s.resolved_tool_name() for s in subs if s.mode == "tool"]
        if behavior == "stop_on_first_tool":
            self.report.add(
                f"{where}.tool_use_behavior",
                "stop_on_first_tool: every tool became a stop tool",
                "approximated",
            )
            return names
        self.report.add(
            f"{where}.tool_use_behavior", "a custom tool_use_behavior function is left out"
        )
        return []

    def _check_extras(self, agent: Agent[Any], where: str) -> None:
        if agent.input_guardrails:
            names = ", ".join(g.get_name() for g in agent.input_guardrails)
            self.report.add(f"{where}.input_guardrails", f"input guardrails left out: {names}")
        if agent.output_guardrails:
            names = ", ".join(g.get_name() for g in agent.output_guardrails)
            self.report.add(f"{where}.output_guardrails", f"output guardrails left out: {names}")
        if agent.hooks is not None:
            self.report.add(f"{where}.hooks", "agent hooks are code, not configuration", "info")
        if agent.prompt is not None:
            self.report.add(f"{where}.prompt", "a stored prompt (prompt=...) left out")


def _wrapped_callable(tool: FunctionTool) -> Any:
    invoker = tool.on_invoke_tool
    impl = getattr(invoker, "_invoke_tool_impl", invoker)
    return getattr(impl, _WRAPPED, None)


def _import_path(func: Any) -> str | None:
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", "")
    if not module or module == "__main__" or "<locals>" in qualname:
        return None
    try:
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        return None
    # The decorated name is the FunctionTool, not the function: bound by path it must be the
    # function itself (``function_tool`` used as a call keeps the module name free).
    return f"{module}:{qualname}" if target is func else None


def _runner_of(tool: FunctionTool) -> Any:
    """A callable that runs the SDK tool outside a run (for an in-process binding)."""
    import json

    from agents.tool_context import ToolContext

    async def run(**arguments: Any) -> Any:
        raw = json.dumps(arguments)
        ctx = ToolContext(context=None, tool_name=tool.name, tool_call_id="nex", tool_arguments=raw)
        return await tool.on_invoke_tool(ctx, raw)

    run.__name__ = tool.name
    return run


def _name(name: str, where: str, report: ConversionReport) -> str:
    if re.match(NAME_PATTERN, name):
        return name
    fixed = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64] or "agent"
    if not re.match(r"^[A-Za-z_]", fixed):
        fixed = f"_{fixed}"[:64]
    report.add(where, f"name {name!r} is not a protocol name; renamed '{fixed}'", "approximated")
    return fixed


def _approval(
    tool: FunctionTool, where: str, report: ConversionReport
) -> Literal["never", "required"]:
    """``needs_approval=True`` is ``approval: required``; a function deciding per call becomes
    ``required`` too (the protocol asks for every call: stricter, never looser). A tool a nex
    build made wait with its batch (``HeldWithBatch``) needs no approval of its own."""
    from nex_openai_agents.approval import HeldWithBatch

    setting = tool.needs_approval
    if setting is True:
        return "required"
    if setting is False or isinstance(setting, HeldWithBatch):
        return "never"
    report.add(
        f"{where}.needs_approval",
        "needs_approval is a function (approval decided per call); converted as approval: "
        "required, which asks for every call",
        "approximated",
    )
    return "required"
