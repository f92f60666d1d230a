"""Scripted-model scripts derived from a system's spec: the dry run's, and one per task for GAP.

The script exercises the whole system: every agent calls each of its tools once (schema-valid
example arguments) and each agent-as-tool child once, hands over to its first handoff child if it
has one, and otherwise answers. Every simulated tool gets a reply under ``sim:TOOL``. The agent
that ends the root's handoff chain (a team's last speaker) gives the final answer: the task's
expected text, so an offline GAP run of the system verifies.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from nex_core.protocol.spec import AgentSpec, SimulatedBinding, TeamSpec
from nex_core.runtime.simulated import simulator_key
from nex_core.runtime.tools import ToolHandle, tool_handles


class NoExample(ValueError):
    """No value satisfying a schema could be built."""


def example_value(schema: Any, depth: int = 0) -> Any:
    """A value valid under ``schema``: its own ``default``/``examples``/``const``/``enum`` when it
    gives one, else the simplest value of its type. Raises :class:`NoExample` when that is not
    valid (a ``pattern`` or ``format`` the simple value misses): the schema should give
    ``examples``."""
    if not isinstance(schema, dict) or depth > 8:
        return {}
    for candidate in _given(schema):
        if _valid(candidate, schema):
            return candidate
    value = _built(schema, depth)
    if not _valid(value, schema):
        raise NoExample(f"no example fits {json.dumps(schema, sort_keys=True)[:200]}")
    return value


def _given(schema: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    if "default" in schema:
        out.append(schema["default"])
    if isinstance(schema.get("examples"), list):
        out += schema["examples"]
    if "const" in schema:
        out.append(schema["const"])
    if isinstance(schema.get("enum"), list):
        out += schema["enum"]
    return out


def _built(schema: dict[str, Any], depth: int) -> Any:
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example_value(schema[key][0], depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        return {name: example_value(properties.get(name, {}), depth + 1) for name in required}
    if kind == "array":
        count = int(schema.get("minItems", 1))
        return [example_value(schema.get("items", {}), depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "x" * max(int(schema.get("minLength", 0)), 7) if "minLength" in schema else "example"


def _valid(value: Any, schema: dict[str, Any]) -> bool:
    try:
        return jsonschema.Draft202012Validator(schema).is_valid(value)
    except Exception:  # an invalid schema: the schema check reports it
        return False


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


class _Script:
    def __init__(self) -> None:
        self.agents: dict[str, list[dict[str, Any]]] = {}

    def reply(self, agent: str, reply: dict[str, Any]) -> None:
        self.agents.setdefault(agent, []).append(reply)

    def turn(self, agent: AgentSpec, answer: str | None, task: str) -> None:
        """One invocation of ``agent``: its tools and agent-as-tool children, then a handoff or
        an answer (``answer`` is the final one; ``None`` for an intermediate agent)."""
        handles = tool_handles(agent)
        calls: list[dict[str, Any]] = []
        children: list[AgentSpec] = []
        handoff: tuple[ToolHandle, AgentSpec] | None = None
        for name, handle in handles.items():
            if handle.kind == "handoff":
                assert handle.sub_agent is not None
                if handoff is None:
                    handoff = (handle, handle.sub_agent.child)
                continue
            if handle.kind == "subagent":
                assert handle.sub_agent is not None
                calls.append(_call(name, {"task": f"Help with: {task}"[:400]}))
                children.append(handle.sub_agent.child)
                continue
            assert handle.tool is not None
            if name in agent.stop_tools:
                continue  # a stop tool would end the turn before the rest ran
            schema = handle.tool.parameters
            calls.append(_call(name, example_value(schema) if schema is not None else {}))
            if isinstance(handle.tool.binding, SimulatedBinding):
                result = {"ok": True, "tool": name, "note": "simulated in the dry run"}
                self.reply(simulator_key(name), {"text": json.dumps(result)})
        if calls:
            batches = [calls] if agent.parallel_tool_calls else [[c] for c in calls]
            for batch in batches:
                self.reply(agent.name, {"tool_calls": batch})
        for child in children:
            self.turn(child, None, task)
        if handoff is not None:
            handle, child = handoff
            self.reply(agent.name, {"tool_calls": [_call(handle.schema.name, {})]})
            self.turn(child, answer, task)
            return
        text = answer if answer is not None else f"{agent.name} has done its part."
        self.reply(agent.name, {"text": text})


def derived_script(
    spec: AgentSpec | TeamSpec, answer: str, task: str = "the task"
) -> dict[str, Any]:
    """A scripted-model script (``{model, agents}``) that runs every part of ``spec`` once and
    ends with ``answer`` as the final output."""
    script = _Script()
    if isinstance(spec, AgentSpec):
        script.turn(spec, answer, task)
    else:
        turns = spec.termination.max_turns
        members = spec.members
        mention = spec.termination.text_mention
        for turn in range(turns):
            member = members[turn % len(members)]
            last = turn == turns - 1
            final = f"{answer} {mention}" if mention else answer
            script.turn(member, final if last else None, task)
            if spec.speaker_selection == "model":
                script.reply(spec.name, {"text": member.name})
    return {"model": "synth-dry-run", "agents": script.agents}

