"""nex spec → the source of a plain AutoGen AgentChat program that builds and runs it.

The program is AutoGen code a user can read and keep: one agent per spec agent (AutoGen's
``AssistantAgent``, as :class:`~nex_autogen.agents.ProtocolAssistantAgent`, the subclass the
adapter builds with), agents called as tools as ``AgentTool``s, handoffs as a ``Swarm``, teams as
``RoundRobinGroupChat``/``SelectorGroupChat``, and one ``chat_model()`` function, the place to
plug in a real model. It builds exactly what ``nex run --backend autogen`` builds (the tools come
from :mod:`nex_autogen.codegen_runtime`, made by the adapter's own classes), so running it with
``--record`` gives the trajectory ``nex run`` gives.
"""

from __future__ import annotations

from typing import Any

from nex_autogen.approval import approval_tools, check_spec
from nex_autogen.build import agent_metadata, check_supported, handoff_closure, swarm_name
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
from nex_core.runtime.loop import MAX_HANDOFF_DEPTH
from nex_core.runtime.tools import tool_handles

_HEADER = '''"""AutoGen program for the nex {kind} {name!r}.

{what}

Run it from the folder `nex run` would run the spec from (tool bindings are import paths
resolved from there):

    python <this file> --task "..."                          # OpenAI client (autogen-ext[openai])
    python <this file> --task "..." --model scripted:s.yaml  # any nex model, offline
    python <this file> --task "..." --record runs.jsonl      # and record the trajectory

The tools come from nex_autogen.codegen_runtime and every agent is a ProtocolAssistantAgent
(AutoGen's AssistantAgent with the nex protocol's handoff history and team view), so this program
behaves as `nex run --backend autogen` does: tool errors go back to the model, `max_steps` bounds
an agent's tool rounds, a tool that cannot be bound stops the program before the first model
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

_APPROVAL_NOTE = """

A model answer calling a tool marked `approval=True` ends the run before any call of it runs
(the agent's answer is "waiting for approval: ..."); with `--record` the trajectory is paused
for approval, and `nex run SPEC --resume FILE --backend autogen --decision ...` goes on."""

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
) -> ChatCompletionClient:
    """The model client `agent` runs on, from the spec's model settings. Plug your model in here.

    With `--model REF` (scripted:FILE, replay:FILE, openai:MODEL) the nex model answers, bridged
    into AutoGen, so the same script drives this program, `nex run` and every other framework.
    Otherwise AutoGen's OpenAIChatCompletionClient with the spec's settings; `${env:NAME}`
    references are read from the environment (OPENAI_API_KEY when the spec names none).
    """
    settings = ModelSettings(
        id=model_id, base_url=base_url, api_key=api_key, extra=extra or {}, **sampling
    )
    if model is not None:
        return bridge_model(
            model, agent=agent, settings=settings, parallel_tool_calls=parallel_tool_calls
        )
    from autogen_ext.models.openai import OpenAIChatCompletionClient  # autogen-ext[openai]

    options: dict[str, Any] = settings.sampling()
    if not parallel_tool_calls:
        options["parallel_tool_calls"] = False
    if base_url is not None:
        options["base_url"] = resolve_optional(base_url)
    if api_key is not None:
        options["api_key"] = resolve_optional(api_key)
    return OpenAIChatCompletionClient(model=model_id or "gpt-4o-mini", **options)
'''

_CONVERSE = '''
async def converse(system: Any, turns: list[str]) -> str:
    """Each user turn continues the conversation (AutoGen agents and teams keep their state)."""
    answer = ""
    for turn in turns:
        result = await system.run(task=turn)
        answer = result.messages[-1].to_text()
    return answer
'''

_RECORD = call(
    "await AutogenAdapter().arecord",
    [Source("system"), Source("task")],
    [("sinks", Source("[sink]"))],
)


def _check(agent: AgentSpec) -> None:
    """What AutoGen cannot express is refused as the builder refuses it (MCP tools are fine
    here: the program opens the servers before it builds)."""
    for tool in agent.tools:
        if not isinstance(tool.binding, ImportBinding | MCPBinding):
            callable_ = isinstance(tool.binding, CallableBinding)
            what = "an in-process callable" if callable_ else "simulated"
            raise AdapterError(
                f"tool '{tool.name}' of agent '{agent.name}' is {what}; "
                "generated code can only bind tools by import path or MCP server"
            )
    plain = [t for t in agent.tools if not isinstance(t.binding, MCPBinding)]
    check_supported(agent.model_copy(update={"tools": plain}))


