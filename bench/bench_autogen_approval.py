"""What tool approval costs on AutoGen (branch ``agapproval``).

1. The approval gate on every built agent: ``ProtocolAssistantAgent._call_llm`` looks at each
   model answer (for one with tool calls, at the agent's tools) before AutoGen goes on. Sides,
   interleaved: ``stock`` (AutoGen's own ``_call_llm`` put back for the run) and ``gated`` (as
   shipped), both ``arun`` of a spec with no approval tools (two tool rounds, three calls).
2. A pause and its resume against the run that never paused: ``straight`` runs the spec with
   ``approval: never``, ``paused+resumed`` the same spec with ``approval: required`` (arun to the
   pause, then ``aresume`` from the trajectory: a rebuild of the agent and its context).
3. The same in a Swarm (branch ``agswarm``): ``calc`` hands off to ``checker``, whose tool needs
   approval (or not, in ``straight``); the resume rebuilds the Swarm, gives every member the
   conversation and tells the manager who speaks next (``save_state``/``load_state``).

CPU time per run (``time.process_time``), medians of interleaved pairs with quartiles of the
pair ratios (``bench._pairs``).
"""

from __future__ import annotations

import asyncio
from typing import Any

try:
    from autogen_agentchat.agents import AssistantAgent
    from nex_autogen import AutogenAdapter
    from nex_autogen.agents import ProtocolAssistantAgent
except ImportError as exc:  # the bench runner skips modules whose framework is missing
    raise ImportError(f"nex-autogen is not installed: {exc}") from exc

from bench._pairs import interleave, pair_summary
from nex_core import ScriptedModel
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import AgentSpec, SubAgentSpec, ToolSpec

REPETITIONS = 150
WARMUP = 10
NUMBERS = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}


def add(a: float, b: float) -> float:
    return a + b


def multiply(a: float, b: float) -> float:
    return a * b


def spec(approval: str) -> AgentSpec:
    tools = [
        ToolSpec.model_validate(
            {"name": name, "description": name, "parameters": NUMBERS, "binding": func}
        )
        for name, func in (("add", add), ("multiply", multiply))
    ]
    tools[1] = tools[1].model_copy(update={"approval": approval})
    return AgentSpec(name="calc", system_prompt="Calculate.", tools=tools)


SCRIPT: dict[str, Any] = {
    "replies": [
        {
            "tool_calls": [
                {"id": "c1", "name": "add", "arguments": {"a": 2, "b": 3}},
                {"id": "c2", "name": "multiply", "arguments": {"a": 2, "b": 3}},
            ]
        },
        {"tool_calls": [{"id": "c3", "name": "add", "arguments": {"a": 5, "b": 6}}]},
        {"text": "11"},
    ]
}
PLAIN, GATED_SPEC = spec("never"), spec("required")


def swarm_spec(approval: str) -> AgentSpec:
    checker = spec(approval).model_copy(
        update={"name": "checker", "description": "Checks the sums."}
    )
    return AgentSpec(
        name="front",
        system_prompt="Route.",
        sub_agents=[SubAgentSpec(agent=checker, mode="handoff")],
    )


SWARM_PLAIN, SWARM_GATED = swarm_spec("never"), swarm_spec("required")
SWARM_SCRIPT: dict[str, Any] = {
    "agents": {
        "front": [{"tool_calls": [{"id": "h1", "name": "transfer_to_checker", "arguments": {}}]}],
        "checker": SCRIPT["replies"],
    }
}
ADAPTER = AutogenAdapter()
GATE = ProtocolAssistantAgent.__dict__["_call_llm"]
STOCK = AssistantAgent.__dict__["_call_llm"]


async def stock() -> None:
    ProtocolAssistantAgent._call_llm = STOCK
    try:
        await ADAPTER.arun(PLAIN, "go", model=ScriptedModel(SCRIPT))
    finally:
        ProtocolAssistantAgent._call_llm = GATE


async def gated() -> None:
    await ADAPTER.arun(PLAIN, "go", model=ScriptedModel(SCRIPT))


async def paused_and_resumed() -> None:
    model = ScriptedModel(SCRIPT)
    paused = await ADAPTER.arun(GATED_SPEC, "go", model=model)
    resumed = await ADAPTER.aresume(GATED_SPEC, paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "11"


async def swarm_straight() -> None:
    await ADAPTER.arun(SWARM_PLAIN, "go", model=ScriptedModel(SWARM_SCRIPT))


async def swarm_paused_and_resumed() -> None:
    model = ScriptedModel(SWARM_SCRIPT)
    paused = await ADAPTER.arun(SWARM_GATED, "go", model=model)
    resumed = await ADAPTER.aresume(SWARM_GATED, paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "11"


def run(quick: bool = False) -> dict[str, Any]:
    reps, warm = (10, 2) if quick else (REPETITIONS, WARMUP)
    gate = asyncio.run(interleave({"stock": stock, "gated": gated}, reps, warm))
    pause = asyncio.run(
        interleave({"straight": gated, "paused+resumed": paused_and_resumed}, reps, warm)
    )
    swarm = asyncio.run(
        interleave(
            {"straight": swarm_straight, "paused+resumed": swarm_paused_and_resumed}, reps, warm
        )
    )
    return {
        "gate": pair_summary(gate, base="stock"),
        "pause_resume": pair_summary(pause, base="straight"),
        "swarm_pause_resume": pair_summary(swarm, base="straight"),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
