"""LangGraph → nex spec (introspection), with a report of everything the protocol cannot hold.

Recognised shapes: ``create_agent`` / ``create_react_agent`` agents, a hand-written ``StateGraph``
with a ``ToolNode``, agents used as tools (found through what the tool's function references),
``langgraph-supervisor`` supervisors, ``langgraph-swarm`` swarms, and agents as subgraph nodes of a
hand-written graph. Anything else a graph carries — custom node code, conditional edges,
checkpointers, stores, interrupts, middleware — is listed in the :class:`ConversionReport`.
"""

from __future__ import annotations

import re
from typing import Any

from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.tools import BaseTool
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel

from nex_core.adapter import Conversion, ConversionReport
from nex_core.protocol.spec import (
    AgentSpec,
    CallableBinding,
    ContextMode,
    ImportBinding,
    Limits,
    ModelSettings,
    SubAgentSpec,
    TeamSpec,
    Termination,
    ToolSpec,
)
from nex_langgraph._bridge import NexChatModel
from nex_langgraph._build import EXTENSION
from nex_langgraph._convert_approval import approval_tools
from nex_langgraph._introspect import (
    MODEL_NODES,
    chat_model,
    import_path,
    is_agent_graph,
    node_runnable,
    referenced_graphs,
    response_format,
    search,
    system_prompt,
    tool_node,
)
from nex_langgraph._messages import tool_schema
from nex_langgraph._middleware import ProtocolMiddleware
from nex_langgraph._recording import HANDOFF_DESTINATION
from nex_langgraph._structured import output_schema_of
from nex_langgraph._tools import NEX_METADATA

START = "__start__"
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


UNNAMED = "LangGraph"
"""The name LangGraph gives a graph compiled without one (``create_agent`` too)."""
_INTERNAL_STATE = {"messages", "jump_to", "structured_response", "active_agent", "remaining_steps"}
"""State keys of LangGraph's own agents, swarms and supervisors: the protocol holds their
meaning (the conversation, the active agent, the step budget)."""


def is_unnamed(graph: Any) -> bool:
    return getattr(graph, "name", None) in (None, "", UNNAMED)


def safe_name(name: str | None, default: str = "agent") -> str:
    if not name or name == UNNAMED:
        return default
    cleaned = _BAD_NAME_CHARS.sub("_", name)[:64]
    return cleaned if re.match(r"^[A-Za-z_]", cleaned) else f"_{cleaned}"[:64]


def _closure_value(func: Any, name: str) -> Any:
    code = getattr(func, "__code__", None)
    if code is None or not func.__closure__:
        return None
    for var, cell in zip(code.co_freevars, func.__closure__, strict=False):
        if var == name:
            try:
                return cell.cell_contents
            except ValueError:
                return None
    return None