class _Writer:
    """Writes one function per agent (and per swarm or team), children first."""

    def __init__(self, mcp: bool) -> None:
        self.mcp = mcp
        self.approval = False
        """Some tool needs approval (the program's docstring says what happens then)."""
        self.functions: list[str] = []
        self.runtime: set[str] = set()
        self.autogen: set[tuple[str, str]] = set()
        self._done: dict[tuple[str, str], list[tuple[AgentSpec | TeamSpec, str]]] = {}

    def _name(self, kind: str, spec: AgentSpec | TeamSpec) -> tuple[str, bool]:
        entries = self._done.setdefault((kind, spec.name), [])
        for seen, fn in entries:
            if seen == spec:
                return fn, False
        suffix = "" if kind == "agent" else f"_{kind}"
        fn = f"build_{identifier(spec.name)}{suffix}"
        if entries:
            fn += f"_{len(entries) + 1}"
        entries.append((spec, fn))
        return fn, True

    def _call(self, fn: str) -> Source:
        return Source(f"{fn}(model, mcp)" if self.mcp else f"{fn}(model)")

    def _def(self, fn: str, returns: str, doc: str, body: str) -> None:
        params = "model: ChatModel | None" + (", mcp: MCPServers" if self.mcp else "")
        head = f"def {fn}({params}) -> {returns}:"
        self.functions.append(f"{head}\n    {docstring(doc, 4)}\n{body}\n")

    # ------------------------------------------------------------------ systems

    def system(self, agent: AgentSpec) -> tuple[str, bool]:
        """The function returning the agent, or its Swarm when it hands off (and which)."""
        members = handoff_closure(agent)
        if len(members) == 1:
            return self.agent(agent, team_view=False), False
        fn, new = self._name("swarm", agent)
        if new:
            calls = [self._call(self.agent(m, team_view=False)) for m in members]
            self.autogen.add(("autogen_agentchat.teams", "Swarm"))
            self.autogen.add(("autogen_agentchat.conditions", "FunctionalTermination"))
            self.runtime.add("answered")
            swarm = call(
                "Swarm",
                [seq(calls)],
                [
                    ("name", swarm_name(agent)),
                    ("description", agent.description or None),
                    # The run ends when an agent answers instead of handing off (the protocol).
                    ("termination_condition", Source("FunctionalTermination(answered)")),
                    ("max_turns", MAX_HANDOFF_DEPTH + 1),
                    *self._pause_message(members),
                ],
            )
            self._def(
                fn,
                "Swarm",
                f"A swarm of the agents {agent.name!r} hands off to; {agent.name!r} starts.",
                f"    return {swarm(4, 7)}",
            )
        return fn, True

    def _pause_message(self, members: list[AgentSpec]) -> list[tuple[str, Any]]:
        """A Swarm whose members may pause for approval is told of the message they end their
        turn with (a group chat refuses message types it was not told of)."""
        if not any(t.approval == "required" for m in members for t in m.tools):
            return []
        self.runtime.add("ApprovalPauseMessage")
        return [("custom_message_types", Source("[ApprovalPauseMessage]"))]

    def _model(self, spec_name: str, agent: AgentSpec | None, settings: Any) -> Expr:
        kwargs: list[tuple[str, Any]] = []
        for key, field in (("model_id", "id"), ("base_url", "base_url"), ("api_key", "api_key")):
            value = getattr(settings, field)
            if value is not None:
                kwargs.append((key, value))
        if agent is not None and not agent.parallel_tool_calls:
            kwargs.append(("parallel_tool_calls", False))
        if settings.extra:
            kwargs.append(("extra", settings.extra))
        for key in ("temperature", "top_p", "max_tokens", "seed"):
            value = getattr(settings, key)
            if value is not None:
                kwargs.append((key, value))
        return call("chat_model", [Source("model"), spec_name], kwargs)

    def _tools(self, agent: AgentSpec) -> tuple[list[Any], list[Any]]:
        tools: list[Any] = []
        handoffs: list[Any] = []
        for handle in tool_handles(agent).values():
            schema = handle.schema
            if handle.kind in ("function", "mcp"):
                assert handle.tool is not None
                tool = handle.tool
                kwargs: list[tuple[str, Any]] = [("name", tool.name)]
                if tool.description:
                    kwargs.append(("description", tool.description))
                if tool.parameters is not None:
                    kwargs.append(("parameters", tool.parameters))
                if handle.timeout_s is not None:
                    kwargs.append(("timeout_s", handle.timeout_s))
                if tool.approval == "required":
                    self.approval = True
                    kwargs.append(("approval", True))
                binding = tool.binding
                if isinstance(binding, ImportBinding):
                    self.runtime.add("import_tool")
                    tools.append(call("import_tool", [binding.path], kwargs))
                else:
                    assert isinstance(binding, MCPBinding)
                    kwargs.insert(1, ("server", binding.server))
                    if binding.tool:
                        kwargs.insert(2, ("tool", binding.tool))
                    tools.append(call("mcp.tool", [kwargs.pop(0)[1]], kwargs))
            elif handle.kind == "subagent":
                assert handle.sub_agent is not None
                fn, _ = self.system(handle.sub_agent.child)
                self.runtime.add("agent_tool")
                child = Source(f"lambda: {fn}(model, mcp)" if self.mcp else f"lambda: {fn}(model)")
                tools.append(
                    call(
                        "agent_tool",
                        [child],
                        [("name", schema.name), ("description", schema.description)],
                    )
                )
            else:
                assert handle.sub_agent is not None
                target = handle.sub_agent.child.name
                self.runtime.add("ProtocolHandoff")
                handoffs.append(
                    call(
                        "ProtocolHandoff",
                        [],
                        [
                            ("target", target),
                            ("name", schema.name),
                            ("description", schema.description),
                            ("message", f"Transferred to {target}."),
                        ],
                    )
                )
        return tools, handoffs

    def agent(self, agent: AgentSpec, *, team_view: bool) -> str:
        _check(agent)
        fn, new = self._name("member" if team_view else "agent", agent)
        if not new:
            return fn
        tools, handoffs = self._tools(agent)
        self.runtime.add("ProtocolAssistantAgent")
        kwargs: list[tuple[str, Any]] = []
        if tools and not agent.parallel_tool_calls:
            # parallel_tool_calls: false — each call waits for the one before (AutoGen would
            # start them all at once).
            self.runtime.add("SerialWorkbench")
            kwargs.append(("workbench", call("SerialWorkbench", [seq(tools)])))
        elif tools:
            kwargs.append(("tools", seq(tools)))
        if handoffs:
            kwargs.append(("handoffs", seq(handoffs)))
        kwargs += [
            ("description", agent.description),
            ("system_message", agent.system_prompt or None),
            ("max_tool_iterations", agent.limits.max_steps),
            ("reflect_on_tool_use", False),
            ("metadata", agent_metadata(agent)),
        ]
        if agent.output_schema is not None:
            # The answer is a StructuredMessage of a model standing for the spec's JSON Schema.
            self.runtime.add("output_type")
            kwargs += [
                ("output_content_type", call("output_type", [agent.output_schema])),
                ("max_output_retries", agent.limits.max_output_retries),
            ]
        if team_view:
            kwargs.append(("team_view", True))
        built = call(
            "ProtocolAssistantAgent",
            [agent.name, self._model(agent.name, agent, agent.model)],
            kwargs,
        )
        about = f": {agent.description}" if agent.description else "."
        role = " (a team member: it sees the team's transcript)" if team_view else ""
        self._def(
            fn,
            "ProtocolAssistantAgent",
            f"The agent {agent.name!r}{role}{about}",
            f"    return {built(4, 7)}",
        )
        return fn

    def team(self, team: TeamSpec) -> str:
        if not team.name.isidentifier():
            raise AdapterError(
                f"AutoGen team names must be Python identifiers; '{team.name}' is not"
            )
        for member in team.members:
            if any(s.mode is ContextMode.HANDOFF for s in member.sub_agents):
                raise AdapterError(
                    f"team member '{member.name}' hands off; handoffs inside team turns are not "
                    "supported by the autogen adapter"
                )
        fn, _ = self._name("team", team)
        members = [self._call(self.agent(m, team_view=True)) for m in team.members]
        text = team.termination.text_mention
        termination: Any = None
        if text:
            self.autogen.add(("autogen_agentchat.conditions", "TextMentionTermination"))
            names = [m.name for m in team.members]
            termination = call("TextMentionTermination", [text], [("sources", names)])
        pause: list[tuple[str, Any]] = []
        if any(approval_tools(a) for a in team.walk()):
            # As build_team: a member's pause ends the team's run (the whole run pauses, and
            # `nex run SPEC --resume` carries it on); a group chat refuses message types it
            # was not told of.
            self.autogen.add(("autogen_agentchat.conditions", "FunctionalTermination"))
            self.runtime.update(("paused_turn", "ApprovalPauseMessage"))
            stop = Source("FunctionalTermination(paused_turn)")
            termination = stop if termination is None else _either(termination, stop)
            pause = [("custom_message_types", Source("[ApprovalPauseMessage]"))]
        common: list[tuple[str, Any]] = [
            ("name", team.name),
            ("description", team.description or None),
            ("termination_condition", termination),
            ("max_turns", team.termination.max_turns),
            *pause,
        ]
        if team.speaker_selection == "round_robin":
            cls = "RoundRobinGroupChat"
            kwargs = common
        else:
            cls = "SelectorGroupChat"
            self.runtime.add("SELECTOR_PROMPT")
            selector = team.selector_model or team.members[0].model
            kwargs = [
                ("model_client", self._model(team.name, None, selector)),
                # The native runtime's speaker-selection instruction, in AutoGen's template.
                ("selector_prompt", Source("SELECTOR_PROMPT")),
                ("allow_repeated_speaker", True),
                *common,
            ]
        self.autogen.add(("autogen_agentchat.teams", cls))
        built = call(cls, [seq(members)], kwargs)
        kind = "round-robin" if cls == "RoundRobinGroupChat" else "model-selected"
        self._def(
            fn,
            cls,
            f"The {kind} team {team.name!r}: {', '.join(m.name for m in team.members)}.",
            f"    return {built(4, 7)}",
        )
        return fn


