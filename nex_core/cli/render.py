"""Rendering trajectories for people (rich), after the fact: the runtime never prints.

Everything here is built from ``Text`` objects, never from markup strings: the texts are the
model's, the tools' and the user's, and rich must not read ``[x]`` in them as a style.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from rich.tree import Tree

from nex_core.trajectory.schema import (
    InputStep,
    LLMStep,
    Message,
    StepStatus,
    SubAgentStep,
    ToolCall,
    ToolStep,
    Trajectory,
)

_STATUS_STYLE = {
    StepStatus.OK: "green",
    StepStatus.ERROR: "red",
    StepStatus.CANCELLED: "yellow",
    StepStatus.RUNNING: "yellow",
}

StepFilter = Callable[[Any], bool]


def clip(text: str, width: int | None) -> str:
    """``text`` in full (``width`` None), or on one line cut to ``width`` characters."""
    if width is None:
        return text
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _half(width: int | None) -> int | None:
    return None if width is None else max(width // 2, 8)


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _duration(step: Any) -> str:
    if step.ended_at is None:
        return ""
    ms = (step.ended_at - step.started_at).total_seconds() * 1e3
    return f" {ms:.0f} ms" if ms >= 1 else f" {ms:.2f} ms"


def call_text(call: ToolCall, width: int | None) -> str:
    """``name(arguments) [id]`` of a tool call as the model made it."""
    return f"{call.function.name}({clip(call.function.arguments, _half(width))}) [{call.id}]"


def step_label(step: Any, *, width: int | None = None) -> Text:
    style = _STATUS_STYLE.get(step.status, "white")
    label = Text()
    if isinstance(step, LLMStep):
        label.append("llm ", style="bold cyan")
        label.append(f"{step.agent or '?'}", style="cyan")
        resp = step.response
        if resp is not None:
            text = resp.message.text()
            if text:
                label.append(f"  “{clip(text, width)}”")
            calls = resp.message.tool_calls or []
            if calls:
                label.append(
                    "  → " + ", ".join(call_text(c, width) for c in calls), style="magenta"
                )
            if resp.usage:
                cached = resp.usage.cached_tokens
                hit = f", {cached} cached" if cached else ""
                label.append(f"  [{resp.usage.total_tokens} tok{hit}]", style="dim")
            if resp.tokens is not None:
                label.append(f"  {_token_ids(resp.tokens)}", style="dim")
    elif isinstance(step, ToolStep):
        label.append("tool ", style="bold magenta")
        label.append(step.name, style="magenta")
        args = _json(step.arguments) if step.arguments is not None else step.raw_arguments or ""
        label.append(f"({clip(args, _half(width))})")
        if step.error is None and step.status is StepStatus.OK:
            label.append(f" = {clip(_json(step.result), _half(width))}")
    elif isinstance(step, SubAgentStep):
        verb = {"tool": "agent", "handoff": "handoff →", "team_turn": "turn"}[step.mode]
        label.append(f"{verb} ", style="bold blue")
        label.append(step.child, style="blue")
        if step.output:
            label.append(f"  “{clip(step.output, width)}”")
    elif isinstance(step, InputStep):
        label.append("resume " if step.mode == "resume" else "input ", style="bold yellow")
        label.append(clip(_json(step.value), width))
    if step.error is not None:
        label.append(f"  {step.error.type}: {clip(step.error.message, width)}", style="red")
    if step.rewards:
        label.append(f"  reward {_rewards(step.rewards)}", style="yellow")
    label.append(_duration(step), style="dim")
    label.append(f"  {step.status.value}", style=style)
    return label


def _token_ids(tokens: Any) -> str:
    """``ids 52+13, logprobs top-2`` for a response's captured tokens."""
    prompt = len(tokens.prompt_token_ids) if tokens.prompt_token_ids is not None else "-"
    completion = (
        len(tokens.completion_token_ids) if tokens.completion_token_ids is not None else "-"
    )
    out = f"ids {prompt}+{completion}"
    if tokens.logprobs is not None:
        out += ", logprobs"
        if tokens.top_logprobs is not None and tokens.top_logprobs.logprobs:
            out += f" top-{max(len(row) for row in tokens.top_logprobs.logprobs)}"
    return out


def _rewards(rewards: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:g}" for name, value in sorted(rewards.items()))


def message_line(message: Message, width: int | None) -> Text:
    """One message of a model request: its role, text and (assistant) tool calls."""
    line = Text(style="dim")
    who = message.role if message.name is None else f"{message.role} ({message.name})"
    if message.role == "tool" and message.tool_call_id:
        who += f" [{message.tool_call_id}]"
    line.append(f"{who}: ")
    if message.reasoning:
        line.append(f"(reasoning: {clip(message.reasoning, width)}) ", style="italic")
    line.append(clip(message.text(), width))
    if message.tool_calls:
        if message.text():
            line.append("  ")
        line.append("→ " + ", ".join(call_text(c, width) for c in message.tool_calls))
    return line


