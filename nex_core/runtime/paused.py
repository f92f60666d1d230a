"""Where a native run paused for approval, rebuilt from its trajectory alone.

A pause sits in a *scope*: the run's top level, an agent-as-tool call's sub-agent step, or a
team member's turn. Within a scope (handoff steps included: a handoff shares its conversation)
the agent whose batch waits is the one that made the scope's last model call; that call's
request holds the conversation as sent and its reply the batch. Each call of the batch either
ran in the paused run (its tool step holds the text the model will read), paused below (its
tool step is open with :data:`~nex_core.runtime.approval.PENDING_KEY`; the scope under it is
rebuilt the same way), waits for the human (a pending request) or never started (a sequential
batch stops at a paused call). A resumed run that pauses again inside a call it carried on has
no model call of the calling agent: that call's tool step carries the batch instead
(:data:`~nex_core.runtime.approval.RESUMED_BATCH_KEY`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nex_core.errors import SpecError
from nex_core.protocol.approval import paused_for_approval
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime import approval
from nex_core.runtime.tools import describe_error, result_text
from nex_core.trajectory.schema import (
    LLMStep,
    Message,
    StepStatus,
    SubAgentStep,
    ToolCall,
    ToolStep,
    Trajectory,
)


@dataclass
class Frame:
    """One agent's waiting batch."""

    agent: AgentSpec
    history: list[Message]
    """The conversation as the agent's model saw it (no system prompt), then its reply."""
    calls: list[ToolCall]
    done: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """Calls that ran in the paused run: the text the model reads, and whether it succeeded."""
    nested: dict[str, Frame] = field(default_factory=dict)
    """Agent-as-tool calls that paused below: the sub-agent's own frame."""

    def carry(self) -> dict[str, Any]:
        """This batch as :data:`~nex_core.runtime.approval.RESUMED_BATCH_KEY` records it."""
        return {
            "agent": self.agent.name,
            "history": [m.model_dump(mode="json", exclude_none=True) for m in self.history],
            "calls": [c.model_dump(mode="json", exclude_none=True) for c in self.calls],
            "done": {cid: [text, ok] for cid, (text, ok) in self.done.items()},
        }

    def leaves(self) -> Iterator[Frame]:
        """The frames whose calls wait for the human (this one, or those paused below)."""
        if not self.nested:
            yield self
        for frame in self.nested.values():
            yield from frame.leaves()


@dataclass
class TeamPause:
    """A team paused in a member's turn: the transcript before it and the member's frame."""

    team: TeamSpec
    member: AgentSpec
    transcript: list[Message]
    turn: int
    """The paused turn's index within the task turn (speaker order, the turn budget)."""
    frame: Frame


class _Index:
    def __init__(self, spec: AgentSpec | TeamSpec, paused: Trajectory) -> None:
        self.spec = spec
        self.paused = paused
        self.agents = {a.name: a for a in spec.walk()}
        self.children: dict[str | None, list[Any]] = {}
        for step in paused.steps:
            self.children.setdefault(step.parent_id, []).append(step)
        self.order = {s.id: i for i, s in enumerate(paused.steps)}

    def agent(self, name: str | None) -> AgentSpec:
        if name not in self.agents:
            raise SpecError(f"the paused agent '{name}' is not in spec '{self.spec.name}'")
        return self.agents[name]

    def scope(self, parent: str | None) -> list[Any]:
        """The steps of one scope in start order, through handoffs, not into nested scopes."""
        out: list[Any] = []
        stack = list(reversed(self.children.get(parent, [])))
        while stack:
            step = stack.pop()
            out.append(step)
            if isinstance(step, SubAgentStep) and step.mode == "handoff":
                stack += reversed(self.children.get(step.id, []))
        out.sort(key=lambda s: self.order[s.id])
        return out

    def frame(self, parent: str | None) -> Frame:
        steps = self.scope(parent)
        last = max(
            (
                i
                for i, s in enumerate(steps)
                if isinstance(s, LLMStep) and s.status is StepStatus.OK and s.response is not None
            ),
            default=-1,
        )
        carried = next(
            (
                i
                for i, s in enumerate(steps[last + 1 :], last + 1)
                if isinstance(s, ToolStep) and approval.RESUMED_BATCH_KEY in s.metadata
            ),
            None,
        )
        where = "the run's top level" if parent is None else f"step {parent}"
        if carried is not None:
            anchor = carried
            frame = self._carried(steps[carried].metadata[approval.RESUMED_BATCH_KEY], where)
        elif last >= 0:
            anchor = last
            frame = self._from_llm(steps[last])
        else:
            raise ValueError(f"trajectory {self.paused.id}: no model call to resume in {where}")
        ids = {c.id for c in frame.calls}
        for step in steps[anchor:]:
            if not (isinstance(step, ToolStep) and step.agent == frame.agent.name):
                continue
            if step.call_id not in ids:
                continue
            if approval.PENDING_KEY in step.metadata:
                frame.done.pop(step.call_id, None)
                frame.nested[step.call_id] = self._below(step)
            elif step.status is StepStatus.OK:
                frame.done[step.call_id] = (result_text(step.result), True)
            elif step.error is not None:
                frame.done[step.call_id] = (describe_error(step.error), False)
        return frame

    def _from_llm(self, step: LLMStep) -> Frame:
        assert step.response is not None
        agent = self.agent(step.agent)
        messages = list(step.request.messages)
        if messages and messages[0].role == "system":  # the loop puts the system prompt back
            messages = messages[1:]
        return Frame(agent, [*messages, step.response.message], calls_of(agent, step))

    def _carried(self, record: Any, where: str) -> Frame:
        try:
            agent = self.agent(record["agent"])
            history = [Message.model_validate(m) for m in record["history"]]
            calls = [ToolCall.model_validate(c) for c in record["calls"]]
            done = {str(k): (str(v[0]), bool(v[1])) for k, v in record["done"].items()}
        except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
            if isinstance(exc, SpecError):
                raise
            raise ValueError(
                f"trajectory {self.paused.id}: the batch carried in {where} is malformed ({exc})"
            ) from None
        return Frame(agent, history, calls, done)

    def _below(self, tool_step: ToolStep) -> Frame:
        sub = next(
            (
                s
                for s in self.children.get(tool_step.id, [])
                if isinstance(s, SubAgentStep) and s.mode == "tool"
            ),
            None,
        )
        if sub is None:
            raise ValueError(
                f"trajectory {self.paused.id}: call {tool_step.call_id} is paused but has no "
                "sub-agent step under it"
            )
        return self.frame(sub.id)


