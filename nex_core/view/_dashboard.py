"""A GAP run judged by its distribution: one small row per episode (what the charts and tables
need, never the record itself, so a run of any size is summarised in memory proportional to its
episode count), then totals, acceptance by backend x agent x model, rejection reasons, lengths,
tokens, latency, tool use, MCP restarts and the history of resumed and retried attempts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nex_core.view._load import Entry


@dataclass(frozen=True, slots=True)
class Episode:
    ref: str
    line: int
    id: str
    task: str
    agent: str
    backend: str
    model: str
    key: str
    status: str
    accepted: bool | None
    """``None`` when the record carries no verdict (not written by a GAP run)."""
    rejected_by: str | None
    steps: int
    llm_calls: int
    tool_calls: int
    tokens: int
    seconds: float | None
    tools: tuple[str, ...]

    @classmethod
    def of(cls, entry: Entry) -> Episode:
        d = entry.data
        gap = d.get("metadata", {}).get("gap")
        gap = gap if isinstance(gap, dict) else {}
        key: dict[str, Any] = gap["key"] if isinstance(gap.get("key"), dict) else {}
        prov = d.get("provenance", {})
        steps = d.get("steps", [])
        tokens = 0
        tools: list[str] = []
        llm = 0
        for s in steps:
            if s.get("kind") == "llm":
                llm += 1
                usage = (s.get("response") or {}).get("usage") or {}
                tokens += int(usage.get("prompt_tokens", 0))
                tokens += int(usage.get("completion_tokens", 0))
            elif s.get("kind") == "tool":
                tools.append(str(s.get("name")))
        seconds = gap.get("seconds")
        if not isinstance(seconds, int | float):
            seconds = _span(d.get("started_at"), d.get("ended_at"))
        outcome = d.get("outcome") or {}
        rejected = gap.get("rejected_by")
        return cls(
            ref=entry.ref,
            line=entry.line,
            id=str(d.get("id", "")),
            task=str(key.get("task", prov.get("task_id") or d.get("task", {}).get("id") or "-")),
            agent=str(key.get("agent", d.get("root_agent") or "-")),
            backend=str(key.get("backend", prov.get("adapter", "-"))),
            model=str(key.get("model", prov.get("model") or "-")),
            key=json.dumps(key, sort_keys=True) if key else str(d.get("id", "")),
            status=str(outcome.get("status", "unfinished")),
            accepted=bool(gap["accepted"]) if "accepted" in gap else None,
            rejected_by=str(rejected) if rejected else None,
            steps=len(steps),
            llm_calls=llm,
            tool_calls=len(tools),
            tokens=tokens,
            seconds=float(seconds) if seconds is not None else None,
            tools=tuple(tools),
        )


def _span(start: Any, end: Any) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


@dataclass
class Dashboard:
    episodes: list[Episode] = field(default_factory=list)
    report: dict[str, Any] | None = None

    def add(self, entry: Entry) -> None:
        self.episodes.append(Episode.of(entry))

    @property
    def accepted(self) -> int:
        return sum(1 for e in self.episodes if e.accepted)

    @property
    def verdicts(self) -> bool:
        return any(e.accepted is not None for e in self.episodes)

    def matrix(self) -> list[dict[str, Any]]:
        """Episodes, accepted and rejected per (backend, agent, model)."""
        cells: dict[tuple[str, str, str], Counter[str]] = {}
        for e in self.episodes:
            c = cells.setdefault((e.backend, e.agent, e.model), Counter())
            c["episodes"] += 1
            c["accepted" if e.accepted else "rejected"] += 1
            c[f"status:{e.status}"] += 1
        return [
            {"backend": b, "agent": a, "model": m, **dict(c)}
            for (b, a, m), c in sorted(cells.items())
        ]

    def rejections(self) -> list[tuple[str, int]]:
        return Counter(e.rejected_by for e in self.episodes if e.rejected_by).most_common()

    def statuses(self) -> list[tuple[str, int]]:
        return Counter(e.status for e in self.episodes).most_common()

    def tool_use(self) -> list[tuple[str, int]]:
        return Counter(t for e in self.episodes for t in e.tools).most_common()

    def attempts(self) -> list[tuple[str, list[Episode]]]:
        """Episodes run more than once (a retried error, a resumed run's replacement)."""
        by_key: dict[str, list[Episode]] = {}
        for e in self.episodes:
            by_key.setdefault(e.key, []).append(e)
        return [(k, v) for k, v in by_key.items() if len(v) > 1]

    def mcp_restarts(self) -> dict[str, int]:
        data = (self.report or {}).get("mcp_restarts") or {}
        return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def this_run(self) -> dict[str, Any]:
        data = (self.report or {}).get("this_run") or {}
        return data if isinstance(data, dict) else {}
