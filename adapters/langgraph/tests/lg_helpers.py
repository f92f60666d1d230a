"""Trajectory checks shared by the nex-langgraph tests (a module with a unique name, so that any
set of test directories can be collected in one pytest session)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from nex_core.trajectory.schema import InputStep, LLMStep, SubAgentStep, ToolStep, Trajectory


def check_valid(traj: Trajectory, schema: dict[str, Any]) -> None:
    """The trajectory validates against the published JSON Schema and its parents exist."""
    jsonschema.validate(json.loads(traj.to_json()), schema)
    Trajectory.model_validate_json(traj.to_json())
    ids = {s.id for s in traj.steps}
    assert all(s.parent_id is None or s.parent_id in ids for s in traj.steps)


def tree(traj: Trajectory, parent: str | None = None) -> list[Any]:
    """A compact view of the step tree: (kind, agent, name-or-child, [children])."""
    out: list[Any] = []
    for step in traj.children(parent):
        if isinstance(step, LLMStep):
            label = ("llm", step.agent)
        elif isinstance(step, ToolStep):
            label = ("tool", step.agent, step.name)
        elif isinstance(step, InputStep):
            label = (f"input:{step.mode}", step.agent)
        else:
            assert isinstance(step, SubAgentStep)
            label = (f"sub:{step.mode}", step.agent, step.child)
        children = tree(traj, step.id)
        out.append((*label, children) if children else label)
    return out
