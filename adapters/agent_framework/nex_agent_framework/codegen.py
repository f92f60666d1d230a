"""nex spec → a runnable, plain Agent Framework program (``nex convert SPEC --to agent-framework``).

The program is Agent Framework as its documentation writes it: one ``Agent`` per agent, its
tools ``FunctionTool`` objects over the functions the spec binds (imported by path), MCP servers
``MCPStdioTool`` / ``MCPStreamableHTTPTool``, agents used as tools ``child.as_tool(...)``, the
step limit the client's ``max_iterations``. The model comes from one function, ``chat_client``:
any nex model bridged in (``--model scripted:FILE``, ``openai:MODEL`` ...), else nex's
OpenAI-compatible client with the spec's settings.

What plain Agent Framework does its own way is said in the program's docstring (a failing tool's
text, what happens when the step limit is spent). A root agent that hands off is a
``HandoffBuilder`` workflow (:mod:`.codegen_handoffs`), a team a ``GroupChatBuilder`` one
(:mod:`.codegen_teams`); stop tools, and handoffs inside a team turn or an agent used as a tool,
have no plain Agent Framework form, so a spec with them is refused with a message saying so.
"""

from __future__ import annotations

from typing import Any

from nex_core.codegen import Source, call, docstring, identifier, program_main, run_body, seq
from nex_core.errors import AdapterError
from nex_core.protocol.spec import (
    AgentSpec,
    ContextMode,
    ImportBinding,
    MCPBinding,
    MCPServerSpec,
    SimulatedBinding,
    TeamSpec,
    ToolSpec,
)
from nex_core.runtime.tools import SUBAGENT_PARAMETERS

_HEADER = '''"""Agent Framework program for the nex agent {name!r}.

Written by `nex convert --to agent-framework`. Plain Microsoft Agent Framework: one Agent per
agent, FunctionTools over the spec's functions, agents called as tools through Agent.as_tool.

Run it from the folder `nex run` would run the spec from (tool bindings are import paths
resolved from there):

    python <this file> --task "..."                          # nex's OpenAI-compatible client
    python <this file> --task "..." --model scripted:s.yaml  # any nex model, offline
    python <this file> --task "..." --record runs.jsonl      # and record the trajectory

Agent Framework's own defaults hold where they differ from the nex protocol: a failing tool
returns "Error: Function failed." to the model, when an agent's max_iterations are spent
the model is asked once more with tools disabled, and an answer that fails an agent's
response_format is not fed back. `nex run --backend agent-framework` runs the
same spec with the protocol's semantics and records it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

{imports}

# --------------------------------------------------------------------------- the model


def chat_client(
    model: ChatModel | None,
    agent: str,
    *,
    max_steps: int,
    model_id: str | None = None,
    **settings: Any,
) -> Any:
    """The chat client `agent` runs on. Plug your own Agent Framework client in here.

    With `--model REF` the nex model answers, bridged into Agent Framework; otherwise nex's
    OpenAI-compatible client with the spec's settings (`${{env:NAME}}` references are read from the
    environment, OPENAI_API_KEY when the spec names none).
    """
    spec = ModelSettings(id=model_id, **settings)
    if model is None:
        model = make_model(f"openai:{{model_id or 'gpt-4o-mini'}}", settings=spec)
    client = bridge_model(model, agent=agent, settings=spec)
    client.function_invocation_configuration["max_iterations"] = max_steps
    return client


# --------------------------------------------------------------------------- the tools
'''

_CONVERSE = '''
async def converse(agent: Agent, turns: list[str]) -> str:
    """Each user turn continues the conversation in one session; the last answer."""
    session = agent.create_session()
    answer = ""
    for turn in turns:
        response = await agent.run(turn, session=session)
        # The last message is the answer (response.text joins the text of every message).
        answer = response.messages[-1].text if response.messages else ""
    return answer
'''

_RECORD = call(
    "await AgentFrameworkAdapter().arecord",
    [Source("agent"), Source("task")],
    [("sinks", Source("[sink]"))],
)


