"""Replay model: answers with the LLM responses of a recorded trajectory, per agent, in order.

A run recorded in one framework can be reproduced in another at no model cost: each agent gets the
responses its namesake got. Failed calls replay as the same error.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from nex_core.errors import ModelError, ScriptExhausted, SpecError
from nex_core.models._file_cache import load_cached
from nex_core.models.base import ChatModel, ModelCall, request_snapshot
from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.reader import iter_trajectories
from nex_core.trajectory.schema import LLMRequest, LLMResponse, LLMStep, StepStatus, Trajectory

_Entry = LLMResponse | ModelError


class ReplayModel(ChatModel):
    provider = "replay"

    def __init__(self, trajectory: Trajectory) -> None:
        self.trajectory = trajectory
        self.model_id = trajectory.provenance.model or "replay"
        self._lock = threading.Lock()
        self._by_agent: dict[str | None, deque[_Entry]] = {}
        self._all: deque[_Entry] = deque()
        for step in trajectory.steps:
            if not isinstance(step, LLMStep):
                continue
            entry: _Entry
            if step.status is StepStatus.OK and step.response is not None:
                entry = step.response
            else:
                message = step.error.message if step.error else "recorded call failed"
                entry = ModelError(message, retryable=True)
            self._by_agent.setdefault(step.agent, deque()).append(entry)
            self._all.append(entry)
        self.calls: list[ModelCall] = []

    @classmethod
    def from_file(cls, path: str | Path, index: int = 0) -> ReplayModel:
        # Read once per unchanged file: GAP builds one replay model per episode, and the
        # model only reads the trajectory (its responses are handed out as deep copies).
        return cls(load_cached(path, lambda: _read(path, index), "replay", index))

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        with self._lock:
            self.calls.append(ModelCall(agent, request_snapshot(request), tool_format))
            queue = self._by_agent.get(agent) if agent in self._by_agent else self._all
            if not queue:
                raise ScriptExhausted(
                    f"the recorded trajectory has no more responses for agent '{agent}'"
                )
            entry = queue.popleft()
            if queue is not self._all and entry in self._all:
                self._all.remove(entry)
        if isinstance(entry, ModelError):
            raise ModelError(str(entry), retryable=entry.retryable)
        return entry.model_copy(deep=True)


def _read(path: str | Path, index: int) -> Trajectory:
    for i, traj in enumerate(iter_trajectories(path)):
        if i == index:
            return traj
    raise SpecError(f"{path} has no trajectory number {index}")