class _Converter:
    def __init__(self) -> None:
        self.report = ConversionReport()
        self.names: dict[int, tuple[Any, str]] = {}
        """id of an unnamed graph → (the graph, the name given to it); the graph is held so
        its id is not reused."""
        self.taken: set[str] = set()
        self.plain_nodes: set[str] = set()
        """Nodes of the top graph that no agent owns (custom code of a workflow)."""

    def name_of(self, graph: Any, hint: str, where: str) -> str:
        """The graph's own name, or for an unnamed graph a unique one after ``hint`` (the tool
        that calls it, the node that holds it), the same on every conversion of one graph."""
        if not is_unnamed(graph):
            name = safe_name(graph.name)
            self.taken.add(name)
            return name
        known = self.names.get(id(graph))
        if known is not None:
            return known[1]
        base = safe_name(hint)
        name, n = base, 2
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        self.names[id(graph)] = (graph, name)
        self.report.add(
            f"{where}.{name}" if where else name,
            f"the graph has no name: recorded and converted as '{name}'",
            "info",
        )
        return name

    # ------------------------------------------------------------------ entry

    def system(self, graph: Any, where: str, hint: str = "agent") -> AgentSpec | TeamSpec:
        top = not where
        if is_agent_graph(graph):
            return self.agent(graph, where, stack=(), peers={}, hint=hint)
        where = where or safe_name(getattr(graph, "name", None), "graph")
        members = self._member_nodes(graph, where)
        if top and tool_node(graph) is None:
            self.plain_nodes |= {n for n in graph.nodes if n != START and n not in members}
        self._state_keys(graph, where)
        first = self._first_node(graph)
        spec: AgentSpec | TeamSpec
        if "active_agent" in getattr(graph, "channels", {}) and members:
            spec = self._swarm(graph, members, where)
        elif (
            members
            and first in members
            and len(members) > 1
            and self._is_supervisor(graph, first, members)
        ):
            spec = self._supervisor(graph, first, members, where)
        elif members and tool_node(graph) is None:
            spec = self._pipeline(graph, members, where)
        else:
            spec = self._hand_written(graph, where)
        self._container_extras(graph, where)
        return spec

    # ------------------------------------------------------------------ agents

    def agent(
        self,
        graph: Any,
        where: str,
        *,
        stack: tuple[str, ...],
        peers: dict[str, Any],
        shallow: bool = False,
        hint: str = "agent",
    ) -> AgentSpec:
        name = self.name_of(graph, hint, where)
        here = f"{where}.{name}" if where else name
        prompt = system_prompt(graph)
        if prompt is None:
            self.report.add(here, "no system prompt found in the model node", "info")
        tools: list[ToolSpec] = []
        subs: list[SubAgentSpec] = []
        stop: list[str] = []
        node = tool_node(graph)
        for tool in node.tools_by_name.values() if node is not None else []:
            meta = tool.metadata or {}
            if HANDOFF_DESTINATION in meta:
                sub = self._handoff(
                    tool, str(meta[HANDOFF_DESTINATION]), here, (*stack, name), peers, shallow
                )
                if sub is not None:
                    subs.append(sub)
                continue
            child = self._wrapped_agent(tool)
            if child is not None:
                subs.append(self._agent_tool(tool, child, here, (*stack, name)))
                if getattr(child, "checkpointer", None) not in (None, False):
                    self.report.add(
                        f"{here}.tools.{tool.name}",
                        "the wrapped agent's checkpointer (its memory across calls) is not carried",
                    )
                continue
            tools.append(self._tool(tool, here))
            if tool.return_direct:
                stop.append(tool.name)
        limits = self._limits(graph, here)
        gated = self._approvals(graph, here, {t.name for t in tools})
        tools = [
            t.model_copy(update={"approval": "required"}) if t.name in gated else t for t in tools
        ]
        self._graph_extras(graph, here, approval=bool(gated))
        strategy = response_format(graph)
        output_schema = (
            None
            if strategy is None
            else output_schema_of(strategy, f"{here}.response_format", self.report)
        )
        return AgentSpec(
            output_schema=output_schema,
            name=name,
            system_prompt=prompt or "",
            model=self._model(graph, here),
            tools=tools,
            sub_agents=subs,
            stop_tools=stop,
            limits=limits,
        )

    def _model(self, graph: Any, where: str) -> ModelSettings:
        model = chat_model(graph)
        if model is None:
            return ModelSettings()
        if isinstance(model, NexChatModel):
            saved = (model.metadata or {}).get(EXTENSION, {}).get("model")
            return ModelSettings.model_validate(saved or {})
        model_id = getattr(model, "model_name", None) or getattr(model, "model", None)
        settings: dict[str, Any] = {"id": str(model_id) if model_id else None}
        for key in ("temperature", "top_p", "max_tokens", "seed"):
            value = getattr(model, key, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                settings[key] = value
        self.report.add(
            where,
            f"model {type(model).__name__}: only its id and sampling settings are kept",
            "info",
        )
        try:
            return ModelSettings.model_validate(settings)
        except ValueError:
            return ModelSettings(id=settings["id"])

    def _limits(self, graph: Any, where: str) -> Limits:
        found = None
        others: set[str] = set()
        for node in graph.nodes:
            if "." not in node:
                continue
            runnable = node_runnable(graph, node)
            owner = getattr(getattr(runnable, "func", None), "__self__", None)
            if isinstance(owner, ProtocolMiddleware):
                found = owner
            elif not isinstance(owner, HumanInTheLoopMiddleware):  # see _approvals
                others.add(node.split(".")[0])
        for name in sorted(others):
            self.report.add(f"{where}.middleware.{name}", "middleware is not carried")
        if found is None:
            self.report.add(
                where,
                "LangGraph semantics: tool exceptions abort the run unless the graph handles "
                "them, and "
                "runs are bounded by recursion_limit, not the protocol's limits.max_steps",
                "approximated",
            )
            return Limits()
        return Limits(max_steps=found.max_steps, max_model_retries=found.max_model_retries)

    def _approvals(self, graph: Any, where: str, tool_names: set[str]) -> set[str]:
        """Tools a ``HumanInTheLoopMiddleware`` of the agent gates (``approval: required``)."""
        gated: set[str] = set()
        seen: set[int] = set()
        for node in graph.nodes:
            runnable = node_runnable(graph, node) if "." in node else None
            owner = getattr(getattr(runnable, "func", None), "__self__", None)
            if isinstance(owner, HumanInTheLoopMiddleware) and id(owner) not in seen:
                seen.add(id(owner))
                gated |= approval_tools(owner, where, tool_names, self.report)
        return gated

    def _graph_extras(self, graph: Any, where: str, *, approval: bool = False) -> None:
        checkpointer = getattr(graph, "checkpointer", None)
        if approval and type(checkpointer).__name__ == "InMemorySaver":
            self.report.add(
                where,
                "in-memory checkpointer: built again for the approval tools' pauses",
                "info",
            )
        elif checkpointer not in (None, False):
            self.report.add(
                where, "checkpointer (conversation memory across invocations) is not carried"
            )
        if getattr(graph, "store", None) is not None:
            self.report.add(where, "store (long-term memory) is not carried")
        for attr in ("interrupt_before_nodes", "interrupt_after_nodes"):
            if getattr(graph, attr, None):
                self.report.add(where, f"{attr} (human-in-the-loop) is not carried")
        known = {START, *MODEL_NODES, "tools"}
        for node in graph.nodes:
            if node not in known and "." not in node:
                self.report.add(f"{where}.nodes.{node}", "custom node code is not carried")

    # ------------------------------------------------------------------ tools and sub-agents

    def _tool(self, tool: BaseTool, where: str) -> ToolSpec:
        meta = (tool.metadata or {}).get(NEX_METADATA, {})
        schema = tool_schema(tool)
        binding: Any
        saved = meta.get("binding")
        func = getattr(tool, "func", None) or getattr(tool, "coroutine", None)
        if isinstance(saved, str) and saved.startswith("callable:"):
            binding = CallableBinding(ref=saved.removeprefix("callable:"))
        elif isinstance(saved, str) and not saved.startswith("mcp:"):
            binding = ImportBinding(path=saved)
        elif (path := import_path(func)) is not None:
            binding = ImportBinding(path=path)
        else:
            ref = getattr(func, "__qualname__", tool.name)
            binding = CallableBinding(ref=ref, func=func)
            self.report.add(
                f"{where}.tools.{tool.name}",
                f"function {ref} cannot be imported by path; bound as an in-process callable "
                "(lost when the spec is written to a file)",
                "approximated",
            )
        return ToolSpec(
            name=tool.name,
            description=schema.description,
            parameters=schema.parameters,
            binding=binding,
            timeout_s=meta.get("timeout_s"),
        )

    def _wrapped_agent(self, tool: BaseTool) -> Any:
        for attr in ("func", "coroutine"):
            func = getattr(tool, attr, None)
            if func is None:
                continue
            for graph in referenced_graphs(func):
                return graph
        return None

    def _agent_tool(
        self, tool: BaseTool, graph: Any, where: str, stack: tuple[str, ...]
    ) -> SubAgentSpec:
        child = self._child(graph, where, stack, hint=tool.name)
        meta = (tool.metadata or {}).get(NEX_METADATA)
        if meta is not None:
            description = meta.get("description")
            if description is None and tool.description != f"Ask the agent {child.name}.":
                child = child.model_copy(update={"description": tool.description})
            return SubAgentSpec(
                mode=ContextMode.TOOL,
                agent=child,
                tool_name=meta.get("tool_name"),
                description=description,
            )
        params = sorted(tool_schema(tool).parameters.get("properties", {}))
        self.report.add(
            f"{where}.tools.{tool.name}",
            f"wraps agent '{child.name}': the protocol's agent-as-tool takes {{task}} (this tool "
            f"takes {params}) and the wrapper's own code (how it builds the input, reads the "
            "output) is not carried",
            "approximated",
        )
        return SubAgentSpec(
            mode=ContextMode.TOOL,
            agent=child,
            tool_name=tool.name if tool.name != child.name else None,
            description=tool.description or None,
        )

    def _child(
        self, graph: Any, where: str, stack: tuple[str, ...], hint: str = "agent"
    ) -> AgentSpec:
        if is_agent_graph(graph):
            return self.agent(graph, where, stack=stack, peers={}, hint=hint)
        spec = self.system(graph, where, hint=hint)
        if isinstance(spec, AgentSpec):
            return spec
        self.report.add(where, f"sub-agent '{spec.name}' is a team; only its first member is kept")
        return spec.members[0]

    def _handoff(
        self,
        tool: BaseTool,
        destination: str,
        where: str,
        stack: tuple[str, ...],
        peers: dict[str, Any],
        shallow: bool,
    ) -> SubAgentSpec | None:
        if shallow:
            return None
        graph = peers.get(destination)
        if graph is None:
            self.report.add(
                f"{where}.tools.{tool.name}",
                f"hands off to '{destination}', which is not a node of the graph",
            )
            return None
        if destination in stack:
            self.report.add(
                f"{where}.tools.{tool.name}",
                f"handoff back to '{destination}' closes a cycle; nested sub-agents cannot "
                f"express cycles, so natively this copy of '{destination}' cannot hand off "
                "again (an AutoGen Swarm built from the spec joins the copies: the cycle runs)",
                "approximated",
            )
        child = self.agent(graph, where, stack=stack, peers=peers, shallow=destination in stack)
        meta = (tool.metadata or {}).get(NEX_METADATA)
        default_name = f"transfer_to_{destination}"
        if meta is not None:
            description = meta.get("description")
            prefix = f"Hand the conversation over to {destination}."
            if description is None and tool.description.startswith(prefix):
                child = child.model_copy(
                    update={"description": tool.description.removeprefix(prefix).strip()}
                )
            return SubAgentSpec(
                mode=ContextMode.HANDOFF,
                agent=child,
                tool_name=meta.get("tool_name"),
                description=description,
            )
        generic = tool.description == f"Ask agent '{destination}' for help"
        return SubAgentSpec(
            mode=ContextMode.HANDOFF,
            agent=child,
            tool_name=tool.name if tool.name != default_name else None,
            description=None if generic else tool.description,
        )

    # ------------------------------------------------------------------ multi-agent graphs

    def _member_nodes(self, graph: Any, where: str) -> dict[str, Any]:
        members: dict[str, Any] = {}
        for node in graph.nodes:
            runnable = node_runnable(graph, node)
            if node == START or runnable is None:
                continue
            if isinstance(runnable, Pregel):
                members[node] = runnable
                continue
            func = getattr(runnable, "func", None)
            wrapped = [g for g in referenced_graphs(func) if is_agent_graph(g)] if func else []
            if len(wrapped) == 1:
                members[node] = wrapped[0]
        return members

    def _first_node(self, graph: Any) -> str | None:
        builder = getattr(graph, "builder", None)
        for source, target in getattr(builder, "edges", set()):
            if source == START:
                return str(target)
        return None

    def _is_supervisor(self, graph: Any, first: str, members: dict[str, Any]) -> bool:
        node = tool_node(members[first])
        tools = node.tools_by_name.values() if node is not None else []
        return any((t.metadata or {}).get(HANDOFF_DESTINATION) in members for t in tools)

    def _swarm(self, graph: Any, members: dict[str, Any], where: str) -> AgentSpec:
        branch = getattr(graph.builder, "branches", {}).get(START) or {}
        default = None
        for spec in branch.values():
            default = _closure_value(getattr(spec.path, "func", None), "default_active_agent")
        root = default if default in members else next(iter(members))
        self.report.add(
            where, "swarm: the active agent persists across turns ('active_agent' state)", "info"
        )
        return self.agent(members[root], where, stack=(), peers=members)

    def _supervisor(self, graph: Any, first: str, members: dict[str, Any], where: str) -> AgentSpec:
        ext: dict[str, Any] = {"pattern": "supervisor"}
        for node in members:
            func = getattr(node_runnable(graph, node), "func", None)
            for key in ("output_mode", "add_handoff_back_messages"):
                value = _closure_value(func, key) if func is not None else None
                if value is not None:
                    ext[key] = value
        self.report.add(
            where,
            "supervisor: a worker hands control back to the supervisor when it finishes (with "
            "synthetic handoff-back messages); the protocol's handoff is one-way, so the native "
            "runtime ends with "
            "the worker's answer. Kept in extensions.langgraph for rebuilding in LangGraph",
            "approximated",
        )
        spec = self.agent(members[first], where, stack=(), peers=members)
        # create_supervisor orders its handoff tools by a set; the workers' node order is stable.
        order = list(members)
        subs = sorted(
            spec.sub_agents,
            key=lambda s: order.index(s.child.name) if s.child.name in order else len(order),
        )
        return spec.model_copy(update={"extensions": {EXTENSION: ext}, "sub_agents": subs})

    def _pipeline(self, graph: Any, members: dict[str, Any], where: str) -> TeamSpec:
        order = self._edge_order(graph, list(members))
        agents = [self.agent(members[n], where, stack=(), peers={}, hint=n) for n in order]
        for node in graph.nodes:
            if node != START and node not in members:
                self.report.add(f"{where}.nodes.{node}", "custom node code is not carried")
        self.report.add(
            where,
            "agents as subgraph nodes joined by fixed edges: expressed as a round-robin team "
            "with one "
            "turn each; members see other agents' turns as user messages, not as shared history",
            "approximated",
        )
        self._branches(graph, where)
        return TeamSpec(
            name=safe_name(graph.name, "team"),
            members=agents,
            termination=Termination(max_turns=len(agents)),
        )

    def _edge_order(self, graph: Any, nodes: list[str]) -> list[str]:
        edges = dict(getattr(graph.builder, "edges", set()))
        order: list[str] = []
        current = edges.get(START)
        while current in nodes and current not in order:
            order.append(current)
            current = edges.get(current)
        return order + [n for n in nodes if n not in order]

    def _branches(self, graph: Any, where: str) -> None:
        for source, branches in getattr(graph.builder, "branches", {}).items():
            for name in branches:
                self.report.add(
                    f"{where}.edges.{source}", f"conditional edge '{name}' is not carried"
                )

    def _hand_written(self, graph: Any, where: str) -> AgentSpec:
        name = safe_name(getattr(graph, "name", None))
        node = tool_node(graph)
        tools = [self._tool(t, name) for t in (node.tools_by_name.values() if node else [])]
        prompt = ""
        for other in graph.nodes:
            runnable = node_runnable(graph, other)
            if other == START or runnable is None or runnable is node:
                continue
            self.report.add(
                f"{name}.nodes.{other}",
                "custom node code is not carried; the spec assumes a ReAct loop",
            )
            from langchain_core.messages import SystemMessage

            hits = search(getattr(runnable, "func", None), lambda o: isinstance(o, SystemMessage))
            if hits and not prompt:
                prompt = str(hits[0].content)
        for source, branches in getattr(graph.builder, "branches", {}).items():
            for branch in branches:
                severity = "approximated" if branch == "tools_condition" else "lost"
                self.report.add(
                    f"{name}.edges.{source}",
                    f"conditional edge '{branch}' is not carried",
                    severity,
                )
        if not prompt:
            self.report.add(name, "no system prompt found (it is built inside custom node code)")
        return AgentSpec(name=name, system_prompt=prompt, tools=tools)

    def _state_keys(self, graph: Any, where: str) -> None:
        """State the protocol has no place for: a workflow's own keys (a RAG graph's
        question and documents)."""
        keys = getattr(getattr(graph, "builder", None), "channels", {})
        for key in keys:
            if key not in _INTERNAL_STATE:
                self.report.add(f"{where}.state.{key}", "state key is not carried")

    def _container_extras(self, graph: Any, where: str) -> None:
        if getattr(graph, "checkpointer", None) not in (None, False):
            self.report.add(
                where, "checkpointer (conversation memory across invocations) is not carried"
            )


def recognizes(obj: Any) -> bool:
    return isinstance(obj, Pregel | StateGraph)


def to_spec(obj: Any) -> Conversion:
    """Convert a LangGraph graph (compiled or not) to a nex spec and a conversion report."""
    return converted(obj)[0]


def converted(obj: Any) -> tuple[Conversion, dict[int, tuple[Any, str]], frozenset[str]]:
    """The conversion, with what recording needs besides: the names given to unnamed graphs
    (id → (graph, name)) and the top graph's nodes that no agent owns."""
    graph = obj.compile() if isinstance(obj, StateGraph) else obj
    converter = _Converter()
    spec = converter.system(graph, "")
    conversion = Conversion(spec=spec, report=converter.report)
    return conversion, converter.names, frozenset(converter.plain_nodes)
