"""Agent Framework objects → nex specs (filled in below)."""

from __future__ import annotations

from typing import Any

from agent_framework import BaseAgent


def recognizes(obj: Any) -> bool:
    return isinstance(obj, BaseAgent)
