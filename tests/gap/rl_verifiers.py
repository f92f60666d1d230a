"""A task verifier that scores instead of answering yes or no (tests/gap/test_gap_rewards.py)."""

from __future__ import annotations

from typing import Any


def length_score(trajectory: Any, task: Any) -> float:
    """0.25 per model call left unused out of four: fewer calls, higher score."""
    calls = sum(1 for s in trajectory.steps if s.kind == "llm")
    return max(0.0, (4 - calls) / 4)