def _imports(writer: _Writer) -> str:
    runtime = sorted_names(
        writer.runtime | ({"MCPServers", "mcp_servers"} if writer.mcp else set())
    )
    by_module: dict[str, list[str]] = {}
    for module, name in writer.autogen:
        by_module.setdefault(module, []).append(name)
    lines = [f"from {m} import {', '.join(sorted_names(n))}" for m, n in sorted(by_module.items())]
    lines += [
        "from autogen_core.models import ChatCompletionClient",
        "from nex_autogen import AutogenAdapter, bridge_model",
        f"from nex_autogen.codegen_runtime import {', '.join(runtime)}",
        "from nex_core import ChatModel, JSONLSink, ModelSettings, NexError, TaskInfo, make_model",
        "from nex_core.protocol.secrets import resolve_optional",
    ]
    for i, line in enumerate(lines):
        if len(line) > 100:
            module, _, names = line.partition(" import ")
            inner = "".join(f"    {n},\n" for n in names.split(", "))
            lines[i] = f"{module} import (\n{inner})"
    return "\n".join(lines)


def _what(spec: AgentSpec | TeamSpec) -> str:
    agents = spec.walk()
    shapes = ["one AssistantAgent per agent"]
    if any(s.mode is ContextMode.TOOL for a in agents for s in a.sub_agents):
        shapes.append("agents called as tools are AgentTools")
    if any(s.mode is ContextMode.HANDOFF for a in agents for s in a.sub_agents):
        shapes.append("handoffs make a Swarm")
    if isinstance(spec, TeamSpec):
        kind = (
            "RoundRobinGroupChat"
            if spec.speaker_selection == "round_robin"
            else "SelectorGroupChat"
        )
        shapes.append(f"the team is a {kind}")
    text = "Written by `nex convert --to autogen`. Plain AutoGen AgentChat: " + "; ".join(shapes)
    return "\n".join(wrap(text + ".", 99))


