"""nex spec → the source of a plain OpenAI Agents SDK program that builds and runs it.

One ``Agent(...)`` per spec agent, in a function of its own (children first); tools, agents as
tools and handoffs come from :mod:`nex_openai_agents.codegen_runtime`, made by the functions
``nex run --backend openai-agents`` builds with, so running the program with ``--record`` gives
the trajectory ``nex run`` gives. MCP-bound tools are served by nex's MCP pool, opened around the
run (``mcp_servers``), as ``nex run`` serves them.
"""

from __future__ import annotations

from typing import Any

from nex_core.codegen import (
    MCP_OPEN,
    Source,
    build_function,
    call,
    docstring,
    identifier,
    mcp_constants,
    program_main,
    run_body,
    seq,
    wrap,
)
from nex_core.errors import AdapterError
from nex_core.protocol.spec import (
    AgentSpec,
    ContextMode,
    ImportBinding,
    MCPBinding,
    TeamSpec,
)

_HEADER = '''"""OpenAI Agents SDK program for the nex agent {name!r}.

{what}

Run it from the folder `nex run` would run the spec from (tool bindings are import paths
resolved from there):

    python <this file> --task "..."                          # the spec's OpenAI-compatible model
    python <this file> --task "..." --model scripted:s.yaml  # any nex model, offline
    python <this file> --task "..." --record runs.jsonl      # and record the trajectory

Tool errors go back to the model as "Error: <type>: <message>", `max_steps` bounds the run's
turns, a tool that cannot be bound stops the program before the first model call.
"""

from __future__ import annotations

{imports}

MAX_TURNS = {max_turns}
'''

_CONVERSE = '''
async def converse(agent: Agent, turns: list[str]) -> str:
    """Each user turn continues the conversation with the agent that answered the last one."""
    history: list = []
    answer = ""
    for turn in turns:
        result = await Runner.run(
            agent, [*history, {"role": "user", "content": turn}], max_turns=MAX_TURNS
        )
        history, agent, answer = result.to_input_list(), result.last_agent, result.final_output
    return str(answer)
'''

_RECORD = call(
    "await OpenAIAgentsAdapter().arecord",
    [Source("agent"), Source("task")],
    [("sinks", Source("[sink]")), ("max_turns", Source("MAX_TURNS"))],
)


def to_code(spec: AgentSpec | TeamSpec) -> str:
    """Source of a standalone program that builds ``spec`` with the Agents SDK and runs a task."""
    if isinstance(spec, TeamSpec):
        raise AdapterError(
            f"team '{spec.name}': the OpenAI Agents SDK has no teams; convert it to autogen or "
            "langgraph"
        )
    mcp = any(isinstance(t.binding, MCPBinding) for a in spec.walk() for t in a.tools)
    writer = _Writer(mcp)
    root = writer.agent(spec)
    build_doc = (
        f"The Agents SDK agent {spec.name!r}, driven by the nex ``model`` (None: the spec's)."
    )
    build = build_function(root, "Agent", build_doc, mcp=mcp)
    constants = mcp_constants(spec) if mcp else ""
    body = run_body("agent", _RECORD, opens=MCP_OPEN if mcp else None)
    header = _HEADER.format(
        name=spec.name,
        what=_what(spec),
        max_turns=spec.limits.max_steps,
        imports=_imports(writer.used, mcp),
    )
    main = program_main(
        _CONVERSE,
        body,
        description=spec.description or spec.name,
        model_help="a nex model instead of the spec's: scripted:FILE, openai:MODEL",
    )
    functions = "\n\n".join(writer.functions)
    return (
        f"{header}{constants}\n\n"
        "# --------------------------------------------------------------------------- the agents"
        f"\n\n\n{functions}\n\n{build}{main}"
    )


