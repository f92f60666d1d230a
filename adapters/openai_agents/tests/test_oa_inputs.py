"""The incremental input conversion (``InputCache``) gives exactly the messages a conversion of
the whole input gives, call after call of real runs (tool rounds, parallel calls, reasoning,
answers, a second user turn), and shares the messages of the part already converted."""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent, Runner, function_tool
from agents.items import ModelResponse
from nex_openai_agents._messages import InputCache, input_messages
from nex_openai_agents.bridge import NexModel

from nex_core import ScriptedModel


class Capture(NexModel):
    """A bridged model that keeps every input the runner gave it."""

    def __init__(self, script: Any) -> None:
        super().__init__(ScriptedModel(script))
        self.inputs: list[Any] = []

    async def get_response(
        self, system_instructions: Any, input: Any, *a: Any, **k: Any
    ) -> ModelResponse:  # type: ignore[override]
        self.inputs.append((system_instructions, list(input)))
        return await super().get_response(system_instructions, input, *a, **k)


@function_tool
def add(a: float, b: float) -> float:
    """Add."""
    return a + b


SCRIPT = [
    {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}], "reasoning": "think"},
    {
        "tool_calls": [
            {"name": "add", "arguments": {"a": 3, "b": 4}},
            {"name": "add", "arguments": {"a": 5, "b": 6}},
        ]
    },
    {"text": "first", "reasoning": "done thinking"},
    {"tool_calls": [{"name": "add", "arguments": {"a": 7, "b": 8}}]},
    {"text": "second"},
]


def test_incremental_conversion_equals_the_whole_conversion() -> None:
    model = Capture(SCRIPT)
    agent = Agent(name="adder", instructions="Add.", tools=[add], model=model)

    async def two_turns() -> None:
        first = await Runner.run(agent, "Add.")
        await Runner.run(agent, [*first.to_input_list(), {"role": "user", "content": "More."}])

    asyncio.run(two_turns())
    assert len(model.inputs) == 5
    cache = InputCache()
    previous: list[Any] = []
    reused = 0
    for system, items in model.inputs:
        messages = cache.messages(system, items)
        assert messages == input_messages(system, items)
        reused += sum(1 for m in messages if any(m is p for p in previous))
        previous = messages
    assert reused >= 10  # later calls reuse the earlier calls' message objects


def test_an_input_that_ended_inside_an_assistant_turn_is_converted_whole() -> None:
    """Two calls of one turn belong to one assistant message: a previous input that ended
    between them is no place to start converting from."""
    user = {"role": "user", "content": "Add."}

    def call(n: int) -> dict[str, Any]:
        arguments = '{"a": 1, "b": 2}'
        return {"type": "function_call", "call_id": f"c{n}", "name": "add", "arguments": arguments}

    first: list[Any] = [user, call(1)]
    second: list[Any] = [
        *first,
        call(2),
        {"type": "function_call_output", "call_id": "c1", "output": "3"},
    ]
    cache = InputCache()
    cache.messages("Add.", first)
    messages = cache.messages("Add.", second)
    assert messages == input_messages("Add.", second)
    assert len(messages[2].tool_calls or []) == 2
