"""Protocol teams as Agent Framework group chats (``agent-framework-orchestrations``).

A :class:`~nex_core.protocol.spec.TeamSpec` becomes a ``GroupChatBuilder`` workflow whose
participants are the members built as real ``Agent`` objects; what makes it the protocol's team
rather than the framework's defaults is small and explicit:

- the next speaker comes from a *selection function* (the builder's own hook): round-robin by
  the round index, or, for ``speaker_selection: model``, one request to the selector model that
  is the native runtime's (a system prompt naming the participants, the transcript as
  ``name: text`` lines), made through a bridged chat client so it is recorded as the team's
  model call;
- each member sees the transcript the protocol's way (:class:`TeamView`, an agent middleware):
  its own earlier answers as assistant messages, everyone else's as user messages, and none of
  its own earlier tool calls, where Agent Framework's session would replay them;
- ``termination.max_turns`` is ``max_rounds``; ``termination.text_mention`` a termination
  condition on the last member answer (never the task itself, which the framework also tests).

The workflow carries its :class:`TeamState` (``workflow.nex_team``) so the driver reads the
transcript's last answer as the outcome (the framework's own output appends a "maximum number of
rounds" notice), and the recorder finds the selector's client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_framework import Agent, AgentContext, AgentMiddleware, Message, Workflow

from nex_agent_framework.approval import TeamPause
from nex_agent_framework.bridge import NexChatClient
from nex_agent_framework.nested import member_paused
from nex_core.errors import AdapterError
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import ContextMode, TeamSpec
from nex_core.runtime.approval import nest
from nex_core.runtime.mcp_tools import MCPTools

TEAM_ATTRIBUTE = "nex_team"


def selector_prompt(participants: Sequence[tuple[str, str]]) -> str:
    """The native runtime's speaker-selection system prompt, word for word."""
    roles = "\n".join(f"{name}: {description}" for name, description in participants)
    return (
        "You are choosing who speaks next in a conversation. The participants are:\n"
        f"{roles}\nReply with the name of the next speaker only."
    )


def transcript_lines(conversation: Sequence[Message]) -> list[tuple[str, str]]:
    """``(speaker, text)`` of a group chat's conversation as the protocol's transcript holds
    it: the user's turns, then each member's answer (the last text of each run of messages by
    one author; the orchestrator has already dropped tool calls and results)."""
    lines: list[tuple[str, str]] = []
    last_author: str | None = None
    for message in conversation:
        role = str(message.role)
        if role == "user":
            lines.append(("user", message.text))
            last_author = None
        elif role == "assistant" and message.text:
            author = message.author_name or "assistant"
            if author == last_author:
                lines[-1] = (author, message.text)
            else:
                lines.append((author, message.text))
            last_author = author
    return lines


@dataclass
class TeamState:
    """One protocol team's run state: its spec, its selector client, and the last answer."""

    spec: TeamSpec
    selector: NexChatClient | None = None
    last_answer: str | None = None
    stop_reason: str = "max_turns"
    views: dict[str, list[Message]] = field(default_factory=dict)
    """Member → the transcript as that member has seen it so far."""
    transcript: list[Message] = field(default_factory=list)
    """The task turn and every member answer (author-named), for a resume to go on from."""
    turns: int = 0
    """Member turns taken in this task turn."""
    offset: int = 0
    """Turns taken before this group chat ran (a resumed team's chat starts at round 0)."""
    paused: TeamPause | None = None
    """The member turn that paused for approval (the chat then stops)."""

    def reset(self, task: str = "") -> None:
        self.last_answer = None
        self.stop_reason = "max_turns"
        self.views.clear()
        self.transcript = [Message("user", [task])]
        self.turns = self.offset = 0
        self.paused = None

    def answered(self, member: str, answer: str | None) -> None:
        """A member's turn ended with ``answer``."""
        self.transcript.append(Message("assistant", [answer or ""], author_name=member))
        self.turns += 1
        self.last_answer = answer
        mention = self.spec.termination.text_mention
        if mention and answer and mention in answer:
            self.stop_reason = f"text_mention:{mention}"


