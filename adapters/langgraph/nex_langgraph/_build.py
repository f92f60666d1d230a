"""nex spec → LangGraph: one ``create_agent`` graph per spec agent.

* function tools become ``StructuredTool``s with the spec's JSON Schema (see ``_tools``), MCP tools
  ``StructuredTool``s that call the run's MCP pool (see ``_mcp``; only inside ``arun``/``run``,
  which own the servers' sessions);
* agent-as-tool sub-agents become tools that invoke the child's own graph;
* handoff sub-agents make the handoff-connected agents a ``langgraph-swarm`` swarm whose default
  agent is the one the spec starts with (``extensions.langgraph.pattern: supervisor`` builds a
  ``langgraph-supervisor`` supervisor instead, the shape a supervisor converts to);
* every agent gets :class:`ProtocolMiddleware` so errors, unknown tools, step limits and retries
  behave as in the native runtime;
* ``approval: required`` tools get LangChain's human-in-the-loop middleware (nex's
  :class:`ApprovalMiddleware`, see ``_approval``) and the graph an in-memory checkpointer when none
  is given, since a pause lives in the checkpointer.
"""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import ToolNode
from langgraph_supervisor import create_handoff_tool, create_supervisor
from langgraph_swarm import create_swarm

from nex_core.errors import AdapterError
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import (
    AgentSpec,
    ContextMode,
    MCPBinding,
    TeamSpec,
    ToolFormat,
    ToolSpec,
)
from nex_langgraph._approval import ApprovalMiddleware
from nex_langgraph._bridge import bridge_model
from nex_langgraph._mcp import MCPTools
from nex_langgraph._middleware import ProtocolMiddleware
from nex_langgraph._order import SequentialToolNodeCalls
from nex_langgraph._structured import StructuredOutputMiddleware, strategy_for
from nex_langgraph._tools import (
    function_tool,
    handoff_tool,
    mcp_tool,
    subagent_description,
    subagent_tool,
)

EXTENSION = "langgraph"
"""Key of this framework's entry in a spec's ``extensions``."""
SWARM_SUFFIX = ".swarm"


def check_buildable(spec: AgentSpec | TeamSpec) -> AgentSpec:
    """The spec, if this adapter can build it; otherwise an error that says what to use instead."""
    if isinstance(spec, TeamSpec):
        raise AdapterError(
            f"'{spec.name}' is a team; the LangGraph adapter builds agents, supervisors and "
            "swarms, "
            "not round-robin or selector teams (run it with the native or autogen adapter)"
        )
    for agent in spec.walk():
        if agent.tool_format is not ToolFormat.NATIVE:
            raise AdapterError(
                f"agent '{agent.name}' uses tool_format '{agent.tool_format.value}'; "
                "LangGraph agents "
                "call tools natively (run it with the native adapter)"
            )
    # Approval tools pause wherever an agent is built with middleware, an agent used as a tool
    # too: its graph, invoked inside the parent's tool call, inherits the parent's checkpointer,
    # so its interrupt pauses the whole run; `Command(resume=...)` runs that call again and the
    # child graph goes on from its checkpoint (``_approval.nest_requests`` records the pause).
    return spec


def approval_tools(agent: AgentSpec) -> list[str]:
    """Names of ``agent``'s tools that need a human's approval."""
    return [t.name for t in agent.tools if t.approval == "required"]


def needs_approval(spec: AgentSpec | TeamSpec) -> bool:
    return any(approval_tools(a) for a in spec.walk())


def build_graph(
    spec: AgentSpec | TeamSpec,
    model: ChatModel,
    *,
    checkpointer: Any = None,
    mcp: MCPTools | None = None,
) -> Any:
    """A compiled LangGraph graph that behaves like ``spec`` driven by the nex ``model``.

    MCP-bound tools need ``mcp``, the MCP side of a run (``arun``/``run`` provide it). A spec
    with approval tools gets an ``InMemorySaver`` when no ``checkpointer`` is given.
    """
    spec = check_buildable(spec)
    if checkpointer is None and needs_approval(spec):
        checkpointer = InMemorySaver()
    return _Builder(model, mcp).system(spec, checkpointer=checkpointer)


def handoff_component(root: AgentSpec) -> dict[str, AgentSpec]:
    """Agents reachable from ``root`` through handoffs, by name; the first definition wins."""
    found: dict[str, AgentSpec] = {}
    stack = [root]
    while stack:
        agent = stack.pop(0)
        if agent.name in found:
            continue
        found[agent.name] = agent
        stack += [s.child for s in agent.sub_agents if s.mode is ContextMode.HANDOFF]
    return found