def calls_of(agent: AgentSpec, step: LLMStep) -> list[ToolCall]:
    """The calls of a recorded reply: structured, or as a text format's parse recorded them."""
    assert step.response is not None
    if not agent.tool_format.is_text:
        return list(step.response.message.tool_calls or [])
    record = step.metadata.get("tool_format") or {}
    return [
        ToolCall.make(str(c["id"]), str(c["name"]), c.get("arguments") or "{}")
        for c in record.get("calls") or []
    ]


def waiting_requests(paused: Trajectory) -> list[Any]:
    """The pending requests of a run paused for approval; ``ValueError`` saying what does not
    fit (not paused for approval, or no request pending)."""
    if not paused_for_approval(paused):
        status = paused.outcome.status.value if paused.outcome else "none"
        raise ValueError(f"trajectory {paused.id} is not paused for approval (outcome: {status})")
    assert paused.outcome is not None
    pending = paused.outcome.pending or []
    if not pending:
        raise ValueError(f"trajectory {paused.id} is interrupted but has no pending requests")
    return pending


def rebuild(spec: AgentSpec | TeamSpec, paused: Trajectory) -> Frame | TeamPause:
    """The paused run's waiting state; raises ``ValueError``/``SpecError`` saying what does
    not fit (not paused for approval, a pending call not found where it should wait)."""
    pending = waiting_requests(paused)
    index = _Index(spec, paused)
    state: Frame | TeamPause
    if isinstance(spec, TeamSpec):
        state = _team(index, spec)
        frame = state.frame
    else:
        state = frame = index.frame(None)
    waiting = {(f.agent.name, c.id) for f in frame.leaves() for c in f.calls}
    missing = [
        str(p.get("tool_call_id"))
        for p in pending
        if (p.get("agent"), p.get("tool_call_id")) not in waiting
    ]
    if missing:
        raise ValueError(
            f"trajectory {paused.id}: pending call {', '.join(missing)} is not in the last reply "
            "of the agent that asked"
        )
    return state


def _team(index: _Index, team: TeamSpec) -> TeamPause:
    turns = [
        s
        for s in index.children.get(None, [])
        if isinstance(s, SubAgentStep) and s.mode == "team_turn"
    ]
    if not turns or approval.PENDING_KEY not in turns[-1].metadata:
        raise ValueError(f"trajectory {index.paused.id}: no paused team turn to resume")
    step = turns[-1]
    member = next((m for m in team.members if m.name == step.child), None)
    if member is None:
        raise SpecError(f"the paused member '{step.child}' is not in team '{team.name}'")
    transcript = _transcript(step.input, member.name)
    # Team turns restart at 0 with each task turn: count the members' messages since its text.
    since = next(
        (i for i in range(len(transcript) - 1, -1, -1) if transcript[i].role == "user"), -1
    )
    return TeamPause(team, member, transcript, len(transcript) - since - 1, index.frame(step.id))


def member_view(member: str, transcript: list[Message]) -> list[Message]:
    """``member``'s view of a team's shared transcript, as the native loop shows it a member
    (and an adapter resuming a team does): its own turns as assistant messages without a
    name, the others' as user messages with one."""
    out = []
    for m in transcript:
        if m.role == "assistant" and m.name == member:
            out.append(Message.assistant(m.text()))
        elif m.role == "assistant":
            out.append(Message.user(m.text(), name=m.name))
        else:
            out.append(m)
    return out


def _transcript(view: list[Message], member: str) -> list[Message]:
    """The team's shared transcript back from one member's view of it (the inverse of
    :func:`member_view`): its own turns are assistant messages without a name, the others'
    are user messages with one."""
    out = []
    for m in view:
        if m.role == "assistant":
            out.append(Message.assistant(m.text(), name=member))
        elif m.role == "user" and m.name:
            out.append(Message.assistant(m.text(), name=m.name))
        else:
            out.append(m)
    return out
