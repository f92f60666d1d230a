"""Tools for the adapter's tests, bound by import path (``ag_toolbox:add``)."""

from __future__ import annotations


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


def explode(reason):  # untyped on purpose: SchemaTool must not need type hints
    raise ValueError(f"cannot do {reason}")


async def get_weather(city: str) -> str:
    """Get the weather for a given city."""
    return f"The weather in {city} is 73 degrees and Sunny."


def flaky_lookup(city: str) -> str:
    """Look a city up (always fails)."""
    raise LookupError(f"no data for {city}")


RAN: list[tuple[str, dict[str, object]]] = []
"""Calls of the tools below, in order: the approval tests check what did (not) run."""


def publish(text: str) -> str:
    """Publish a text (needs approval in the tests)."""
    RAN.append(("publish", {"text": text}))
    return f"published: {text}"


def note(text: str) -> str:
    """Take a note (needs no approval)."""
    RAN.append(("note", {"text": text}))
    return f"noted: {text}"
