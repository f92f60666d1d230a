"""What one recorded graph run needs beyond its steps: its input as given, its output as returned,
the interrupts it paused on, and which agent a plain node's model calls belong to.

:class:`SessionHandler` extends the recording callback handler with the run-level facts the
callbacks carry: the top run's output (the graph's final state, whatever its stream mode), each
``GraphInterrupt`` raised on the way up (a node's ``interrupt()``, ``HumanInTheLoopMiddleware``),
and the nodes of a workflow that no agent owns, whose model calls are the node's own. In a graph
whose nodes are agents joined by fixed edges (converted to a team), each member's run is a
``team_turn`` step of the team, as the native runtime records the team the conversion gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langgraph.errors import GraphInterrupt
from langgraph.types import Command

from nex_core.protocol.approval import ApprovalRequest
from nex_core.trajectory.recorder import Recorder, to_jsonable
from nex_langgraph._approval import approval_requests
from nex_langgraph._messages import content_text
from nex_langgraph._recording import NexCallbackHandler
from nex_langgraph._recording import _input_messages as input_messages

_NO_OUTPUT: Any = object()


class SessionHandler(NexCallbackHandler):
    """The recording handler of one session: steps, plus the top run's output and interrupts."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        root_agent: str,
        agents: Iterable[str],
        plain_nodes: Iterable[str] = (),
        team_members: Iterable[str] = (),
    ) -> None:
        super().__init__(recorder, root_agent=root_agent, agents=agents)
        self.plain_nodes = frozenset(plain_nodes) - self.agents
        self.team_members = frozenset(team_members)
        """Members of the team ``root_agent`` names, when the graph is one."""
        self.top_run: UUID | None = None
        self.output: Any = _NO_OUTPUT
        self.interrupts: dict[str, Any] = {}
        """Interrupt id → its value, for the current top run (a resume clears them)."""
        self.approvals: dict[str, list[ApprovalRequest]] = {}
        """Interrupt id → the tool calls it asks approval for (a human-in-the-loop pause)."""
        self.last_calls: dict[str, list[tuple[str, str, Any]]] = {}
        """Agent → its last model answer's tool calls (id, name, arguments)."""

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        with self._lock:
            top = parent_run_id is None or parent_run_id not in self._s.runs
            if top and self.top_run is None:
                self.top_run, self.output = run_id, _NO_OUTPUT
                self.interrupts, self.approvals = {}, {}
            super().on_chain_start(
                serialized, inputs, run_id=run_id, parent_run_id=parent_run_id, **kwargs
            )
            if parent_run_id is None or parent_run_id != self.top_run:
                return
            run = self._s.runs[run_id]
            if run.name in self.plain_nodes:
                run.agent = run.name  # a workflow's own node: its model calls are its own
            elif run.name in self.team_members and run.step is None:
                run.step = self.recorder.begin_subagent(
                    agent=self.root_agent,
                    child=run.name,
                    mode="team_turn",
                    input=input_messages(inputs),
                    parent_id=None,
                )
                run.agent, run.ctx, run.agent_root = run.name, run.step.id, True

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            if run_id == self.top_run:
                self.top_run, self.output = None, outputs
            super().on_chain_end(outputs, run_id=run_id, **kwargs)

    def llm_ended(self, run_id: Any, response: Any, name: str | None) -> None:
        with self._lock:
            run = self._s.runs.get(run_id)
            if run is not None:
                message = response.generations[0][0].message
                calls = getattr(message, "tool_calls", None) or []
                self.last_calls[run.agent] = [
                    (str(c.get("id")), str(c.get("name")), c.get("args") or {}) for c in calls
                ]
            super().llm_ended(run_id, response, name)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            if isinstance(error, GraphInterrupt):
                # The first report comes from the node that paused: its agent made the calls.
                run = self._s.runs.get(run_id)
                agent = run.agent if run is not None else self.root_agent
                for pending in error.args[0] if error.args else ():
                    key = str(getattr(pending, "id", len(self.interrupts)))
                    if key in self.interrupts:
                        continue
                    value = getattr(pending, "value", pending)
                    self.interrupts[key] = value
                    requests = approval_requests(value, agent, self.last_calls.get(agent, []))
                    if requests is not None:
                        self.approvals[key] = requests
            if run_id == self.top_run:
                self.top_run = None
            super().on_chain_error(error, run_id=run_id, **kwargs)

    def has_output(self) -> bool:
        return self.output is not _NO_OUTPUT

    def pending(self) -> list[Any]:
        """The interrupts the run stopped on, JSON: an approval request per call awaiting a
        human's approval, ``{"id", "value"}`` for any other interrupt."""
        out: list[Any] = []
        for key, value in self.interrupts.items():
            if key in self.approvals:
                out += [r.model_dump(mode="json") for r in self.approvals[key]]
            else:
                out.append({"id": key, "value": to_jsonable(value)})
        return out

    def forget_calls(self, call_ids: Iterable[str]) -> None:
        """Record these calls' tool steps with the arguments they run with (a human edited
        them), not the model's."""
        with self._lock:
            for call_id in call_ids:
                self._s.call_args.pop(call_id, None)


def turn_text(value: Any) -> str | None:
    """The user's text in a graph input, when the input is a conversation turn."""
    if isinstance(value, str):
        return value
    raw = value.get("messages") if isinstance(value, dict) else None
    if not raw:
        return None
    try:
        messages: list[BaseMessage] = convert_to_messages(raw)
    except (ValueError, TypeError, NotImplementedError):
        return None
    human = [m for m in messages if isinstance(m, HumanMessage)]
    return content_text(human[-1].content) if human else None


def record_input(recorder: Recorder, agent: str, value: Any, resume: Any = _NO_OUTPUT) -> None:
    """An input step for what a turn's input holds besides user text: a resume value (as
    ``resume`` says, when given: the nex decisions a human-in-the-loop answer maps to), a
    ``Command``'s update, a workflow's own input."""
    if isinstance(value, Command):
        if value.resume is not None:
            given = value.resume if resume is _NO_OUTPUT else resume
            recorder.input(agent=agent, value=given, mode="resume", parent_id=None)
        rest = {"update": value.update, "goto": value.goto or None}
        rest = {k: v for k, v in rest.items() if v not in (None, (), [])}
        if rest:
            recorder.input(agent=agent, value=rest, parent_id=None)
        return
    if value is None:  # resuming after interrupt_before/after: the run goes on as it was
        recorder.input(agent=agent, value=None, mode="resume", parent_id=None)
        return
    if isinstance(value, dict) and set(value) <= {"messages"}:
        return  # a conversation turn: the model requests hold it
    recorder.input(agent=agent, value=value, parent_id=None)


def output_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False)
