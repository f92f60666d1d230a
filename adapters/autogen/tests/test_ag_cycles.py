"""A cycle of handoffs (Alice ↔ Bob), as a spec writes it — nested copies, the last copy without
the handoff that would close the cycle again — builds as one AutoGen Swarm, where cycles run."""

from __future__ import annotations

import asyncio

import pytest
from nex_autogen import AutogenAdapter
from nex_autogen.build import handoff_closure

from nex_core import AgentSpec, ScriptedModel
from nex_core.errors import AdapterError
from nex_core.protocol.spec import ContextMode, SubAgentSpec


def _cycle() -> AgentSpec:
    alice_copy = AgentSpec(name="Alice", system_prompt="You are Alice.")
    bob = AgentSpec(
        name="Bob",
        system_prompt="You are Bob.",
        sub_agents=[SubAgentSpec(mode=ContextMode.HANDOFF, agent=alice_copy)],
    )
    return AgentSpec(
        name="Alice",
        system_prompt="You are Alice.",
        sub_agents=[SubAgentSpec(mode=ContextMode.HANDOFF, agent=bob)],
    )


def test_copies_that_differ_only_in_handoffs_are_one_participant() -> None:
    members = handoff_closure(_cycle())
    assert [m.name for m in members] == ["Alice", "Bob"]
    assert [s.child.name for s in members[1].sub_agents] == ["Alice"]


def test_the_cycle_runs_in_autogen_as_it_does_natively() -> None:
    script = {
        "agents": {
            "Alice": [{"tool_calls": [{"name": "transfer_to_Bob"}]}, {"text": "Back, done."}],
            "Bob": [{"tool_calls": [{"name": "transfer_to_Alice"}]}],
        }
    }
    trajectory = asyncio.run(AutogenAdapter().arun(_cycle(), "hi", model=ScriptedModel(script)))
    assert trajectory.outcome is not None and trajectory.outcome.final_output == "Back, done."
    agents = [s.agent for s in trajectory.steps if s.kind == "llm"]
    assert agents == ["Alice", "Bob", "Alice"]


def test_two_really_different_agents_of_one_name_are_still_refused() -> None:
    spec = _cycle()
    bob = spec.sub_agents[0].child
    impostor = AgentSpec(name="Alice", system_prompt="Someone else.")
    bob = bob.model_copy(
        update={"sub_agents": [SubAgentSpec(mode=ContextMode.HANDOFF, agent=impostor)]}
    )
    spec = spec.model_copy(
        update={"sub_agents": [SubAgentSpec(mode=ContextMode.HANDOFF, agent=bob)]}
    )
    with pytest.raises(AdapterError, match="differ in more than their handoffs"):
        handoff_closure(spec)
