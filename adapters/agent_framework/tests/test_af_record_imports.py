"""A recorded run executes no import statement of the adapter's own.

An import statement inside a function costs 5 to 9 k instructions each time it runs, even with
the module loaded (``afcut``, decisions.md); a recorded run of a plain agent, an agent as a tool
and a workflow used to run a dozen of them. Counted by replacing ``builtins.__import__``, which
every ``import`` statement calls while it is replaced."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from af_docs_agents import travel_agent, weather_agent
from af_support import run
from agent_framework import Agent
from nex_agent_framework import AgentFrameworkAdapter, bridge_model

from nex_core import ScriptedModel

WEATHER = {
    "replies": [
        {"tool_calls": [{"name": "get_weather", "arguments": {"location": "Rome"}}]},
        {"text": "Cloudy."},
    ]
}


@contextmanager
def adapter_imports() -> Iterator[list[str]]:
    """The modules ``import`` statements in nex_agent_framework's code ask for meanwhile."""
    seen: list[str] = []
    original = builtins.__import__

    def counting(name: str, globals: Any = None, *args: Any, **kw: Any) -> Any:
        caller = (globals or {}).get("__name__", "")
        if caller.startswith("nex_agent_framework"):
            seen.append(f"{caller}: {name}")
        return original(name, globals, *args, **kw)

    builtins.__import__ = counting
    try:
        yield seen
    finally:
        builtins.__import__ = original


def _twice(adapter: AgentFrameworkAdapter, make: Any, task: str, **kw: Any) -> list[str]:
    run(adapter.arecord(make(), task, **kw))  # the first run may import what it needs
    with adapter_imports() as seen:
        traj = run(adapter.arecord(make(), task, **kw))
    assert traj.outcome is not None and traj.outcome.status == "completed"
    return seen


@pytest.mark.parametrize("mode", ["run", "stream"])
def test_a_recorded_agent_run_imports_nothing(adapter: AgentFrameworkAdapter, mode: str) -> None:
    seen = _twice(adapter, lambda: weather_agent(ScriptedModel(WEATHER)), "Weather?", mode=mode)
    assert seen == []


def test_a_recorded_agent_as_tool_run_imports_nothing(adapter: AgentFrameworkAdapter) -> None:
    script = {
        "agents": {
            "TravelAgent": [
                {"tool_calls": [{"name": "WeatherAgent", "arguments": {"task": "Rome?"}}]},
                {"text": "Pack a coat."},
            ],
            "WeatherAgent": WEATHER["replies"],
        }
    }
    assert _twice(adapter, lambda: travel_agent(ScriptedModel(script)), "Plan Rome.") == []


def test_the_counter_sees_an_import_in_the_adapter() -> None:
    """The check can fail: an import statement in the adapter's code is counted."""
    from nex_agent_framework import plugin

    plugin._run.cache_clear()
    with adapter_imports() as seen:
        plugin._run()
    assert seen == [
        "nex_agent_framework.plugin: agent_framework",
        "nex_agent_framework.plugin: nex_agent_framework",
    ]


def test_a_recorded_sequential_workflow_imports_little(adapter: AgentFrameworkAdapter) -> None:
    """A workflow's own parts (the orchestrations package, the executors' recorder, which
    imports the module that imports :mod:`.names`) are still imported where they are used;
    the run's set-up is not."""
    pytest.importorskip("agent_framework_orchestrations")
    from agent_framework.orchestrations import SequentialBuilder

    def workflow() -> Any:
        script = {"agents": {"writer": [{"text": "A draft."}], "critic": [{"text": "Ok."}]}}
        model = ScriptedModel(script)
        writer = Agent(client=bridge_model(model, agent="writer"), name="writer")
        critic = Agent(client=bridge_model(model, agent="critic"), name="critic")
        return SequentialBuilder(participants=[writer, critic]).build()

    seen = _twice(adapter, workflow, "Write a haiku.")
    callers = {s.split(":")[0] for s in seen}
    assert callers.isdisjoint({"nex_agent_framework.plugin", "nex_agent_framework.run"}), seen
