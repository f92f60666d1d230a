"""Agents written the way Agent Framework's documentation writes them: ``@tool`` functions with
``Annotated`` parameter descriptions, ``Agent(client=..., name=..., instructions=..., tools=...)``,
an agent used as another's tool through ``as_tool()``. Only the chat client is nex's (a scripted
model bridged in), as a real app would pass ``OpenAIChatClient()``."""

from __future__ import annotations

from typing import Annotated

from agent_framework import Agent, tool
from nex_agent_framework import bridge_model
from pydantic import Field

from nex_core import ChatModel


@tool(approval_mode="never_require")
def get_weather(
    location: Annotated[str, Field(description="The location to get the weather for.")],
) -> str:
    """Get the weather for a given location."""
    return f"The weather in {location} is cloudy with a high of 15°C."


@tool
def get_time(city: Annotated[str, "The city"]) -> str:
    """The local time in a city."""
    if city == "Atlantis":
        raise ValueError("no such city: Atlantis")
    return "09:30"


def weather_agent(model: ChatModel) -> Agent:
    return Agent(
        client=bridge_model(model, agent="WeatherAgent"),
        name="WeatherAgent",
        description="Answers questions about the weather.",
        instructions="You are a helpful weather agent.",
        tools=[get_weather, get_time],
    )


def travel_agent(model: ChatModel) -> Agent:
    """A coordinator that calls the weather agent as a tool."""
    weather = weather_agent(model)
    return Agent(
        client=bridge_model(model, agent="TravelAgent"),
        name="TravelAgent",
        instructions="You plan trips. Ask the weather agent about the weather.",
        tools=[weather.as_tool()],
        default_options={"temperature": 0.3},
    )