def to_code(spec: AgentSpec | TeamSpec) -> str:
    """Source of a standalone program that builds ``spec`` with AutoGen and runs a task."""
    check_spec(spec)  # approval tools only where the adapter pauses
    mcp = any(isinstance(t.binding, MCPBinding) for a in spec.walk() for t in a.tools)
    writer = _Writer(mcp)
    root = writer.team(spec) if isinstance(spec, TeamSpec) else writer.system(spec)[0]
    build_doc = f"The AutoGen object for {spec.name!r}, driven by the nex ``model`` (None: OpenAI)."
    build = build_function(root, "Any", build_doc, mcp=mcp)
    constants = mcp_constants(spec) + "\n" if mcp else ""
    body = run_body("system", _RECORD, opens=MCP_OPEN if mcp else None)
    header = _HEADER.format(
        kind="team" if isinstance(spec, TeamSpec) else "agent",
        name=spec.name,
        what=_what(spec),
        mcp_note=(
            "\nMCP tools are served by nex's MCP pool (the servers and sessions `nex run` uses)."
            if mcp
            else ""
        )
        + (_APPROVAL_NOTE if writer.approval else ""),
        imports=_imports(writer),
    )
    main = program_main(
        _CONVERSE,
        body,
        description=spec.description or spec.name,
        model_help="a nex model instead of the OpenAI client: scripted:FILE, openai:MODEL",
    )
    functions = "\n\n".join(writer.functions)
    return (
        f"{header}{constants}{_CHAT_MODEL}\n\n"
        "# --------------------------------------------------------------------------- the agents"
        f"\n\n\n{functions}\n\n{build}{main}"
    )


def _either(first: Any, second: Any) -> Any:
    """``first | second``: AgentChat's termination conditions combine with ``|``."""

    def render(indent: int, prefix: int = 0) -> str:
        return f"{first(indent, prefix) if callable(first) else first} | {second}"

    return render