class TeamView(AgentMiddleware):
    """A member's turn on the protocol's view of the transcript (see the module docstring)."""

    def __init__(self, member: str, state: TeamState) -> None:
        self.member = member
        self.state = state

    async def process(
        self, context: AgentContext, call_next: Callable[[], Awaitable[None]]
    ) -> None:
        from agent_framework import AgentResponse

        from nex_agent_framework.run import final_text

        view = self.state.views.setdefault(self.member, [])
        for message in context.messages:
            view.extend(_as_seen_by(self.member, message))
        context.messages = list(view)
        # No session: the view is the whole context (a session would replay this member's own
        # earlier requests, tool calls included).
        context.session = None
        await call_next()
        paused = member_paused(context)
        if paused is not None:  # the whole run pauses; the chat's termination check stops it
            member_run, pending = paused
            self.state.paused = TeamPause(
                self.member,
                self.state.turns,
                list(context.messages),
                member_run,
                nest(pending, self.state.spec.name),
            )
            return
        result = context.result
        answer = final_text(result) if isinstance(result, AgentResponse) else None
        view.append(Message("assistant", [answer or ""], author_name=self.member))
        self.state.answered(self.member, answer)


def _as_seen_by(member: str, message: Message) -> list[Message]:
    role = str(message.role)
    text = message.text
    if role == "user":
        return [Message("user", [text], author_name=message.author_name)]
    if role == "assistant" and text and message.author_name != member:
        return [Message("user", [text], author_name=message.author_name)]
    if role == "assistant" and message.author_name == member:
        # Only a resumed team's chat gives a member its own answers (its transcript as input).
        return [Message("assistant", [text], author_name=member)]
    return []


class _Selector:
    """The selection function of a team: round-robin, or the native runtime's model request."""

    def __init__(self, state: TeamState) -> None:
        self.state = state
        self.members = [m.name for m in state.spec.members]

    async def __call__(self, group: Any) -> str:
        turn = int(group.current_round) + self.state.offset
        fallback = self.members[turn % len(self.members)]
        client = self.state.selector
        if client is None:
            return fallback
        participants = [(m.name, m.description) for m in self.state.spec.members]
        conversation = "\n".join(f"{s}: {t}" for s, t in transcript_lines(group.conversation))
        response = await client.get_response(
            [
                Message("system", [selector_prompt(participants)]),
                Message("user", [conversation]),
            ]
        )
        choice = (response.text or "").strip()
        for name in self.members:
            if choice == name or name in choice:
                return name
        return fallback


def _terminated(state: TeamState) -> Callable[[list[Message]], bool]:
    members = {m.name for m in state.spec.members}
    mention = state.spec.termination.text_mention

    def check(conversation: list[Message]) -> bool:
        if state.paused is not None:
            return True
        if not mention or not conversation:
            return False
        last = conversation[-1]
        return (
            str(last.role) == "assistant"
            and last.author_name in members
            and mention in (last.text or "")
        )

    return check


def build_team(team: TeamSpec, model: ChatModel, mcp: MCPTools | None = None) -> Workflow:
    """``team`` as a ``GroupChatBuilder`` workflow (``workflow.nex_team`` holds its state)."""
    from nex_agent_framework.build import build_agent

    for member in team.members:
        if any(s.mode is ContextMode.HANDOFF for s in member.sub_agents):
            raise AdapterError(
                f"team '{team.name}': member '{member.name}' hands off; a handoff inside a team "
                "turn is not supported by the agent-framework adapter"
            )
    state = TeamState(spec=team)
    members: list[Agent] = []
    for member_spec in team.members:
        agent = build_agent(member_spec, model, mcp)
        agent.middleware = [TeamView(member_spec.name, state), *(agent.middleware or [])]
        members.append(agent)
    if team.speaker_selection == "model":
        settings = team.selector_model or team.members[0].model
        state.selector = NexChatClient(model, agent=team.name, settings=settings)
    return group_chat(state, members, team.termination.max_turns)


def group_chat(state: TeamState, members: list[Any], max_rounds: int) -> Workflow:
    """The group chat of a team's members (``max_rounds`` member turns at most)."""
    from agent_framework_orchestrations import GroupChatBuilder

    team = state.spec
    workflow = GroupChatBuilder(
        name=team.name,
        participants=members,
        selection_func=_Selector(state),
        orchestrator_name=team.name,
        max_rounds=max_rounds,
        termination_condition=_terminated(state),
    ).build()
    setattr(workflow, TEAM_ATTRIBUTE, state)
    return workflow


def team_state(obj: Any) -> TeamState | None:
    """The protocol team state of a workflow this adapter built, else ``None``."""
    state = getattr(obj, TEAM_ATTRIBUTE, None)
    return state if isinstance(state, TeamState) else None
