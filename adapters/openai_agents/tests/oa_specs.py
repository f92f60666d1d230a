"""Specs and scripts shared by the parity and streaming tests (tools live in oa_tools)."""

from __future__ import annotations

from typing import Any

from nex_core import AgentSpec, SubAgentSpec, ToolSpec
from nex_core.protocol.spec import ContextMode, Limits

NUMBERS = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}
TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


def tool(name: str, parameters: dict[str, Any] = NUMBERS) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=f"The {name} tool.",
        parameters=parameters,
        binding=f"oa_tools:{name}",
    )


CALC = AgentSpec(
    name="calc",
    system_prompt="Use the tools.",
    tools=[tool("add"), tool("explode", TEXT)],
)
WRITER = AgentSpec(
    name="writer", description="Writes.", system_prompt="Write.", tools=[tool("add")]
)
NOTER = AgentSpec(name="noter", description="Notes.", system_prompt="Note.")
RESEARCHER = AgentSpec(
    name="researcher",
    description="Researches with a writer.",
    system_prompt="Research.",
    sub_agents=[SubAgentSpec(agent=WRITER)],
)
BOSS = AgentSpec(
    name="boss",
    system_prompt="Delegate.",
    sub_agents=[SubAgentSpec(agent=RESEARCHER), SubAgentSpec(agent=NOTER, tool_name="scribe")],
)
BILLING = AgentSpec(
    name="billing", description="Billing.", system_prompt="Bill.", tools=[tool("add")]
)
REFUNDS = AgentSpec(name="refunds", description="Refunds.", system_prompt="Refund.")
FRONT = AgentSpec(
    name="front",
    system_prompt="Route.",
    sub_agents=[
        SubAgentSpec(
            agent=BILLING.model_copy(
                update={"sub_agents": [SubAgentSpec(agent=REFUNDS, mode=ContextMode.HANDOFF)]}
            ),
            mode=ContextMode.HANDOFF,
        ),
    ],
)
STOPPER = AgentSpec(
    name="stopper", system_prompt="Finish.", tools=[tool("add")], stop_tools=["add"]
)
LIMITED = CALC.model_copy(update={"limits": Limits(max_steps=2)})

ADD = {"name": "add", "arguments": {"a": 2, "b": 3}}

SCENARIOS: dict[str, tuple[AgentSpec, Any, list[str]]] = {
    "tools_and_error": (
        CALC,
        [
            {"tool_calls": [ADD, {"name": "explode", "arguments": {"text": "x"}}]},
            {"tool_calls": [{"name": "add", "arguments": {"a": "two"}}]},
            {"text": "5"},
        ],
        ["What is 2+3?"],
    ),
    "nested_agents_as_tools": (
        BOSS,
        {
            "agents": {
                "boss": [
                    {
                        "tool_calls": [
                            {"name": "researcher", "arguments": {"task": "dig"}},
                            {"name": "scribe", "arguments": {"task": "note"}},
                        ]
                    },
                    {"text": "done"},
                ],
                "researcher": [
                    {"tool_calls": [{"name": "writer", "arguments": {"task": "draft"}}]},
                    {"text": "found"},
                ],
                "writer": [{"tool_calls": [ADD]}, {"text": "drafted"}],
                "noter": [{"text": "noted"}],
            }
        },
        ["Go."],
    ),
    "handoff_chain": (
        FRONT,
        {
            "agents": {
                "front": [{"tool_calls": [{"name": "transfer_to_billing", "arguments": {}}]}],
                "billing": [
                    {"tool_calls": [ADD]},
                    {"tool_calls": [{"name": "transfer_to_refunds", "arguments": {}}]},
                ],
                "refunds": [{"text": "refunded"}, {"text": "again"}],
            }
        },
        ["Refund me.", "And again."],
    ),
    "stop_tool": (STOPPER, [{"tool_calls": [ADD]}], ["Add."]),
    "max_steps": (LIMITED, [{"tool_calls": [ADD]}, {"tool_calls": [ADD]}], ["Loop."]),
    "multi_turn": (CALC, [{"text": "hi"}, {"tool_calls": [ADD]}, {"text": "5"}], ["Hi", "2+3?"]),
}
