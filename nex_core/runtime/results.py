"""What the native loop's runs return: an agent's result, a tool call's, a failed sub-agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nex_core.errors import NexError
from nex_core.protocol.spec import AgentSpec, SubAgentSpec
from nex_core.runtime.tools import ToolHandle
from nex_core.trajectory.schema import Outcome, OutcomeStatus, ToolCall


class SubAgentFailed(NexError):
    """A sub-agent called as a tool ended without an answer."""


@dataclass
class AgentResult:
    status: OutcomeStatus
    final_output: str | None
    stop_reason: str
    handoff_to: SubAgentSpec | None = None
    handoff_call_id: str | None = None
    structured_output: Any = None
    pending: list[Any] | None = None
    """``interrupted``: the approval requests the run waits on (``runtime.approval``)."""

    def outcome(self) -> Outcome:
        """The run's recorded outcome when this is the root agent's result."""
        return Outcome(
            status=self.status,
            final_output=self.final_output,
            stop_reason=self.stop_reason,
            structured_output=self.structured_output,
            pending=self.pending,
        )


@dataclass
class _CallResult:
    call: ToolCall
    text: str
    ok: bool
    handle: ToolHandle | None
    pending: list[Any] | None = None
    """An agent-as-tool call that paused for approval: its requests (``runtime.approval``)."""


def paused_below(results: list[_CallResult]) -> list[Any]:
    """The requests of a batch's agent-as-tool calls that paused, in the batch's order."""
    return [p for r in results if r.pending for p in r.pending]


ChildRun = Callable[[], Awaitable[tuple[AgentResult, AgentSpec]]]
"""How a resumed run carries on a paused sub-agent, in place of its fresh conversation."""


@dataclass
class CarriedCall:
    """A paused agent-as-tool call a resumed run carries on (:mod:`nex_core.runtime.resume`)."""

    child: ChildRun
    metadata: dict[str, Any]
