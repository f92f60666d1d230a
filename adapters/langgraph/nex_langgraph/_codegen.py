"""nex spec → the source of a plain LangGraph program that builds and runs it.

The program is LangGraph code a user can read and keep: one ``create_agent`` per agent (with
``system_prompt=``, ``name=`` and its tools), ``create_swarm``/``create_supervisor`` where the
spec hands off, agents called as tools as tools that run the child graph, and one
``chat_model()`` function, the place to plug in a real model. It builds exactly what
``nex run --backend langgraph`` builds (the tools and middleware come from
:mod:`nex_langgraph.codegen_runtime`, made by the adapter's own builder functions), so running it
with ``--record`` gives the trajectory ``nex run`` gives.
"""

from __future__ import annotations

from typing import Any

from nex_core.codegen import (
    MCP_OPEN,
    Expr,
    Source,
    build_function,
    call,
    docstring,
    identifier,
    mcp_constants,
    program_main,
    py_literal,
    run_body,
    seq,
    sorted_names,
    wrap,
)
from nex_core.errors import AdapterError
from nex_core.protocol.spec import (
    AgentSpec,
    CallableBinding,
    ContextMode,
    ImportBinding,
    MCPBinding,
    TeamSpec,
)
from nex_langgraph._build import (
    EXTENSION,
    SWARM_SUFFIX,
    approval_tools,
    check_buildable,
    handoff_component,
    needs_approval,
)
from nex_langgraph._tools import subagent_description

_HEADER = '''"""LangGraph program for the nex agent {name!r}.

{what}

Run it from the folder `nex run` would run the spec from (tool bindings are import paths
resolved from there):

    python <this file> --task "..."                          # ChatOpenAI (langchain-openai)
    python <this file> --task "..." --model scripted:s.yaml  # any nex model, offline
    python <this file> --task "..." --record runs.jsonl      # and record the trajectory

Every agent carries nex's ProtocolMiddleware and the tools come from nex_langgraph.codegen_runtime,
so this program behaves as `nex run --backend langgraph` does: tool errors go back to the model,
`max_steps` ends an agent, a tool that cannot be bound stops the program before the first model
call.{mcp_note}
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

{imports}
'''

_CHAT_MODEL = '''
# --------------------------------------------------------------------------- the model


def chat_model(
    model: ChatModel | None,
    agent: str,
    *,
    model_id: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    parallel_tool_calls: bool = True,
    extra: dict[str, Any] | None = None,
    **sampling: Any,
) -> BaseChatModel:
    """The chat model `agent` runs on, from the spec's model settings. Plug your model in here.

    With `--model REF` (scripted:FILE, replay:FILE, openai:MODEL) the nex model answers, bridged
    into LangChain, so the same script drives this program, `nex run` and every other framework.
    Otherwise ChatOpenAI with the spec's settings; `${{env:NAME}}` references are read from the
    environment (OPENAI_API_KEY and OPENAI_BASE_URL when the spec names none).
    """
    settings = ModelSettings(
        id=model_id, base_url=base_url, api_key=api_key, extra=extra or {{}}, **sampling
    )
    if model is not None:
        return nex_chat_model(model, agent, settings, parallel_tool_calls=parallel_tool_calls)
    from langchain_openai import ChatOpenAI  # pip install langchain-openai

    options: dict[str, Any] = dict(extra or {{}})
    if not parallel_tool_calls:
        options["parallel_tool_calls"] = False
    return ChatOpenAI(
        model=model_id or "gpt-4o-mini",
        base_url=resolve_optional(base_url),
        api_key=resolve_optional(api_key),
        model_kwargs=options,
        **sampling,
    )
'''

_CONVERSE = '''
async def converse(graph: Any, turns: list[str]) -> str:
    """Each user turn continues the conversation of the one before; the last answer."""
    state: dict[str, Any] = {}
    for turn in turns:
        inputs: dict[str, Any] = {"messages": [*state.get("messages", []), HumanMessage(turn)]}
        if "active_agent" in state:  # a swarm goes on with the agent that spoke last
            inputs["active_agent"] = state["active_agent"]
        # The agents' own max_steps bound the run, not LangGraph's recursion limit.
        state = await graph.ainvoke(inputs, {"recursion_limit": 10_000})
    return str(state["messages"][-1].text)
'''

