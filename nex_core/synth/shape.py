"""The structure of a system, apart from its wording: for near-duplicate removal and statistics.

Two systems that differ only in prompts, descriptions, agent names, task texts or the order of
their tools and sub-agents have the same :func:`structural_digest`: a regenerated system that
only rephrases an earlier one is a near duplicate. Tool names (normalised) and their parameter
names and types are part of the structure: they are what the agent's behaviour is about.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any

from nex_core.protocol.spec import AgentSpec, TeamSpec, ToolSpec


def _word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _tool_shape(tool: ToolSpec) -> list[Any]:
    schema = tool.parameters or {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    params = sorted(
        (_word(str(name)), str(value.get("type", "")) if isinstance(value, dict) else "")
        for name, value in (properties or {}).items()
    )
    return [_word(tool.name), tool.binding.kind, params]


def _agent_shape(agent: AgentSpec) -> dict[str, Any]:
    subs = sorted(
        (json.dumps([sub.mode.value, _agent_shape(sub.child)], sort_keys=True)
         for sub in agent.sub_agents),
    )  # fmt: skip
    return {
        "format": agent.tool_format.value,
        "tools": sorted(json.dumps(_tool_shape(t)) for t in agent.tools),
        "subs": subs,
        "stop": len(agent.stop_tools),
    }


def structure(spec: AgentSpec | TeamSpec) -> dict[str, Any]:
    """The canonical structure :func:`structural_digest` hashes."""
    if isinstance(spec, TeamSpec):
        members = sorted(json.dumps(_agent_shape(m), sort_keys=True) for m in spec.members)
        return {"team": spec.speaker_selection, "members": members}
    return {"agent": _agent_shape(spec)}


def structural_digest(spec: AgentSpec | TeamSpec) -> str:
    """sha256 of the system's structure (see the module docstring for what counts)."""
    text = json.dumps(structure(spec), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _depth(agent: AgentSpec) -> int:
    return max((1 + _depth(s.child) for s in agent.sub_agents), default=0)


def shape(spec: AgentSpec | TeamSpec) -> dict[str, Any]:
    """What ``nex synth stats`` counts: hierarchy depth and breadth, modes, formats, tools."""
    agents = spec.walk()
    modes: Counter[str] = Counter()
    for agent in agents:
        for sub in agent.sub_agents:
            modes[sub.mode.value] += 1
    if isinstance(spec, TeamSpec):
        modes["team"] += len(spec.members)
        depth = 1 + max(_depth(m) for m in spec.members)
        breadth = max([len(spec.members)] + [len(a.sub_agents) for a in agents])
    else:
        depth = _depth(spec)
        breadth = max(len(a.sub_agents) for a in agents)
    bindings: Counter[str] = Counter(t.binding.kind for a in agents for t in a.tools)
    return {
        "kind": spec.kind,
        "agents": len(agents),
        "depth": depth,
        "breadth": breadth,
        "modes": dict(sorted(modes.items())),
        "tool_formats": sorted({a.tool_format.value for a in agents}),
        "tools": sum(len(a.tools) for a in agents),
        "tools_per_agent": [len(a.tools) for a in agents],
        "bindings": dict(sorted(bindings.items())),
    }


