"""The conformance kit's recording shapes, built as AutoGen's documentation builds them.

``kit_shape_app(shape, model)`` is the optional adapter hook of ``nex_conformance.shapes``; the
kit records what it returns through ``arecord`` (the same drive as ``recording()``). Imported
only when the kit asks: it imports the kit's toolkit, which the adapter does not depend on.
"""

from __future__ import annotations

from typing import Any

DEFAULT_NAME = "assistant"
"""AgentChat requires a name; ``assistant`` is the one its examples give (nearly) every agent.
An app that nests one such agent in another has two agents of that name: what an unnamed agent
looks like in AutoGen."""

NO_STATE = (
    "AutoGen AgentChat agents and teams pass chat messages only (GraphFlow's edges too): it "
    "has no workflow whose state is not messages"
)


def kit_shape_app(shape: str, model: Any) -> Any:
    """The app of ``shape`` driven by the nex ``model``; :class:`NotApplicable` for a shape
    AutoGen does not have, ``None`` for one not known."""
    from nex_conformance.shapes import NotApplicable

    if shape == "unnamed_agent_as_tool":
        return unnamed_agent_as_tool(model)
    if shape == "non_message_state":
        return NotApplicable(NO_STATE)
    return None


def unnamed_agent_as_tool(model: Any) -> Any:
    """The ``AgentTool`` example: an agent wrapped as a tool of another, both with the default
    name, AgentTool's own name and description left to it."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.tools import AgentTool
    from autogen_core.tools import FunctionTool
    from nex_conformance.toolkit import country_of

    from nex_autogen.bridge import bridge_model

    client = bridge_model(model)
    researcher = AssistantAgent(
        DEFAULT_NAME,
        model_client=client,
        tools=[FunctionTool(country_of, description="The country a city is in.")],
        system_message="Look up the city and report its country.",
        max_tool_iterations=3,
    )
    return AssistantAgent(
        DEFAULT_NAME,
        model_client=client,
        # The documented option that returns the child's answer, not its transcript, so the
        # case compares names and nesting rather than AgentTool's default formatting.
        tools=[AgentTool(researcher, return_value_as_last_message=True)],
        system_message="Delegate city questions to the assistant tool.",
        max_tool_iterations=3,
    )
