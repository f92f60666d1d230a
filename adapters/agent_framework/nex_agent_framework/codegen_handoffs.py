"""A spec whose agents hand off → a plain Agent Framework ``HandoffBuilder`` program.

Every agent reachable from the root by handoffs is one participant (written as :mod:`.codegen`
writes any agent, with ``require_per_service_call_history_persistence=True``, which
``HandoffBuilder`` requires); each handoff is an ``add_handoff(source, [target],
description=...)`` carrying the protocol's tool description; the root is the start agent. A
spec writes a cycle (Alice → Bob → Alice) as nested copies; a handoff workflow hands off by name,
so the copies are one participant holding every copy's handoffs (as the AutoGen builder joins
them into one Swarm participant).

What Agent Framework does its own way is not hidden: :func:`handoff_report` lists it as report
items (``nex convert`` prints them) and the program's docstring says it — the tools are named
``handoff_to_<agent>``, answer ``{"handoff_to": "<agent>"}``, a handed-to agent sees the others'
answers without their tool calls, and parallel tool calls are off.
"""

from __future__ import annotations

from nex_core.adapter import ConversionReport
from nex_core.codegen import (
    Source,
    call,
    identifier,
    program_main,
    py_literal,
    run_body,
    wrap,
)
from nex_core.errors import AdapterError
from nex_core.protocol.spec import AgentSpec, ContextMode

_HANDOFF_NOTE = (
    "This is a handoff workflow (HandoffBuilder) rooted at {name!r}. Plain Agent Framework "
    "differs from the nex protocol's handoffs here: the handoff tools are named "
    "handoff_to_<agent> (the protocol's transfer_to_<agent>, or the name the spec gives) and "
    'answer {{"handoff_to": "<agent>"}} (the protocol\'s "Transferred to <agent>."); an agent '
    "handed to sees the conversation as Agent Framework broadcasts it, the other agents' answers "
    "without their tool calls and results, and an agent that speaks again works from its own "
    "session; every agent runs with parallel tool calls off. A later --task answers the "
    "workflow's request for user input and goes to the agent that answered last."
)


def handoff_note(name: str) -> str:
    """The paragraph of the program's docstring that says how it differs (lines within 100)."""
    return "\n" + "\n".join(wrap(_HANDOFF_NOTE.format(name=name), 99)) + '\n"""\n'


_CONVERSE = '''
async def converse(workflow: Workflow, turns: list[str]) -> str:
    """The first turn starts the workflow; each later turn answers its request for user input
    (the agent that answered last goes on). The last agent answer."""
    answer = ""
    waiting: list[Any] = []
    for turn in turns:
        if waiting:
            reply = HandoffAgentUserRequest.create_response(turn)
            result = await workflow.run(responses={e.request_id: reply for e in waiting})
        else:
            result = await workflow.run(turn)
        waiting = list(result.get_request_info_events())
        for output in result.get_outputs():  # each agent answer is an output
            messages = getattr(output, "messages", None) or []
            texts = [m.text for m in messages if m.role == "assistant" and m.text]
            answer = texts[-1] if texts else answer
    return answer
'''

_RECORD = call(
    "await AgentFrameworkAdapter().arecord",
    [Source("workflow"), Source("task")],
    [("sinks", Source("[sink]"))],
)


def hands_off(agent: AgentSpec) -> bool:
    return any(s.mode is ContextMode.HANDOFF for s in agent.sub_agents)


def handoff_tool_name(target: str) -> str:
    """The name Agent Framework gives the tool that hands off to ``target`` (as
    ``agent_framework_orchestrations._handoff.get_handoff_tool_name`` writes it)."""
    import re

    return f"handoff_to_{re.sub(r'[^a-zA-Z0-9_-]', '_', target)}"[:64]


class Handoffs:
    """The participants (one per name, copies joined) and the handoffs between them."""

    def __init__(self, root: AgentSpec) -> None:
        self.members: dict[str, AgentSpec] = {}
        self.edges: dict[tuple[str, str], tuple[str, str]] = {}
        """(source, target) → (the protocol's tool name, the tool's description)."""
        self.joined: set[str] = set()
        stack = [root]
        while stack:
            agent = stack.pop(0)
            known = self.members.get(agent.name)
            if known is None:
                self.members[agent.name] = agent
            elif _plain(known) != _plain(agent):
                raise AdapterError(
                    f"two different agents named '{agent.name}' hand off in one workflow (they "
                    "differ in more than their handoffs); a handoff workflow hands off by name"
                )
            else:
                self.joined.add(agent.name)
            for sub in agent.sub_agents:
                if sub.mode is not ContextMode.HANDOFF:
                    continue
                child = sub.child
                description = (
                    sub.description
                    or f"Hand the conversation over to {child.name}. {child.description}".strip()
                )
                self.edges.setdefault(
                    (agent.name, child.name), (sub.resolved_tool_name(), description)
                )
                stack.append(child)

    def report(self, report: ConversionReport) -> None:
        for (source, target), (name, _) in self.edges.items():
            ours = handoff_tool_name(target)
            if name != ours:
                report.add(
                    f"{source}.handoffs.{target}",
                    f"the tool {name} is {ours} in Agent Framework (HandoffBuilder names its "
                    "handoff tools itself)",
                    "approximated",
                )
        root = next(iter(self.members))
        report.add(
            root,
            'a handoff tool answers {"handoff_to": "<agent>"} (the protocol: "Transferred to '
            '<agent>."), and the agent handed to sees the conversation as HandoffBuilder '
            "broadcasts it: the other agents' answers without their tool calls and results (the "
            "protocol hands over the whole shared history); an agent that speaks again works "
            "from its own session",
            "approximated",
        )
        for name, agent in self.members.items():
            if agent.parallel_tool_calls and (agent.tools or agent.sub_agents):
                report.add(
                    name,
                    "parallel tool calls are off: HandoffBuilder's copy of each agent sets "
                    "allow_multiple_tool_calls=False",
                    "approximated",
                )
        for name in sorted(self.joined):
            report.add(
                name,
                f"the spec's copies of '{name}' (a cycle of handoffs) are one participant "
                "holding every copy's handoffs: the last copy can hand off again",
                "approximated",
            )