def to_code(spec: AgentSpec | TeamSpec) -> str:
    """Source of a runnable module that builds ``spec`` in plain Agent Framework."""
    from nex_agent_framework.codegen_handoffs import handoff_agents, hands_off

    team = spec if isinstance(spec, TeamSpec) else None
    if team is not None:
        asking = [
            f"'{m.name}': {', '.join(tools)}" for m in team.members if (tools := _approval_tools(m))
        ]
        if asking:
            raise AdapterError(
                f"team '{team.name}': members reach tools that need approval ("
                + "; ".join(asking)
                + "); Agent Framework's group chat drops a member's approval request (the "
                "turn ends empty and the run completes), so this has no plain Agent Framework "
                "form; run the spec with `nex run --backend agent-framework` (nex pauses the "
                "team's run)"
            )
    handoffs = None
    if team is None and isinstance(spec, AgentSpec) and hands_off(spec):
        # Handoffs are a HandoffBuilder workflow of every agent they reach (codegen_handoffs).
        handoffs, agents = handoff_agents(spec)
        writer = _Writer(set(handoffs.members))
        writer.af_imports.add("Workflow")
        writer.imports.add(
            "from agent_framework.orchestrations import HandoffAgentUserRequest, HandoffBuilder"
        )
    else:
        writer = _Writer()
        walked = [a for m in team.members for a in m.walk()] if team else spec.walk()
        agents = list(reversed(walked))
    for agent in agents:
        writer.agent(agent)
    if team is not None:
        writer.af_imports.update(("Workflow", "Message", "AgentContext", "AgentMiddleware"))
        writer.imports.add(
            "from agent_framework.orchestrations import GroupChatBuilder, GroupChatState"
        )
    imports = ["from agent_framework import " + ", ".join(sorted(writer.af_imports))]
    imports += [
        *writer.imports,
        "from nex_agent_framework import AgentFrameworkAdapter, bridge_model",
        "from nex_core import ChatModel, JSONLSink, ModelSettings, NexError, TaskInfo, make_model",
    ]
    # One block in module order: `ruff --isolated` (no first-party list) sorts them so.
    imports.sort(key=lambda line: line.split()[1])
    head = _HEADER.format(name=spec.name, imports="\n".join(imports))
    body = (
        "".join(writer.tool_defs)
        + "\n\n# "
        + "-" * 75
        + " the agents\n"
        + "".join(writer.agent_defs)
    )
    if handoffs is not None:
        from nex_agent_framework.codegen_handoffs import handoff_code, handoff_note

        note = handoff_note(spec.name)
        head = head.replace('"""\n\nfrom __future__', note + "\nfrom __future__", 1)
        head = head.replace(
            "import asyncio\n", "import asyncio\nimport contextlib\nimport logging\n", 1
        )
        assert isinstance(spec, AgentSpec)
        return handoff_code(spec, handoffs, head + body)
    if team is not None:
        from nex_agent_framework.codegen_teams import TEAM_NOTE, team_code

        head = head.replace("for the nex agent", "for the nex team", 1)
        head = head.replace('"""\n\nfrom __future__', TEAM_NOTE + "\nfrom __future__", 1)
        head = head.replace("import asyncio\n", "import asyncio\nimport contextlib\n", 1)
        head = head.replace(
            "from typing import Any\n",
            "from collections.abc import Awaitable, Callable\nfrom typing import Any\n",
            1,
        )
        return team_code(team, writer, head + body)
    # `async with` connects the agent's MCP servers (Agent Framework's own clients) and closes
    # them again.
    opens = f"async with build_{identifier(spec.name)}(model) as agent:"
    main = program_main(
        _CONVERSE,
        run_body("agent", _RECORD, opens=opens, built=True),
        description=spec.description or spec.name,
        model_help="a nex model reference (scripted:FILE, openai:MODEL ...)",
    )
    return head + body + main


