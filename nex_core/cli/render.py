"""Rendering trajectories for people (rich), after the fact: the runtime never prints."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from rich.tree import Tree

from nex_core.trajectory.schema import LLMStep, StepStatus, SubAgentStep, ToolStep, Trajectory

_STATUS_STYLE = {
    StepStatus.OK: "green",
    StepStatus.ERROR: "red",
    StepStatus.CANCELLED: "yellow",
    StepStatus.RUNNING: "yellow",
}


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _duration(step: Any) -> str:
    if step.ended_at is None:
        return ""
    ms = (step.ended_at - step.started_at).total_seconds() * 1e3
    return f" {ms:.0f} ms" if ms >= 1 else f" {ms:.2f} ms"


def step_label(step: Any, *, width: int = 100, messages: bool = False) -> Text:
    style = _STATUS_STYLE.get(step.status, "white")
    label = Text()
    if isinstance(step, LLMStep):
        label.append("llm ", style="bold cyan")
        label.append(f"{step.agent or '?'}", style="cyan")
        resp = step.response
        if resp is not None:
            calls = resp.message.tool_calls or []
            text = resp.message.text()
            if text:
                label.append(f"  “{_clip(text, width)}”")
            if calls:
                label.append("  → " + ", ".join(c.function.name for c in calls), style="magenta")
            if resp.usage:
                label.append(f"  [{resp.usage.total_tokens} tok]", style="dim")
    elif isinstance(step, ToolStep):
        label.append("tool ", style="bold magenta")
        label.append(step.name, style="magenta")
        args = (
            json.dumps(step.arguments, ensure_ascii=False)
            if step.arguments is not None
            else step.raw_arguments or ""
        )
        label.append(f"({_clip(args, width // 2)})")
        if step.error is None and step.status is StepStatus.OK:
            result = step.result
            if not isinstance(result, str):
                result = json.dumps(result, ensure_ascii=False, default=str)
            label.append(f" = {_clip(result, width // 2)}")
    elif isinstance(step, SubAgentStep):
        verb = {"tool": "agent", "handoff": "handoff →", "team_turn": "turn"}[step.mode]
        label.append(f"{verb} ", style="bold blue")
        label.append(step.child, style="blue")
        if step.output:
            label.append(f"  “{_clip(step.output, width)}”")
    if step.error is not None:
        label.append(f"  {step.error.type}: {_clip(step.error.message, width)}", style="red")
    label.append(_duration(step), style="dim")
    label.append(f"  {step.status.value}", style=style)
    return label


def trajectory_tree(traj: Trajectory, *, messages: bool = False, width: int = 100) -> Tree:
    p = traj.provenance
    head = Text()
    head.append(f"trajectory {traj.id}", style="bold")
    head.append(f"  {p.framework}/{p.adapter}  model={p.model or '?'}", style="dim")
    root = Tree(head)
    if traj.task.turns:
        for turn in traj.task.turns:
            root.add(Text(f"user: {_clip(turn, width)}", style="italic"))
    by_parent: dict[str | None, list[Any]] = {}
    known = {s.id for s in traj.steps}
    for s in traj.steps:
        by_parent.setdefault(s.parent_id if s.parent_id in known else None, []).append(s)

    def add(node: Tree, parent: str | None) -> None:
        for step in by_parent.get(parent, []):
            child = node.add(step_label(step, width=width, messages=messages))
            if messages and isinstance(step, LLMStep):
                for m in step.request.messages:
                    child.add(Text(f"{m.role}: {_clip(m.text(), width)}", style="dim"))
            add(child, step.id)

    add(root, None)
    o = traj.outcome
    if o is not None:
        style = "green" if o.status.value == "completed" else "red"
        out = Text(f"outcome: {o.status.value} ({o.stop_reason})", style=style)
        if o.final_output:
            out.append(f"  “{_clip(o.final_output, width)}”", style="white")
        if o.error:
            out.append(f"  {o.error.type}: {o.error.message}", style="red")
        root.add(out)
    return root
