"""A tool's ``ValueError`` is the tool step's error (the nesting context manager guarded its
context-variable reset with ``suppress(ValueError)`` around the whole block, which swallowed
the tool's own ``ValueError``: the step was recorded ``cancelled`` with no error)."""

from __future__ import annotations

import asyncio

import pytest
from autogen_agentchat.agents import AssistantAgent
from nex_autogen import AutogenAdapter, bridge_model

from nex_core import ScriptedModel
from nex_core.trajectory.schema import StepStatus


def _raising(kind: type[Exception]) -> object:
    def lookup(key: str) -> str:
        """Look a key up."""
        raise kind(f"no {key}")

    return lookup


@pytest.mark.parametrize("kind", [ValueError, RuntimeError, KeyError])
def test_a_tool_error_is_recorded_with_its_type(kind: type[Exception]) -> None:
    model = ScriptedModel(
        {
            "replies": [
                {"tool_calls": [{"name": "lookup", "arguments": {"key": "k"}}]},
                {"text": "ok"},
            ]
        }
    )
    agent = AssistantAgent(
        "a",
        model_client=bridge_model(model, agent="a"),
        tools=[_raising(kind)],  # type: ignore[list-item]
        max_tool_iterations=3,
    )
    trajectory = asyncio.run(AutogenAdapter().arecord(agent, "go"))
    tool = trajectory.steps[1]
    assert tool.kind == "tool" and tool.status is StepStatus.ERROR
    assert tool.error is not None and tool.error.type == kind.__name__
    assert trajectory.outcome is not None and trajectory.outcome.final_output == "ok"