class _Writer:
    def __init__(self, handoff_members: set[str] | None = None) -> None:
        self.handoff_members = handoff_members or set()
        """The participants of the program's handoff workflow (their handoffs are its edges)."""
        self.af_imports: set[str] = {"Agent"}
        self.imports: set[str] = set()
        self.tool_defs: list[str] = []
        self.agent_defs: list[str] = []
        self._written: set[str] = set()

    def agent(self, agent: AgentSpec) -> None:
        if agent.name in self._written:
            raise AdapterError(f"agent name '{agent.name}' is used twice; names must be unique")
        self._written.add(agent.name)
        if agent.stop_tools:
            raise AdapterError(
                f"agent '{agent.name}': stop_tools have no plain Agent Framework form; run the "
                "spec with `nex run --backend agent-framework` instead of converting it"
            )
        if agent.tool_format.is_text:
            raise AdapterError(
                f"agent '{agent.name}': tool format '{agent.tool_format}' is not supported by "
                "Agent Framework (it calls tools natively)"
            )
        tools: list[Any] = []
        for tool in agent.tools:
            if not isinstance(tool.binding, MCPBinding):
                tools.append(self._tool(agent, tool))
        for server_name, server in agent.mcp_servers.items():
            names = [
                t.binding.tool or t.name
                for t in agent.tools
                if isinstance(t.binding, MCPBinding) and t.binding.server == server_name
            ]
            if names:
                tools.append(self._mcp(server_name, server, names))
        for sub in agent.sub_agents:
            if sub.mode is ContextMode.HANDOFF and agent.name in self.handoff_members:
                continue  # an edge of the handoff workflow
            if sub.mode is ContextMode.HANDOFF:
                raise AdapterError(
                    f"agent '{agent.name}': the handoff to '{sub.child.name}' has no plain Agent "
                    "Framework form inside a team turn or an agent used as a tool (a "
                    "HandoffBuilder workflow is a program's top level); run the spec with "
                    "`nex run --backend agent-framework` instead of converting it"
                )
            child = sub.child
            asking = _approval_tools(child)
            if asking:
                raise AdapterError(
                    f"agent '{agent.name}': the agent it uses as a tool, '{child.name}', reaches "
                    f"tools that need approval ({', '.join(asking)}); Agent Framework's "
                    "as_tool fails the calling agent's tool call on an approval request, so "
                    "this has no plain Agent Framework form; run the spec with `nex run "
                    "--backend agent-framework` (nex's own agent tool pauses the whole run)"
                )
            tools.append(
                call(
                    f"build_{identifier(child.name)}(model).as_tool",
                    kwargs=[
                        ("name", sub.resolved_tool_name()),
                        (
                            "description",
                            sub.description or child.description or f"Ask the agent {child.name}.",
                        ),
                        (
                            "arg_description",
                            SUBAGENT_PARAMETERS["properties"]["task"]["description"],
                        ),
                    ],
                )
            )
        settings: list[tuple[str, Any]] = [("max_steps", agent.limits.max_steps)]
        model = agent.model
        for key in ("id", "base_url", "api_key", "temperature", "top_p", "max_tokens", "seed"):
            value = getattr(model, key)
            if value is not None:
                settings.append(("model_id" if key == "id" else key, value))
        kwargs: list[tuple[str, Any]] = [
            ("client", call("chat_client", [Source("model"), agent.name], settings)),
            ("name", agent.name),
        ]
        if agent.description:
            kwargs.append(("description", agent.description))
        if agent.system_prompt:
            kwargs.append(("instructions", agent.system_prompt))
        if tools:
            kwargs.append(("tools", seq(tools)))
        options = model.sampling()
        options = {
            k: v for k, v in options.items() if k in ("temperature", "top_p", "max_tokens", "seed")
        }
        if not agent.parallel_tool_calls:
            options["allow_multiple_tool_calls"] = False
        if agent.output_schema is not None:
            # Agent Framework takes the JSON Schema itself (response.value is its parsed JSON).
            options["response_format"] = agent.output_schema
        if options:
            kwargs.append(("default_options", options))
        if agent.name in self.handoff_members:  # HandoffBuilder requires it of participants
            kwargs.append(("require_per_service_call_history_persistence", True))
        doc = f"The agent '{agent.name}'" + (f": {agent.description}" if agent.description else ".")
        self.agent_defs.append(
            f"\n\ndef build_{identifier(agent.name)}(model: ChatModel | None) -> Agent:\n"
            f"    {docstring(doc, 4)}\n"
            f"    return {call('Agent', kwargs=kwargs)(4, 7)}\n"
        )

    def _tool(self, agent: AgentSpec, tool: ToolSpec) -> Any:
        if isinstance(tool.binding, MCPBinding):
            return None
        if isinstance(tool.binding, SimulatedBinding):
            raise AdapterError(
                f"tool '{tool.name}' of agent '{agent.name}' is simulated (a model plays it); "
                "generated code can only bind tools by import path or MCP server"
            )
        if not isinstance(tool.binding, ImportBinding):
            raise AdapterError(
                f"tool '{tool.name}' of agent '{agent.name}' is bound to an in-process callable "
                f"'{tool.binding.ref}', which a program cannot import; bind it by import path"
            )
        # Imported by path when the program starts (a binding that does not resolve stops it
        # before the first model call, naming the tool's binding), as `nex run` resolves it.
        self.imports.add("from nex_core.runtime.tools import import_callable")
        func = call("import_callable", [tool.binding.path])
        self.af_imports.add("FunctionTool")
        variable = identifier(f"{agent.name}_{tool.name}")
        parameters = tool.parameters if tool.parameters is not None else {"type": "object"}
        kwargs: list[tuple[str, Any]] = [
            ("name", tool.name),
            ("description", tool.description),
            ("func", func),
            ("input_model", parameters),
        ]
        if tool.approval == "required":  # the framework pauses for approval before it runs
            kwargs.append(("approval_mode", "always_require"))
        expr = call("FunctionTool", kwargs=kwargs)
        self.tool_defs.append(f"\n{variable.upper()} = {expr(0, len(variable) + 3)}\n")
        return Source(variable.upper())

    def _mcp(self, name: str, server: MCPServerSpec, tools: list[str]) -> Any:
        if server.transport == "stdio":
            self.af_imports.add("MCPStdioTool")
            kwargs: list[tuple[str, Any]] = [("command", server.command), ("args", server.args)]
            if server.env:
                kwargs.append(("env", server.env))
            kwargs.append(("allowed_tools", tools))
            kwargs.append(("tool_result_content", "content_first"))
            return call("MCPStdioTool", [name], kwargs)
        self.af_imports.add("MCPStreamableHTTPTool")
        kwargs = [("url", server.url), ("allowed_tools", tools)]
        kwargs.append(("tool_result_content", "content_first"))
        return call("MCPStreamableHTTPTool", [name], kwargs)


def _approval_tools(agent: AgentSpec) -> list[str]:
    """``agent/tool`` of every tool that needs approval in ``agent`` or an agent it reaches."""
    return [f"{a.name}/{t.name}" for a in agent.walk() for t in a.tools if t.approval == "required"]