class _Builder:
    def __init__(self, model: ChatModel, mcp: MCPTools | None = None) -> None:
        self.model = model
        self.mcp = mcp

    def system(self, agent: AgentSpec, *, checkpointer: Any = None) -> Any:
        """The graph that answers for ``agent``: a lone agent, a swarm or a supervisor."""
        if agent.extensions.get(EXTENSION, {}).get("pattern") == "supervisor":
            return self.supervisor(agent, checkpointer=checkpointer)
        component = handoff_component(agent)
        if len(component) == 1:
            return self.agent(agent, checkpointer=checkpointer)
        members = [self.agent(a) for a in component.values()]
        swarm = create_swarm(members, default_active_agent=agent.name)
        return swarm.compile(name=agent.name + SWARM_SUFFIX, checkpointer=checkpointer)

    def _tools(self, agent: AgentSpec, *, handoffs: bool) -> list[Any]:
        tools = [self._tool(agent, t) for t in agent.tools]
        for sub in agent.sub_agents:
            if sub.mode is ContextMode.TOOL:
                tools.append(subagent_tool(sub, self.system(sub.child), subagent_description(sub)))
            elif handoffs:
                tools.append(handoff_tool(sub, subagent_description(sub)))
        return tools

    def _tool(self, agent: AgentSpec, tool: ToolSpec) -> Any:
        timeout, stop = agent.limits.tool_timeout_s, tool.name in agent.stop_tools
        if not isinstance(tool.binding, MCPBinding):
            return function_tool(tool, timeout_s=timeout, stop=stop)
        if self.mcp is None:
            raise AdapterError(
                f"tool '{tool.name}' of agent '{agent.name}' is served by MCP server "
                f"'{tool.binding.server}'; MCP sessions belong to a run, so build and run this "
                "spec with nex_langgraph.arun/run (or the langgraph adapter's arun)"
            )
        return mcp_tool(tool, self.mcp, timeout_s=timeout, stop=stop)

    def _model(self, agent: AgentSpec) -> Any:
        params = agent.model.sampling()
        if not agent.parallel_tool_calls:
            params["parallel_tool_calls"] = False
        bridged = bridge_model(self.model, agent=agent.name, params=params)
        bridged.metadata = {
            EXTENSION: {"model": agent.model.model_dump(mode="json", exclude_defaults=True)}
        }
        return bridged

    def agent(self, agent: AgentSpec, *, checkpointer: Any = None) -> Any:
        tools = self._tools(agent, handoffs=True)
        middleware = ProtocolMiddleware(
            agent.name,
            max_steps=agent.limits.max_steps,
            max_model_retries=agent.limits.max_model_retries,
            tool_names=[t.name for t in tools],
            sequential_tools=not agent.parallel_tool_calls,
        )
        middlewares: list[Any] = [middleware]
        gated = approval_tools(agent)
        if gated:  # outside ProtocolMiddleware: a rejected call never reaches the tool
            middlewares.insert(0, ApprovalMiddleware(gated))
        response_format = None
        if agent.output_schema is not None:
            # Outside the retry middleware: each answer checked is one model call that may
            # itself be retried after a model error.
            middlewares.insert(0, StructuredOutputMiddleware(
                agent.name, agent.output_schema, agent.limits.max_output_retries
            ))
            response_format = strategy_for(agent.output_schema)
        return create_agent(
            self._model(agent),
            tools,
            system_prompt=agent.system_prompt or None,
            name=agent.name,
            middleware=middlewares,
            checkpointer=checkpointer,
            response_format=response_format,
        )

    def supervisor(self, agent: AgentSpec, *, checkpointer: Any = None) -> Any:
        ext = agent.extensions.get(EXTENSION, {})
        if approval_tools(agent):
            raise AdapterError(
                f"tool '{approval_tools(agent)[0]}' of supervisor '{agent.name}' needs approval, "
                "but create_supervisor builds the supervisor's agent without middleware: give "
                "the tool to a worker, or run it with the native adapter"
            )
        workers = [self.system(s.child) for s in agent.sub_agents if s.mode is ContextMode.HANDOFF]
        tools: Any = self._tools(agent, handoffs=False)
        if not agent.parallel_tool_calls:
            # create_supervisor builds its own tool node, out of reach of nex's middleware;
            # handing it a node with the turnstile (and the handoff tools it would add, named
            # as it names them) keeps one reply's calls in order, as in create_agent's agents.
            turnstile = SequentialToolNodeCalls()
            handoffs = [create_handoff_tool(agent_name=w.name) for w in workers]
            tools = ToolNode(
                [*tools, *handoffs], wrap_tool_call=turnstile.wrap, awrap_tool_call=turnstile.awrap
            )
        graph = create_supervisor(
            workers,
            model=self._model(agent),
            tools=tools,
            prompt=agent.system_prompt or None,
            supervisor_name=agent.name,
            output_mode=ext.get("output_mode", "last_message"),
            add_handoff_back_messages=ext.get("add_handoff_back_messages", True),
            parallel_tool_calls=agent.parallel_tool_calls,
        )
        return graph.compile(name=agent.name + ".supervisor", checkpointer=checkpointer)
