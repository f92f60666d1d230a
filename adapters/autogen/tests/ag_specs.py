"""Specs and scripts shared by the parity, round-trip and code tests."""

from __future__ import annotations

from typing import Any

from nex_core.protocol.spec import AgentSpec, Limits, SubAgentSpec, TeamSpec, ToolSpec

NUMBERS = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}


def tool(name: str, path: str, parameters: dict[str, Any] | None = None) -> ToolSpec:
    return ToolSpec(
        name=name, description=f"{name} tool", parameters=parameters or NUMBERS, binding=path
    )


ADD = tool("add", "ag_toolbox:add")
MUL = tool("multiply", "ag_toolbox:multiply")
EXPLODE = tool("explode", "ag_toolbox:explode", {"type": "object", "properties": {"reason": {}}})

CALC = AgentSpec(
    name="calc",
    description="Does sums.",
    system_prompt="You calculate.",
    tools=[ADD, MUL, EXPLODE],
    model={"id": "demo", "temperature": 0},
)
RESEARCHER = AgentSpec(
    name="researcher", description="Looks things up.", system_prompt="Research.", tools=[ADD]
)
WRITER_SUB = AgentSpec(name="drafter", description="Drafts text.", system_prompt="Draft.")
BOSS = AgentSpec(
    name="boss",
    system_prompt="Delegate.",
    sub_agents=[SubAgentSpec(agent=RESEARCHER), SubAgentSpec(agent=WRITER_SUB, tool_name="draft")],
)
HELPER = AgentSpec(name="helper", description="Helps.", system_prompt="Help.", tools=[ADD])
FRONT = AgentSpec(
    name="front",
    system_prompt="Route.",
    tools=[ADD],
    sub_agents=[SubAgentSpec(agent=HELPER, mode="handoff")],
)
WRITER = AgentSpec(name="writer", description="Writes.", system_prompt="Write.", tools=[ADD])
CRITIC = AgentSpec(name="critic", description="Criticises.", system_prompt="Criticise.")
TEAM = TeamSpec(
    name="review", members=[WRITER, CRITIC], termination={"max_turns": 5, "text_mention": "APPROVE"}
)
SELECTOR_TEAM = TeamSpec(
    name="review", members=[WRITER, CRITIC], speaker_selection="model", termination={"max_turns": 2}
)


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


SCENARIOS: dict[str, tuple[Any, dict[str, Any], list[str]]] = {
    "tools_and_error": (
        CALC,
        {
            "replies": [
                {
                    "text": "Both at once.",
                    "tool_calls": [call("explode", reason="x"), call("add", a=1, b=2)],
                },
                {"tool_calls": [{"name": "add", "arguments": {"a": "one", "b": 2}}]},
                {"text": "3"},
            ]
        },
        ["add and explode"],
    ),
    "max_steps": (
        CALC.model_copy(update={"limits": Limits(max_steps=2)}),
        {
            "replies": [
                {"tool_calls": [call("add", a=1, b=2)]},
                {"tool_calls": [call("add", a=3, b=2)]},
            ]
        },
        ["loop"],
    ),
    "multi_turn": (
        CALC,
        {"replies": [{"tool_calls": [call("add", a=1, b=2)]}, {"text": "3"}, {"text": "still 3"}]},
        ["add", "and again?"],
    ),
    "parallel_sub_agents": (
        BOSS,
        {
            "agents": {
                "boss": [
                    {
                        "tool_calls": [
                            call("researcher", task="find a"),
                            call("draft", task="draft b"),
                        ]
                    },
                    {"text": "both done"},
                ],
                "researcher": [{"tool_calls": [call("add", a=1, b=2)]}, {"text": "found 3"}],
                "drafter": [{"text": "a draft"}],
            }
        },
        ["delegate"],
    ),
    "handoff": (
        FRONT,
        {
            "agents": {
                "front": [
                    {"tool_calls": [call("add", a=1, b=2)]},
                    {"tool_calls": [call("transfer_to_helper")]},
                ],
                "helper": [
                    {"tool_calls": [call("add", a=3, b=2)]},
                    {"text": "helped"},
                    {"text": "second turn"},
                ],
            }
        },
        ["route me", "more"],
    ),
    "round_robin": (
        TEAM,
        {
            "agents": {
                "writer": [
                    {"tool_calls": [call("add", a=1, b=2)]},
                    {"text": "draft"},
                    {"text": "draft 2"},
                ],
                "critic": [{"text": "fix it"}, {"text": "APPROVE"}],
            }
        },
        ["write"],
    ),
}
