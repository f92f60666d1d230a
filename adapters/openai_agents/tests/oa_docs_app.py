"""Agents written the way the OpenAI Agents SDK's documentation writes them (quickstart,
handoffs, tools and agents-as-tools pages), driven offline by nex's scripted model bridged in."""

from __future__ import annotations

from agents import Agent, function_tool
from nex_openai_agents import bridge_model
from pydantic import BaseModel

from nex_core import ScriptedModel


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"The weather in {city} is sunny."


@function_tool
def get_stock_price(symbol: str) -> float:
    """Look up the latest price of a stock."""
    raise RuntimeError(f"market closed for {symbol}")


class Verdict(BaseModel):
    is_homework: bool
    reasoning: str


def triage(script: ScriptedModel) -> Agent:
    """The handoffs example: a triage agent hands Spanish speakers to a Spanish agent."""
    model = bridge_model(script)
    spanish_agent = Agent(
        name="Spanish agent",
        instructions="You only speak Spanish.",
        handoff_description="Speaks Spanish.",
        model=model,
        tools=[get_weather],
    )
    english_agent = Agent(name="English agent", instructions="You only speak English.", model=model)
    return Agent(
        name="Triage agent",
        instructions="Handoff to the appropriate agent based on the language of the request.",
        handoffs=[spanish_agent, english_agent],
        model=model,
    )


def orchestrator(script: ScriptedModel) -> Agent:
    """The agents-as-tools example: an orchestrator calls a translator agent as a tool."""
    model = bridge_model(script)
    spanish_agent = Agent(
        name="spanish_agent",
        instructions="You translate the user's message to Spanish",
        model=model,
    )
    return Agent(
        name="orchestrator_agent",
        instructions="You are a translation agent. You use the tools given to you to translate.",
        tools=[
            spanish_agent.as_tool(
                tool_name="translate_to_spanish",
                tool_description="Translate the user's message to Spanish",
            ),
            get_weather,
            get_stock_price,
        ],
        model=model,
    )


def homework_guard(script: ScriptedModel) -> Agent:
    """The guardrails example's shape: structured output and an input guardrail."""
    from agents import GuardrailFunctionOutput, input_guardrail

    @input_guardrail
    async def homework_guardrail(ctx, agent, input):  # type: ignore[no-untyped-def]
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

    return Agent(
        name="Guardrail check",
        instructions="Check if the user is asking about homework.",
        output_type=Verdict,
        input_guardrails=[homework_guardrail],
        model=bridge_model(script),
    )