def _user_turns_sent(step: Any, by_parent: dict[str | None, list[Any]], turns: list[str]) -> int:
    """How many of the task's turns the first model call in ``step``'s subtree had been sent."""
    pending = [step]
    while pending:
        current = pending.pop(0)
        if isinstance(current, LLMStep):
            sent = 0
            for m in current.request.messages:
                if m.role == "user" and sent < len(turns) and m.text() == turns[sent]:
                    sent += 1
            return sent
        pending[:0] = by_parent.get(current.id, [])
    return 0


def gap_lines(traj: Trajectory, width: int | None) -> list[Text]:
    """The GAP pipeline's verdict on this episode (``metadata["gap"]``), if it has one."""
    gap = traj.metadata.get("gap")
    if not isinstance(gap, dict) or "accepted" not in gap:
        return []
    accepted = bool(gap.get("accepted"))
    head = Text("gap: ", style="bold")
    head.append("accepted" if accepted else "rejected", style="green" if accepted else "red")
    if not accepted and gap.get("rejected_by"):
        head.append(f" by {gap['rejected_by']}", style="red")
    key = gap.get("key")
    if isinstance(key, dict):
        head.append("  " + " ".join(f"{k}={v}" for k, v in key.items()), style="dim")
    lines = [head]
    for name, result in (gap.get("checks") or {}).items():
        if not isinstance(result, dict):
            continue
        ok = bool(result.get("ok"))
        line = Text(f"  check {name}: ", style="dim")
        line.append("ok" if ok else "rejected", style="green" if ok else "red")
        if result.get("reason"):
            line.append(f" ({result['reason']})")
        if result.get("detail"):
            line.append(f" {clip(str(result['detail']), width)}")
        lines.append(line)
    return lines


def trajectory_tree(
    traj: Trajectory,
    *,
    messages: bool = False,
    width: int | None = None,
    steps: StepFilter | None = None,
) -> Tree:
    """The run as a tree: user turns where they entered the conversation, each step under its
    parent, then the outcome (and the GAP verdict for a GAP episode).

    With ``steps``, only the steps it accepts are shown, in order, without the tree around
    them (their parents may not match).
    """
    p = traj.provenance
    head = Text()
    head.append(f"trajectory {traj.id}", style="bold")
    head.append(f"  {p.framework}/{p.adapter}  model={p.model or '?'}", style="dim")
    if traj.task.id:
        head.append(f"  task={traj.task.id}", style="dim")
    root = Tree(head)

    def add_step(node: Tree, step: Any) -> Tree:
        child = node.add(step_label(step, width=width))
        if messages and isinstance(step, LLMStep):
            for m in step.request.messages:
                child.add(message_line(m, width))
        return child

    turns = list(traj.task.turns)
    shown_turns = 0

    def add_turns(upto: int) -> None:
        nonlocal shown_turns
        for turn in turns[shown_turns:upto]:
            root.add(Text(f"user: {clip(turn, width)}", style="italic"))
        shown_turns = max(shown_turns, upto)

    if steps is not None:
        for step in traj.steps:
            if steps(step):
                add_step(root, step)
    else:
        by_parent: dict[str | None, list[Any]] = {}
        known = {s.id for s in traj.steps}
        for s in traj.steps:
            by_parent.setdefault(s.parent_id if s.parent_id in known else None, []).append(s)

        def add(node: Tree, parent: str | None) -> None:
            for step in by_parent.get(parent, []):
                add(add_step(node, step), step.id)

        for top in by_parent.get(None, []):
            add_turns(max(_user_turns_sent(top, by_parent, turns), min(1, len(turns))))
            add(add_step(root, top), top.id)
        add_turns(len(turns))
    _add_outcome(root, traj, width)
    for line in gap_lines(traj, width):
        root.add(line)
    return root


def _add_outcome(root: Tree, traj: Trajectory, width: int | None) -> None:
    o = traj.outcome
    if o is None:
        return
    style = "green" if o.status.value == "completed" else "red"
    out = Text(f"outcome: {o.status.value} ({o.stop_reason})", style=style)
    if o.structured_output is not None:  # the answer as data (its JSON is final_output)
        out.append(f"  structured: {clip(_json(o.structured_output), width)}", style="cyan")
    elif o.final_output:
        out.append(f"  “{clip(o.final_output, width)}”", style="white")
    if o.error:
        out.append(f"  {o.error.type}: {clip(o.error.message, width)}", style="red")
    for request in o.pending or []:  # what a paused run waits for
        out.append(f"  waiting for: {clip(_json(request), width)}", style="yellow")
    if o.rewards:
        out.append(f"  rewards {_rewards(o.rewards)}", style="yellow")
    root.add(out)


def matching_steps(*, agent: str | None, kinds: Iterable[str]) -> StepFilter | None:
    """A filter for ``--agent``/``--kind``, or None when neither is given."""
    wanted = set(kinds)
    if agent is None and not wanted:
        return None

    def accept(step: Any) -> bool:
        if wanted and step.kind not in wanted:
            return False
        if agent is None:
            return True
        return bool(step.agent == agent or getattr(step, "child", None) == agent)

    return accept
