"""Specs (and matching scripts) used to compare the LangGraph adapter with the native runtime."""

from __future__ import annotations

from typing import Any

from nex_core.protocol.loader import spec_from_data

MATH = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}


def tool(name: str, func: str, description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "description": description or f"{name} two numbers.",
        "parameters": MATH,
        "binding": f"lg_tools:{func}",
    }


def calculator(**extra: Any) -> Any:
    return spec_from_data(
        {
            "name": "calc",
            "description": "Does arithmetic.",
            "system_prompt": "You calculate.",
            "model": {"id": "gpt-test", "temperature": 0},
            "tools": [
                tool("add", "add"),
                tool("multiply", "multiply"),
                tool("divide", "divide"),
                tool("slow", "slow_add"),
                tool("adiv", "async_divide"),
            ],
            **extra,
        }
    )


def nested() -> Any:
    """lead → (tool) researcher → (tool) fact_checker: agent-as-tool two levels deep."""
    checker = {
        "name": "fact_checker",
        "description": "Checks a fact.",
        "system_prompt": "You check.",
        "tools": [tool("add", "add")],
    }
    researcher = {
        "name": "researcher",
        "description": "Researches.",
        "system_prompt": "You research.",
        "sub_agents": [{"mode": "tool", "agent": checker}],
    }
    return spec_from_data(
        {
            "name": "lead",
            "system_prompt": "You lead.",
            "tools": [tool("add", "add")],
            "sub_agents": [{"mode": "tool", "agent": researcher}],
        }
    )


def handoffs() -> Any:
    """triage hands off to billing, which can hand back to (a copy of) triage."""
    triage_copy = {"name": "triage", "system_prompt": "You triage.", "tools": [tool("add", "add")]}
    billing = {
        "name": "billing",
        "description": "Billing questions.",
        "system_prompt": "You bill.",
        "tools": [tool("multiply", "multiply")],
        "sub_agents": [{"mode": "handoff", "agent": triage_copy}],
    }
    return spec_from_data(
        {
            "name": "triage",
            "system_prompt": "You triage.",
            "tools": [tool("add", "add")],
            "sub_agents": [{"mode": "handoff", "agent": billing}],
        }
    )
