"""Trajectories for the export tests, built as a recorder stores them (a uniquely named module:
test folders of several distributions share one pytest session)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nex_core.trajectory.schema import (
    FunctionCall,
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    StepStatus,
    TaskInfo,
    ToolCall,
    ToolSchema,
    Trajectory,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)

Call = tuple[str, Any]
"""(tool name, arguments): a dict is written as JSON; a string is kept raw (may be malformed)."""


def tool(name: str, parameters: dict[str, Any] | None = None, description: str = "") -> ToolSchema:
    return ToolSchema(
        name=name,
        description=description or f"The {name} tool.",
        parameters=parameters or {"type": "object", "properties": {}},
    )


def trajectory(
    i: int,
    *,
    tools: Sequence[ToolSchema] = (),
    turns: Iterable[Sequence[Call]] = (),
    reasoning: str | None = None,
    final: str = "done",
    accepted: bool | None = True,
    params: dict[str, Any] | None = None,
    task_id: str | None = None,
) -> Trajectory:
    """One root-agent run: system, user, then per turn an assistant batch of calls and their
    results, then the final answer (the last model call, which is the exported sample)."""
    messages = [Message.system("You are careful."), Message.user(f"Task {i}: go.")]
    n = 0
    for batch in turns:
        calls = []
        for name, args in batch:
            n += 1
            text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
            calls.append(
                ToolCall(id=f"call_{i}_{n}", function=FunctionCall(name=name, arguments=text))
            )
        messages.append(Message.assistant("", calls, reasoning=reasoning))
        messages += [
            Message.tool(c.id, f"result of {c.function.name} #{k}") for k, c in enumerate(calls)
        ]
    step = LLMStep(
        id="s1",
        agent="main",
        started_at=NOW,
        ended_at=NOW,
        status=StepStatus.OK,
        request=LLMRequest(messages=messages, tools=list(tools), params=params or {}),
        response=LLMResponse(message=Message.assistant(final, reasoning=reasoning)),
    )
    metadata: dict[str, Any] = {}
    if accepted is not None:
        metadata["gap"] = {"accepted": accepted, "key": {"backend": "native", "model": "m"}}
    return Trajectory(
        id=f"traj-{i}",
        provenance=Provenance(framework="native", adapter="native", nex_version="0"),
        task=TaskInfo(id=task_id or f"task-{i}", turns=[f"Task {i}: go."]),
        root_agent="main",
        started_at=NOW,
        ended_at=NOW,
        steps=[step],
        outcome=Outcome(status=OutcomeStatus.COMPLETED, final_output=final),
        metadata=metadata,
    )


WEATHER = tool(
    "weather",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
)
SEARCH = tool(
    "search",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "filters": {"type": "object", "properties": {"lang": {"enum": ["en", "fr"]}}},
        },
    },
)
NOARGS = tool("now")


def mixed(n: int) -> list[Trajectory]:
    """Rows whose tools and arguments differ in shape: other tools per row, other keys, other
    value types for one key, nested objects and arrays, empty arguments, unicode, parallel
    batches, reasoning, and rows with no tools at all."""
    shapes: list[dict[str, Any]] = [
        {"tools": [WEATHER], "turns": [[("weather", {"city": "Paris"})]]},
        {"tools": [WEATHER], "turns": [[("weather", {"city": "Oslo", "days": 3})]]},
        {"tools": [SEARCH], "turns": [[("search", {"query": 7})]]},  # a number where a string was
        {
            "tools": [SEARCH, WEATHER],
            "turns": [
                [
                    ("search", {"query": "x", "filters": {"lang": "fr", "deep": [1, "two", None]}}),
                    ("weather", {"city": "Zürich ☃"}),
                ]
            ],
            "reasoning": "Two lookups at once.",
        },
        {"tools": [NOARGS], "turns": [[("now", {})]]},
        {"tools": [NOARGS, SEARCH], "turns": [[("now", {})], [("search", {"ключ": {"a": [[]]}})]]},
        {},  # a plain chat: no tools, no calls
        {"tools": [WEATHER], "turns": [[("weather", {"city": 1.5, "days": True})]]},
    ]
    return [trajectory(i, **shapes[i % len(shapes)]) for i in range(n)]


def write_source(path: Path, trajectories: Iterable[Trajectory]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for t in trajectories:
            f.write(t.to_json() + "\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