class _Writer:
    def __init__(self, mcp: bool) -> None:
        self.mcp = mcp
        self.functions: list[str] = []
        self._done: dict[int, str] = {}
        self._names: set[str] = set()
        self.used: set[str] = {"chat_model"}
        """Names the written functions use, for the imports."""

    def agent(self, spec: AgentSpec) -> str:
        if id(spec) in self._done:
            return self._done[id(spec)]
        if spec.tool_format.is_text:
            raise AdapterError(
                f"agent '{spec.name}': tool_format '{spec.tool_format.value}' has no Agents SDK "
                "form (native function calling only)"
            )
        function = self._function_name(spec.name)
        self._done[id(spec)] = function
        serial = not spec.parallel_tool_calls and bool(spec.tools)
        tools: list[Any] = [self._tool(spec, t, serial) for t in spec.tools]
        handoffs: list[Any] = []
        for sub in spec.sub_agents:
            child = self.agent(sub.child)
            name = sub.resolved_tool_name()
            if sub.mode is ContextMode.HANDOFF:
                description = (
                    sub.description
                    or f"Hand the conversation over to {sub.child.name}. "
                    f"{sub.child.description}".strip()
                )
                self.used.add("handoff")
                handoffs.append(
                    call(
                        "handoff",
                        [Source(f"{child}({self._args})")],
                        [("name", name), ("description", description)],
                    )
                )
            else:
                description = (
                    sub.description or sub.child.description or f"Ask the agent {sub.child.name}."
                )
                self.used.add("agent_tool")
                tools.append(
                    call(
                        "agent_tool",
                        [Source(f"{child}({self._args})")],
                        [
                            ("name", name),
                            ("description", description),
                            ("max_turns", sub.child.limits.max_steps),
                        ],
                    )
                )
        model_kwargs: list[tuple[str, Any]] = [("model_id", spec.model.id)]
        if spec.model.base_url:
            model_kwargs.append(("base_url", spec.model.base_url))
        if spec.model.api_key:
            model_kwargs.append(("api_key", spec.model.api_key))
        model_kwargs += list(spec.model.sampling().items())
        settings: list[tuple[str, Any]] = [
            (k, v) for k, v in spec.model.sampling().items() if k != "seed"
        ]
        if serial:
            settings.append(("parallel_tool_calls", False))
        kwargs: list[tuple[str, Any]] = [("name", spec.name)]
        if spec.system_prompt:
            kwargs.append(("instructions", spec.system_prompt))
        if spec.description:
            kwargs.append(("handoff_description", spec.description))
        kwargs.append(("model", call("chat_model", [Source("model"), spec.name], model_kwargs)))
        if settings:
            self.used.add("ModelSettings")
            kwargs.append(("model_settings", call("ModelSettings", [], settings)))
        if tools:
            kwargs.append(("tools", seq(tools)))
        if handoffs:
            kwargs.append(("handoffs", seq(handoffs)))
        if spec.stop_tools:
            self.used.add("StopAtTools")
            stop = call("StopAtTools", [], [("stop_at_tool_names", spec.stop_tools)])
            kwargs.append(("tool_use_behavior", stop))
        if spec.output_schema is not None:
            # The answer is JSON valid against the spec's schema, checked as nex checks it.
            self.used.add("SpecOutputSchema")
            kwargs.append(("output_type", call("SpecOutputSchema", [spec.output_schema])))
        doc = docstring(f"The agent {spec.name!r}.", 4)
        body = f"    {doc}\n"
        if serial:
            body += "    serial = asyncio.Lock()  # parallel_tool_calls is false: one at a time\n"
        body += f"    return {call('Agent', [], kwargs)(4, len('return '))}\n"
        params = "model: ChatModel | None" + (", mcp: MCPServers" if self.mcp else "")
        self.functions.append(f"def {function}({params}) -> Agent:\n{body}")
        return function

    @property
    def _args(self) -> str:
        return "model, mcp" if self.mcp else "model"

    def _tool(self, spec: AgentSpec, tool: Any, serial: bool) -> Any:
        binding = tool.binding
        if isinstance(binding, MCPBinding):
            kwargs_mcp: list[tuple[str, Any]] = [("server", binding.server)]
            if binding.tool:
                kwargs_mcp.append(("tool", binding.tool))
            if tool.description:
                kwargs_mcp.append(("description", tool.description))
            if tool.parameters is not None:
                kwargs_mcp.append(("parameters", tool.parameters))
            kwargs_mcp.append(("timeout_s", tool.timeout_s or spec.limits.tool_timeout_s))
            if serial:
                kwargs_mcp.append(("serial", Source("serial")))
            if tool.approval == "required":
                kwargs_mcp.append(("needs_approval", True))
            return call("mcp.tool", [tool.name], kwargs_mcp)
        if not isinstance(binding, ImportBinding):
            raise AdapterError(
                f"tool '{tool.name}' of agent '{spec.name}' is bound to an in-process callable; "
                "generated openai-agents code can only bind tools by import path or MCP server "
                "(run the spec with `nex run --backend openai-agents` instead)"
            )
        kwargs: list[tuple[str, Any]] = [("name", tool.name), ("description", tool.description)]
        if tool.parameters is not None:
            kwargs.append(("parameters", tool.parameters))
        kwargs.append(("timeout_s", tool.timeout_s or spec.limits.tool_timeout_s))
        if serial:
            kwargs.append(("serial", Source("serial")))
        if tool.approval == "required":
            kwargs.append(("needs_approval", True))
        self.used.add("import_tool")
        return call("import_tool", [tool.binding.path], kwargs)

    def _function_name(self, name: str) -> str:
        base = f"build_{identifier(name)}"
        candidate, n = base, 2
        while candidate in self._names:
            candidate, n = f"{base}_{n}", n + 1
        self._names.add(candidate)
        return candidate


def _imports(used: set[str], mcp: bool) -> str:
    stdlib = ["import argparse", "import asyncio", "import os", "import sys"]
    if mcp:
        stdlib.append("from typing import Any")
    sdk = sorted({"Agent", "Runner"} | (used & {"ModelSettings"}))
    runtime = sorted(used & {"agent_tool", "chat_model", "handoff", "import_tool"})
    classes = (["MCPServers"] if mcp else []) + sorted(used & {"SpecOutputSchema"})
    runtime = classes + runtime + (["mcp_servers"] if mcp else [])
    lines = [*stdlib, ""]
    lines.append(f"from agents import {', '.join(sdk)}")
    if "StopAtTools" in used:
        lines.append("from agents.agent import StopAtTools")
    lines += [
        "from nex_core import ChatModel, JSONLSink, NexError, TaskInfo, make_model",
        "from nex_openai_agents import OpenAIAgentsAdapter",
    ]
    runtime_line = f"from nex_openai_agents.codegen_runtime import {', '.join(runtime)}"
    if len(runtime_line) > 100:
        inner = "".join(f"    {n},\n" for n in runtime)
        runtime_line = f"from nex_openai_agents.codegen_runtime import (\n{inner})"
    lines.append(runtime_line)
    return "\n".join(lines)


def _what(spec: AgentSpec) -> str:
    agents = spec.walk()
    shapes = ["one Agent per agent"]
    if any(s.mode is ContextMode.TOOL for a in agents for s in a.sub_agents):
        shapes.append("sub-agents called as tools take {task: string}")
    if any(s.mode is ContextMode.HANDOFF for a in agents for s in a.sub_agents):
        shapes.append("handoffs pass the whole conversation")
    text = "Written by `nex convert --to openai-agents`: " + "; ".join(shapes)
    return "\n".join(wrap(text + ".", 99))
