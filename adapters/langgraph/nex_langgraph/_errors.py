"""Exceptions the built graphs raise to carry protocol outcomes through LangGraph."""

from __future__ import annotations


class MaxStepsExceeded(RuntimeError):
    """An agent reached ``limits.max_steps`` model calls without answering.

    Raised inside the graph (LangGraph has no per-invocation step limit that ends a run without
    adding a message); ``arun`` turns it into outcome ``max_steps``, an agent-as-tool wrapper into
    the native ``SubAgentFailed``.
    """

    def __init__(self, agent: str, steps: int) -> None:
        super().__init__(f"agent '{agent}' made {steps} model calls without answering (max_steps)")
        self.agent = agent