_CONVERSE_PAUSING = '''
async def converse(graph: Any, turns: list[str]) -> str:
    """The turns as one checkpointed conversation; the last answer, or what a pause waits for
    (a tool call that needs a human's approval: resume it with Command(resume=...))."""
    config: dict[str, Any] = {"recursion_limit": 10_000, "configurable": {"thread_id": "main"}}
    for turn in turns:
        state = await graph.ainvoke({"messages": [HumanMessage(turn)]}, config)
        if state.get("__interrupt__"):
            asked = [
                f"{action['name']}({action['args']})"
                for pause in state["__interrupt__"]
                for action in pause.value.get("action_requests", [])
            ]
            return "paused for approval of " + ", ".join(asked)
    return str(state["messages"][-1].text)
'''

_RECORD = call("await arecord", [Source("graph"), Source("task")], [("sinks", Source("[sink]"))])


class _Writer:
    """Writes one function per agent (and per swarm or supervisor), children first."""

    def __init__(self, mcp: bool, checkpointed: AgentSpec | None = None) -> None:
        self.mcp = mcp
        self.checkpointed = checkpointed
        self.approval = False
        """An agent has approval tools (the program imports HumanInTheLoopMiddleware)."""
        """The root agent, when the graph needs a checkpointer (approval tools pause in it)."""
        self.functions: list[str] = []
        self.runtime: set[str] = set()
        self.graph_imports: set[str] = set()
        self._done: dict[tuple[str, str], list[tuple[AgentSpec, str]]] = {}

    # ------------------------------------------------------------------ naming

    def _name(self, kind: str, agent: AgentSpec) -> tuple[str, bool]:
        """The function for ``agent`` built as ``kind``, and whether it must still be written."""
        entries = self._done.setdefault((kind, agent.name), [])
        for spec, fn in entries:
            if spec == agent:
                return fn, False
        suffix = "" if kind == "agent" else f"_{kind}"
        fn = f"build_{identifier(agent.name)}{suffix}"
        if entries:
            fn += f"_{len(entries) + 1}"
        entries.append((agent, fn))
        return fn, True

    def _call(self, fn: str) -> Source:
        return Source(f"{fn}(model, mcp)" if self.mcp else f"{fn}(model)")

    def _def(self, fn: str, doc: str, body: str) -> None:
        params = "model: ChatModel | None" + (", mcp: MCPServers" if self.mcp else "")
        head = f"def {fn}({params}) -> Any:"
        self.functions.append(f"{head}\n    {docstring(doc, 4)}\n{body}\n")

    # ------------------------------------------------------------------ systems

    def system(self, agent: AgentSpec) -> str:
        """The function returning the graph that answers for ``agent``."""
        if agent.extensions.get(EXTENSION, {}).get("pattern") == "supervisor":
            return self.supervisor(agent)
        component = handoff_component(agent)
        if len(component) == 1:
            return self.agent(agent, root=agent is self.checkpointed)
        fn, new = self._name("swarm", agent)
        if new:
            members = [self._call(self.agent(a)) for a in component.values()]
            self.graph_imports.add("from langgraph_swarm import create_swarm")
            swarm = call("create_swarm", [seq(members)], [("default_active_agent", agent.name)])
            name = agent.name + SWARM_SUFFIX
            checkpoint = self._checkpointer(agent)
            compiled = call("swarm.compile", [], [("name", name), *checkpoint])
            self._def(
                fn,
                f"A swarm of the agents {agent.name!r} hands off to; {agent.name!r} starts.",
                f"    swarm = {swarm(4, 8)}\n    return {compiled(4, 7)}",
            )
        return fn

    def _tools(self, agent: AgentSpec, *, handoffs: bool) -> list[Any]:
        tools: list[Any] = []
        timeout = agent.limits.tool_timeout_s
        for tool in agent.tools:
            kwargs: list[tuple[str, Any]] = [("name", tool.name)]
            if tool.description:
                kwargs.append(("description", tool.description))
            if tool.parameters is not None:
                kwargs.append(("parameters", tool.parameters))
            limit = tool.timeout_s or timeout
            if limit is not None:
                kwargs.append(("timeout_s", limit))
            if tool.name in agent.stop_tools:
                kwargs.append(("return_direct", True))
            binding = tool.binding
            if isinstance(binding, ImportBinding):
                self.runtime.add("import_tool")
                tools.append(call("import_tool", [binding.path], kwargs))
            elif isinstance(binding, MCPBinding):
                kwargs.insert(1, ("server", binding.server))
                if binding.tool:
                    kwargs.insert(2, ("tool", binding.tool))
                tools.append(call("mcp.tool", [kwargs.pop(0)[1]], kwargs))
            else:
                raise AdapterError(
                    f"tool '{tool.name}' of agent '{agent.name}' is an in-process callable; "
                    "generated code can only bind tools by import path or MCP server"
                )
        for sub in agent.sub_agents:
            kwargs = [("agent", sub.child.name), ("description", subagent_description(sub))]
            if sub.tool_name:
                kwargs.append(("name", sub.tool_name))
            if sub.mode is ContextMode.TOOL:
                self.runtime.add("agent_tool")
                tools.append(call("agent_tool", [self._call(self.system(sub.child))], kwargs))
            elif handoffs:
                self.runtime.add("handoff_tool")
                tools.append(call("handoff_tool", [kwargs.pop(0)[1]], kwargs))
        return tools

    def _model(self, agent: AgentSpec) -> Expr:
        settings = agent.model
        kwargs: list[tuple[str, Any]] = []
        for key, field in (("model_id", "id"), ("base_url", "base_url"), ("api_key", "api_key")):
            value = getattr(settings, field)
            if value is not None:
                kwargs.append((key, value))
        if not agent.parallel_tool_calls:
            kwargs.append(("parallel_tool_calls", False))
        if settings.extra:
            kwargs.append(("extra", settings.extra))
        for key in ("temperature", "top_p", "max_tokens", "seed"):
            value = getattr(settings, key)
            if value is not None:
                kwargs.append((key, value))
        return call("chat_model", [Source("model"), agent.name], kwargs)

    def _doc(self, agent: AgentSpec) -> str:
        about = f": {agent.description}" if agent.description else "."
        return f"The agent {agent.name!r}{about}"

    def _checkpointer(self, agent: AgentSpec) -> list[tuple[str, Any]]:
        if agent is not self.checkpointed:
            return []
        self.graph_imports.add("from langgraph.checkpoint.memory import InMemorySaver")
        return [("checkpointer", Source("InMemorySaver()"))]

    def agent(self, agent: AgentSpec, *, root: bool = False) -> str:
        fn, new = self._name("root" if root else "agent", agent)
        if not new:
            return fn
        tools = self._tools(agent, handoffs=True)
        self.runtime.add("ProtocolMiddleware")
        middleware = call(
            "ProtocolMiddleware",
            [agent.name],
            [
                ("max_steps", agent.limits.max_steps),
                ("max_model_retries", agent.limits.max_model_retries),
                ("tool_names", Source("[t.name for t in tools]")),
                # parallel_tool_calls: false — a reply's calls run one at a time, in order.
                *([("sequential_tools", True)] if not agent.parallel_tool_calls else []),
            ],
        )
        kwargs: list[tuple[str, Any]] = []
        if agent.system_prompt:
            kwargs.append(("system_prompt", agent.system_prompt))
        middlewares = [middleware]
        if agent.output_schema is not None:
            # The answer is JSON valid against the schema, checked and fed back as nex does.
            self.runtime.add("StructuredOutputMiddleware")
            checked = call(
                "StructuredOutputMiddleware",
                [agent.name, Source("output_schema")],
                [("max_retries", agent.limits.max_output_retries)],
            )
            middlewares.insert(0, checked)
        gated = approval_tools(agent)
        if gated:
            # The human approves, edits or rejects each call; an edited call runs as asked.
            self.approval = True
            approval = call(
                "HumanInTheLoopMiddleware",
                [],
                [("interrupt_on", dict.fromkeys(gated, True)), ("edit_notice", None)],
            )
            middlewares.insert(len(middlewares) - 1, approval)
        kwargs += [("name", agent.name), ("middleware", seq(middlewares))]
        if root:
            kwargs += self._checkpointer(agent)
        if agent.output_schema is not None:
            kwargs.append(("response_format", call("ProviderStrategy", [Source("output_schema")])))
        graph = call("create_agent", [self._model(agent), Source("tools")], kwargs)
        body = f"    tools: list[Any] = {seq(tools)(4, 19)}\n    return {graph(4, 7)}"
        if agent.output_schema is not None:
            head = "    output_schema: dict[str, Any] = "
            literal = py_literal(agent.output_schema, 4, prefix=len(head) - 4)
            body = f"{head}{literal}\n" + body
        self._def(fn, self._doc(agent), body)
        return fn

    def supervisor(self, agent: AgentSpec) -> str:
        fn, new = self._name("supervisor", agent)
        if not new:
            return fn
        ext = agent.extensions.get(EXTENSION, {})
        workers = [
            self._call(self.system(s.child))
            for s in agent.sub_agents
            if s.mode is ContextMode.HANDOFF
        ]
        tools = self._tools(agent, handoffs=False)
        self.graph_imports.add("from langgraph_supervisor import create_supervisor")
        kwargs: list[tuple[str, Any]] = [("model", self._model(agent)), ("tools", Source("tools"))]
        if agent.system_prompt:
            kwargs.append(("prompt", agent.system_prompt))
        kwargs += [
            ("supervisor_name", agent.name),
            ("output_mode", ext.get("output_mode", "last_message")),
            ("add_handoff_back_messages", ext.get("add_handoff_back_messages", True)),
            ("parallel_tool_calls", agent.parallel_tool_calls),
        ]
        graph = call("create_supervisor", [seq(workers)], kwargs)
        compiled = call(
            "workflow.compile",
            [],
            [("name", agent.name + ".supervisor"), *self._checkpointer(agent)],
        )
        body = (
            f"    tools: list[Any] = {seq(tools)(4, 19)}\n    workflow = {graph(4, 11)}\n"
            f"    return {compiled(4, 7)}"
        )
        self._def(fn, self._doc(agent) + " It supervises the agents it hands off to.", body)
        return fn


