"""A protocol team → a plain Agent Framework group-chat program (``GroupChatBuilder``).

The members are written as :mod:`.codegen` writes any agent; the team is a ``GroupChatBuilder``
with a selection function (round-robin by the round index, or one request to the selector model
with the protocol's prompt), ``max_rounds`` from ``termination.max_turns`` and, for a
``text_mention``, a termination condition on the last member answer. Each member takes its
turn on the protocol's view of the transcript through ``MemberView``, an agent middleware written
out in the program (plain Agent Framework API, no nex code): the user's and the other members'
answers as user messages, its own as assistant messages, none of its earlier tool calls, no
session. Agent Framework's group chat alone would show it the others' answers as assistant
messages and replay its own session; with the view, the program records what ``nex run`` does.
"""

from __future__ import annotations

from nex_core.codegen import Source, call, identifier, program_main, py_literal, run_body, seq
from nex_core.protocol.spec import TeamSpec

_TEAM_NOTE = '''
This is a group chat (GroupChatBuilder) of the team {name!r}. Each member takes its turn on the
nex protocol's view of the transcript (MemberView below): the user's and the other members'
answers as user messages, its own answers as assistant messages, none of its earlier tool calls.
Without it, Agent Framework's group chat would show a member the others' answers as assistant
messages and replay the member's own session (its tool calls included).
"""
'''

_VIEW = '''

class MemberView(AgentMiddleware):
    """A member's turn on the team's transcript as the member sees it (see the docstring)."""

    def __init__(self, member: str, transcripts: dict[str, list[Message]]) -> None:
        self.member = member
        self.seen = transcripts.setdefault(member, [])

    async def process(
        self, context: AgentContext, call_next: Callable[[], Awaitable[None]]
    ) -> None:
        for message in context.messages:  # what the group chat passed on since the last turn
            other = message.role == "assistant" and message.author_name != self.member
            if message.role == "user" or (other and message.text):
                self.seen.append(Message("user", [message.text], author_name=message.author_name))
        context.messages = list(self.seen)
        context.session = None  # the view is the whole context
        await call_next()
        messages = getattr(context.result, "messages", None) or []
        answer = next((m.text for m in reversed(messages) if m.role == "assistant"), "")
        self.seen.append(Message("assistant", [answer or ""], author_name=self.member))
'''

_ROUND_ROBIN = '''

def round_robin(state: GroupChatState) -> str:
    """The next speaker in turn."""
    names = list(state.participants)
    return names[state.current_round % len(names)]
'''

_SELECTOR = '''

def model_selector(client: Any, members: dict[str, str]) -> Any:
    """A selection function that asks `client` who speaks next (the nex protocol's request)."""
    roles = "\\n".join(f"{name}: {description}" for name, description in members.items())
    prompt = (
        "You are choosing who speaks next in a conversation. The participants are:\\n"
        f"{roles}\\nReply with the name of the next speaker only."
    )

    async def select(state: GroupChatState) -> str:
        lines = [f"{m.author_name or m.role}: {m.text}" for m in state.conversation if m.text]
        request = [Message("system", [prompt]), Message("user", ["\\n".join(lines)])]
        choice = (await client.get_response(request)).text.strip()
        names = list(state.participants)
        fallback = names[state.current_round % len(names)]
        return next((n for n in names if choice == n or n in choice), fallback)

    return select
'''

_MENTION = '''

def mentioned(text: str, members: list[str]) -> Any:
    """Stop once a member's answer mentions `text`."""

    def check(conversation: list[Message]) -> bool:
        last = conversation[-1] if conversation else None
        return (
            last is not None
            and last.role == "assistant"
            and last.author_name in members
            and text in (last.text or "")
        )

    return check
'''

_CONVERSE = '''
async def converse(workflow: Workflow, turns: list[str]) -> str:
    """Each user turn runs the group chat; the last member's answer."""
    answer = ""
    for turn in turns:
        outputs = (await workflow.run(turn)).get_outputs()
        # Every member's answer is an output (output_from="all"); the team's answer is the
        # last one (the manager adds a notice of its own when max_rounds is reached).
        answers = [m.text for out in outputs for m in out.messages if m.author_name in MEMBERS]
        answer = answers[-1] if answers else answer
    return answer
'''

_RECORD = call(
    "await AgentFrameworkAdapter().arecord",
    [Source("team"), Source("task")],
    [("sinks", Source("[sink]"))],
)


def _team_main(root: str, description: str) -> str:
    # Entering each member connects its MCP servers; leaving the stack closes them again.
    opens = (
        "async with contextlib.AsyncExitStack() as stack:\n"
        "        members = [await stack.enter_async_context(b(model)) for b in MEMBER_BUILDERS]\n"
        f"        team = build_{root}(members, model)"
    )
    return program_main(
        _CONVERSE,
        run_body("team", _RECORD, opens=opens, built=True),
        description=description,
        model_help="a nex model reference (scripted:FILE, openai:MODEL ...)",
    )


def team_code(team: TeamSpec, writer: object, header: str) -> str:
    """Source of the team's program: ``header`` (imports in), then the agents ``writer`` wrote
    for the members, then the team."""
    # A member that hands off was refused by the agent writer already (no plain form).
    names = [m.name for m in team.members]
    parts = [_VIEW, _ROUND_ROBIN if team.speaker_selection == "round_robin" else _SELECTOR]
    if team.termination.text_mention:
        parts.append(_MENTION)
    kwargs: list[tuple[str, object]] = [
        ("name", team.name),
        ("participants", Source("members")),
    ]
    body = (
        "    transcripts: dict[str, list[Message]] = {}\n"
        "    for member in members:\n"
        "        member.middleware = [MemberView(str(member.name), transcripts), "
        "*(member.middleware or [])]\n"
    )
    if team.speaker_selection == "round_robin":
        kwargs.append(("selection_func", Source("round_robin")))
    else:
        settings = team.selector_model or team.members[0].model
        client_kwargs: list[tuple[str, object]] = [("max_steps", 1)]
        if settings.id:
            client_kwargs.append(("model_id", settings.id))
        client = call("chat_client", [Source("model"), team.name], client_kwargs)
        roles = {m.name: m.description for m in team.members}
        body += f"    client = {client(4, 13)}\n"
        kwargs.append(("selection_func", call("model_selector", [Source("client"), roles])))
    kwargs.append(("max_rounds", team.termination.max_turns))
    kwargs.append(("output_from", "all"))
    if team.termination.text_mention:
        kwargs.append(
            (
                "termination_condition",
                call("mentioned", [team.termination.text_mention, Source("MEMBERS")]),
            )
        )
    root = identifier(team.name)
    builders = seq([Source(f"build_{identifier(n)}") for n in names])
    team_def = (
        f"\n\nMEMBERS = {py_literal(names, 0, prefix=10)}\n"
        f"MEMBER_BUILDERS = {builders(0, 18)}\n"
        + "".join(parts)
        + f"\n\ndef build_{root}(members: list[Agent], model: ChatModel | None) -> Workflow:\n"
        f'    """The team {team.name!r}: a group chat of its members."""\n'
        + body
        + f"    return {call('GroupChatBuilder', kwargs=kwargs)(4, 7)}.build()\n"
    )
    return header + team_def + _team_main(root, team.description or team.name)


TEAM_NOTE = _TEAM_NOTE