def _plain(agent: AgentSpec) -> AgentSpec:
    """The agent as a participant: its handoffs aside, and its description."""
    subs = [s for s in agent.sub_agents if s.mode is not ContextMode.HANDOFF]
    return agent.model_copy(update={"sub_agents": subs, "description": ""})


def handoff_report(spec: AgentSpec) -> ConversionReport:
    """What the program of ``spec`` cannot carry (:class:`Handoffs`), as report items."""
    report = ConversionReport()
    Handoffs(spec).report(report)
    return report


def handoff_agents(spec: AgentSpec) -> tuple[Handoffs, list[AgentSpec]]:
    """The handoffs and every agent to write, children (agents used as tools) first."""
    handoffs = Handoffs(spec)
    order: list[AgentSpec] = []
    for member in handoffs.members.values():
        for agent in reversed(_tool_walk(member)):
            if agent.name not in {a.name for a in order}:
                order.append(agent)
    return handoffs, order


def _tool_walk(agent: AgentSpec) -> list[AgentSpec]:
    """``agent`` and the agents it calls as tools (to any depth), not those it hands off to."""
    out = [agent]
    for sub in agent.sub_agents:
        if sub.mode is not ContextMode.HANDOFF:
            out += _tool_walk(sub.child)
    return out


def handoff_code(spec: AgentSpec, handoffs: Handoffs, header: str) -> str:
    """Source of the program: ``header`` (imports and agents in), then the workflow."""
    names = list(handoffs.members)
    builders = ", ".join(f"{py_literal(n)}: build_{identifier(n)}" for n in names)
    builder = call(
        "HandoffBuilder",
        [],
        [("name", spec.name), ("participants", Source("list(members.values())"))],
    )
    lines = [
        f"        {builder(8)}",
        f"        .with_start_agent(members[{py_literal(spec.name)}])",
    ]
    for (source, target), (_, description) in handoffs.edges.items():
        expr = call(
            ".add_handoff",
            [Source(f"members[{py_literal(source)}]"), Source(f"[members[{py_literal(target)}]]")],
            [("description", description)],
        )
        lines.append(f"        {expr(8)}")
    lines.append("        .build()")
    members_line = f"MEMBER_BUILDERS = {{{builders}}}"
    if len(members_line) > 100:
        inner = "".join(f"    {py_literal(n)}: build_{identifier(n)},\n" for n in names)
        members_line = f"MEMBER_BUILDERS = {{\n{inner}}}"
    root = identifier(spec.name)
    quiet = (
        "    # An agent that hands off to no one answers the user (as the spec's last agents\n"
        "    # do); Agent Framework warns of it as of a workflow that may get stuck.\n"
        '    logging.getLogger("agent_framework_orchestrations._handoff").setLevel(logging.ERROR)\n'
    )
    workflow_def = (
        f"\n\n{members_line}\n"
        f"\n\ndef build_{root}_workflow(members: dict[str, Agent]) -> Workflow:\n"
        f'    """The handoff workflow: {spec.name!r} starts, each agent hands off as the spec '
        'says."""\n' + quiet + "    return (\n" + "\n".join(lines) + "\n    )\n"
    )
    # Entering each participant connects its MCP servers; leaving the stack closes them again.
    opens = (
        "async with contextlib.AsyncExitStack() as stack:\n"
        "        members = {\n"
        "            name: await stack.enter_async_context(build(model))\n"
        "            for name, build in MEMBER_BUILDERS.items()\n"
        "        }\n"
        f"        workflow = build_{root}_workflow(members)"
    )
    main = program_main(
        _CONVERSE,
        run_body("workflow", _RECORD, opens=opens, built=True),
        description=spec.description or spec.name,
        model_help="a nex model reference (scripted:FILE, openai:MODEL ...)",
    )
    return header + workflow_def + main