def _imports(writer: _Writer, mcp: bool) -> str:
    runtime = sorted_names(
        writer.runtime | {"nex_chat_model"} | ({"MCPServers", "mcp_servers"} if mcp else set())
    )
    lines = [
        "from langchain.agents import create_agent",
        *(
            ["from langchain.agents.middleware import HumanInTheLoopMiddleware"]
            if writer.approval
            else []
        ),
        *(
            ["from langchain.agents.structured_output import ProviderStrategy"]
            if "StructuredOutputMiddleware" in writer.runtime
            else []
        ),
        "from langchain_core.language_models import BaseChatModel",
        "from langchain_core.messages import HumanMessage",
        *sorted(writer.graph_imports),
        "from nex_core import ChatModel, JSONLSink, ModelSettings, NexError, TaskInfo, make_model",
        "from nex_core.protocol.secrets import resolve_optional",
        "from nex_langgraph import arecord",
        f"from nex_langgraph.codegen_runtime import {', '.join(runtime)}",
    ]
    if len(lines[-1]) > 100:
        names = "".join(f"    {n},\n" for n in runtime)
        lines[-1] = f"from nex_langgraph.codegen_runtime import (\n{names})"
    return "\n".join(lines)


def _what(spec: AgentSpec) -> str:
    agents = spec.walk()
    shapes = ["one `create_agent` graph per agent"]
    if any(s.mode is ContextMode.TOOL for a in agents for s in a.sub_agents):
        shapes.append("agents called as tools are tools that run the child graph")
    if any(s.mode is ContextMode.HANDOFF for a in agents for s in a.sub_agents):
        shapes.append("handoffs are a langgraph-swarm swarm (or a supervisor)")
    return "Plain LangGraph: " + "; ".join(shapes) + "."


