"""The conformance kit's recording shapes, built as the Agents SDK's documentation builds them.

``kit_shape_app(shape, model)`` is the optional adapter hook of ``nex_conformance.shapes``; the
kit records what it returns through ``arecord`` (the SDK's ``Runner``, as ``record()`` runs it).
Imported only when the kit asks: it imports the kit's toolkit, which the adapter does not
depend on.
"""

from __future__ import annotations

from typing import Any

DEFAULT_NAME = "Assistant"
"""``Agent`` requires a name; ``Assistant`` is the one the SDK's quickstart gives. An agent of
that name used through ``as_tool()`` inside another is what an unnamed agent looks like here."""

NO_STATE = (
    "the Agents SDK runs agents over a conversation of messages: it has no workflow whose "
    "state is not messages"
)


def kit_shape_app(shape: str, model: Any) -> Any:
    """The app of ``shape`` driven by the nex ``model``; :class:`NotApplicable` for a shape the
    SDK does not have, ``None`` for one not known."""
    from nex_conformance.shapes import NotApplicable

    if shape == "unnamed_agent_as_tool":
        return unnamed_agent_as_tool(model)
    if shape == "non_message_state":
        return NotApplicable(NO_STATE)
    return None


def unnamed_agent_as_tool(model: Any) -> Any:
    """``agent.as_tool(None, None)``: the tool's name and description left to the SDK, both
    agents with the quickstart's name."""
    from agents import Agent, function_tool
    from nex_conformance.toolkit import country_of

    from nex_openai_agents.bridge import bridge_model

    llm = bridge_model(model)
    researcher = Agent(
        name=DEFAULT_NAME,
        instructions="Look up the city and report its country.",
        tools=[function_tool(country_of)],
        model=llm,
    )
    return Agent(
        name=DEFAULT_NAME,
        instructions="Delegate city questions to the assistant tool.",
        tools=[researcher.as_tool(None, None)],
        model=llm,
    )
