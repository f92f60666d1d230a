"""A trajectory as the page shows it: the step tree with parallel batches grouped, each step's
place on the run's timeline, and whatever fields this viewer does not know yet (kept, shown as
JSON) so a newer schema's optional fields still appear."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Fields the templates render in their own way; anything else in a record is shown generically.
KNOWN_COMMON = {
    "id",
    "parent_id",
    "agent",
    "started_at",
    "ended_at",
    "status",
    "error",
    "metadata",
    "kind",
}
KNOWN = {
    "llm": KNOWN_COMMON | {"model", "request", "response"},
    "tool": KNOWN_COMMON
    | {"call_id", "name", "arguments", "raw_arguments", "result", "latency_ms"},
    "subagent": KNOWN_COMMON | {"child", "mode", "call_id", "input", "output"},
}
KNOWN_REQUEST = {"messages", "messages_from", "tools", "params"}
KNOWN_RESPONSE = {"message", "finish_reason", "usage"}
KNOWN_MESSAGE = {"role", "content", "name", "tool_calls", "tool_call_id", "reasoning"}
KNOWN_TRAJECTORY = {
    "schema_version",
    "id",
    "provenance",
    "task",
    "root_agent",
    "started_at",
    "ended_at",
    "steps",
    "outcome",
    "metadata",
}
KNOWN_OUTCOME = {"status", "final_output", "stop_reason", "error", "rewards", "labels"}


def extras(record: dict[str, Any] | None, known: set[str]) -> dict[str, Any]:
    """The fields of ``record`` no template knows (a newer schema's optional ones)."""
    if not isinstance(record, dict):
        return {}
    return {k: v for k, v in record.items() if k not in known}


def pretty(value: Any) -> str:
    """A value as readable text: strings as they are, everything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def short(value: Any, limit: int = 90) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass
class Node:
    step: dict[str, Any]
    depth: int
    children: list[Node | Batch] = field(default_factory=list)
    offset_ms: float = 0.0
    duration_ms: float | None = None
    shared_from: str | None = None
    """An LLM step whose request begins with all the messages of this earlier LLM step (its id):
    the page shows those once, there, and links to them, so a long run's page grows linearly."""
    shared_count: int = 0

    @property
    def kind(self) -> str:
        return str(self.step.get("kind", "?"))

    @property
    def label(self) -> str:
        """One line saying what the step did."""
        s = self.step
        if self.kind == "llm":
            message = (s.get("response") or {}).get("message") or {}
            calls = [
                c.get("function", {}).get("name", "?") for c in message.get("tool_calls") or []
            ]
            said = short(message_text(message), 70)
            parts = [said] if said else []
            if calls:
                parts.append("calls " + ", ".join(calls))
            return " · ".join(parts) or ("no response" if not s.get("response") else "(empty)")
        if self.kind == "tool":
            args = s.get("arguments") if "arguments" in s else s.get("raw_arguments", "")
            head = f"{s.get('name', '?')}({short(args, 50)})"
            if s.get("error"):
                return f"{head} ✗ {short(s['error'].get('message', ''), 50)}"
            return f"{head} → {short(s.get('result'), 50)}"
        if self.kind == "subagent":
            return f"{s.get('mode', '?')} → {s.get('child', '?')}"
        return short(s)


@dataclass
class Batch:
    """Tool or sub-agent steps answering one model response together (a parallel batch)."""

    nodes: list[Node]
    depth: int


@dataclass
class TrajectoryView:
    data: dict[str, Any]
    roots: list[Node | Batch]
    timeline: list[Node]
    span_ms: float
    agents: list[str]
    statuses: list[str]

    @property
    def unknown(self) -> dict[str, Any]:
        return extras(self.data, KNOWN_TRAJECTORY)


def _group(nodes: list[Node], depth: int) -> list[Node | Batch]:
    """Non-LLM siblings between two LLM steps answer the same response: a batch when several."""
    out: list[Node | Batch] = []
    run: list[Node] = []

    def flush() -> None:
        # Several calls answering one response ran as a batch; a tool call and the handoff it
        # triggered share one call id and are one action, not a batch.
        calls = {n.step.get("call_id") or n.step.get("id") for n in run}
        if len(calls) > 1:
            out.append(Batch(list(run), depth))
        else:
            out.extend(run)
        run.clear()

    for node in nodes:
        if node.kind == "llm":
            flush()
            out.append(node)
        else:
            run.append(node)
    flush()
    return out


def build(data: dict[str, Any]) -> TrajectoryView:
    steps: list[dict[str, Any]] = [s for s in data.get("steps", []) if isinstance(s, dict)]
    known = {s.get("id") for s in steps}
    by_parent: dict[Any, list[dict[str, Any]]] = {}
    for s in steps:
        parent = s.get("parent_id") if s.get("parent_id") in known else None
        by_parent.setdefault(parent, []).append(s)
    start = _time(data.get("started_at"))
    end = _time(data.get("ended_at"))
    timeline: list[Node] = []

    def make(step: dict[str, Any], depth: int, seen: set[Any]) -> Node:
        node = Node(step, depth)
        begun, ended = _time(step.get("started_at")), _time(step.get("ended_at"))
        if start is not None and begun is not None:
            node.offset_ms = max(0.0, (begun - start).total_seconds() * 1000)
        if begun is not None and ended is not None:
            node.duration_ms = max(0.0, (ended - begun).total_seconds() * 1000)
        timeline.append(node)
        if step.get("id") not in seen:  # a record whose parents loop is shown, not followed
            kids = [
                make(c, depth + 1, seen | {step.get("id")})
                for c in by_parent.get(step.get("id"), [])
            ]
            node.children = _group(kids, depth + 1)
        return node

    roots = _group([make(s, 0, set()) for s in by_parent.get(None, [])], 0)
    _share_prefixes(timeline)
    span = 0.0
    for node in timeline:
        span = max(span, node.offset_ms + (node.duration_ms or 0.0))
    if start is not None and end is not None:
        span = max(span, (end - start).total_seconds() * 1000)
    agents = sorted({str(s["agent"]) for s in steps if s.get("agent")})
    statuses = sorted({str(s.get("status", "")) for s in steps})
    return TrajectoryView(data, roots, timeline, span, agents, statuses)


def _share_prefixes(timeline: list[Node]) -> None:
    """Mark each LLM step whose messages begin with the previous request of the same agent."""
    previous: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    previous_id: dict[tuple[Any, Any], str] = {}
    for node in sorted(timeline, key=lambda n: n.offset_ms):
        if node.kind != "llm":
            continue
        messages = (node.step.get("request") or {}).get("messages") or []
        chain = (node.step.get("agent"), node.step.get("parent_id"))
        earlier = previous.get(chain)
        if earlier and len(earlier) <= len(messages) and messages[: len(earlier)] == earlier:
            node.shared_from, node.shared_count = previous_id[chain], len(earlier)
        previous[chain], previous_id[chain] = messages, str(node.step.get("id"))


def bar(node: Node, span_ms: float) -> tuple[float, float]:
    """Left offset and width of ``node``'s waterfall bar, in percent of the run."""
    if span_ms <= 0:
        return 0.0, 100.0
    left = min(100.0, node.offset_ms / span_ms * 100)
    width = max(0.4, (node.duration_ms or 0.0) / span_ms * 100)
    return round(left, 3), round(min(width, 100.0 - left + 0.4), 3)