def to_code(spec: AgentSpec | TeamSpec) -> str:
    """Source of a standalone program that builds ``spec`` with LangGraph and runs a task."""
    agent = check_buildable(spec)
    for each in agent.walk():
        for tool in each.tools:
            if not isinstance(tool.binding, ImportBinding | MCPBinding):
                what = (
                    "an in-process callable"
                    if isinstance(tool.binding, CallableBinding)
                    else "simulated"
                )
                raise AdapterError(
                    f"tool '{tool.name}' of agent '{each.name}' is {what}; "
                    "generated code can only bind tools by import path or MCP server"
                )
    mcp = any(isinstance(t.binding, MCPBinding) for a in agent.walk() for t in a.tools)
    writer = _Writer(mcp, agent if needs_approval(agent) else None)
    root = writer.system(agent)
    build_doc = f"The graph for {agent.name!r}, driven by the nex ``model`` (None: ChatOpenAI)."
    build = build_function(root, "Any", build_doc, mcp=mcp)
    constants = mcp_constants(agent) + "\n" if mcp else ""
    body = run_body("graph", _RECORD, opens=MCP_OPEN if mcp else None)
    header = _HEADER.format(
        name=agent.name,
        what="\n".join(wrap("Written by `nex convert --to langgraph`. " + _what(agent), 99)),
        mcp_note=(
            "\nMCP tools are served by nex's MCP pool (the servers and sessions `nex run` uses)."
            if mcp
            else ""
        ),
        imports=_imports(writer, mcp),
    )
    functions = "\n\n".join(writer.functions)
    main = program_main(
        _CONVERSE_PAUSING if writer.checkpointed is not None else _CONVERSE,
        body,
        description=agent.description or agent.name,
        model_help="a nex model instead of ChatOpenAI: scripted:FILE, openai:MODEL, ...",
    )
    return (
        f"{header}{constants}{_CHAT_MODEL.format()}\n\n"
        "# --------------------------------------------------------------------------- the agents"
        f"\n\n\n{functions}\n\n{build}{main}"
    )
