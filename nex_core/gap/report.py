"""Counting what a run did, and showing it: episodes by backend and status, rejections by
reason, tokens and throughput, as a rich table and as JSON."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nex_core.trajectory.schema import LLMStep, ToolStep, Trajectory


@dataclass
class Tally:
    """Counts over every episode in the output (resumed ones included) and over this run."""

    by_backend_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    accepted_by_backend: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    episodes: int = 0
    accepted: int = 0
    resumed: int = 0
    """Episodes found finished in the output at start (skipped)."""
    ran: int = 0
    """Episodes run by this invocation."""
    seconds: float = 0.0
    """Wall time of this invocation's execution."""
    bad_lines: list[str] = field(default_factory=list)
    mcp_restarts: dict[str, int] = field(default_factory=dict)

    def add(self, trajectory: Trajectory, gap: dict[str, Any], *, resumed: bool) -> None:
        backend = str(gap.get("key", {}).get("backend", trajectory.provenance.adapter))
        status = trajectory.outcome.status.value if trajectory.outcome else "unfinished"
        self.episodes += 1
        self.by_backend_status[(backend, status)] += 1
        if resumed:
            self.resumed += 1
        else:
            self.ran += 1
        if gap.get("accepted"):
            self.accepted += 1
            self.accepted_by_backend[backend] += 1
        elif gap.get("rejected_by"):
            self.rejections[str(gap["rejected_by"])] += 1
        for step in trajectory.steps:
            if isinstance(step, LLMStep):
                self.llm_calls += 1
                usage = step.response.usage if step.response else None
                if usage is not None:
                    self.prompt_tokens += usage.prompt_tokens
                    self.completion_tokens += usage.completion_tokens
            elif isinstance(step, ToolStep):
                self.tool_calls += 1

    def as_dict(self, name: str = "gap") -> dict[str, Any]:
        backends = sorted({b for b, _ in self.by_backend_status})
        return {
            "name": name,
            "episodes": self.episodes,
            "accepted": self.accepted,
            "rejected": self.episodes - self.accepted,
            "by_backend": {
                b: {
                    "statuses": {
                        s: n for (bb, s), n in sorted(self.by_backend_status.items()) if bb == b
                    },
                    "accepted": self.accepted_by_backend.get(b, 0),
                }
                for b in backends
            },
            "rejections": dict(self.rejections.most_common()),
            "tokens": {
                "prompt": self.prompt_tokens,
                "completion": self.completion_tokens,
                "total": self.prompt_tokens + self.completion_tokens,
            },
            "llm_calls": self.llm_calls,
            "tool_calls": self.tool_calls,
            "this_run": {
                "episodes": self.ran,
                "resumed_skipped": self.resumed,
                "seconds": round(self.seconds, 3),
                "episodes_per_s": round(self.ran / self.seconds, 2) if self.seconds > 0 else None,
            },
            "mcp_restarts": dict(self.mcp_restarts),
            "unreadable_lines": list(self.bad_lines),
        }


def write_report(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def print_report(data: dict[str, Any], console: Console) -> None:
    # Names and reasons are user text: escaped, or rich would read `[x]` in them as a style.
    table = Table(title=f"GAP run '{escape(data['name'])}': episodes by backend")
    statuses = sorted({s for b in data["by_backend"].values() for s in b["statuses"]})
    table.add_column("backend")
    for s in statuses:
        table.add_column(s, justify="right")
    table.add_column("accepted", justify="right")
    for backend, row in data["by_backend"].items():
        table.add_row(
            escape(backend),
            *(str(row["statuses"].get(s, 0)) for s in statuses),
            str(row["accepted"]),
        )
    console.print(table)
    if data["rejections"]:
        reasons = Table(title="rejections")
        reasons.add_column("check:reason")
        reasons.add_column("episodes", justify="right")
        for reason, n in data["rejections"].items():
            reasons.add_row(escape(reason), str(n))
        console.print(reasons)
    run = data["this_run"]
    tokens = data["tokens"]
    rate = run["episodes_per_s"]
    console.print(
        f"{data['episodes']} episodes ({data['accepted']} accepted); "
        f"this run: {run['episodes']} in "
        f"{run['seconds']} s ({rate if rate is not None else '-'} episodes/s), "
        f"{run['resumed_skipped']} already done; tokens {tokens['prompt']} in / "
        f"{tokens['completion']} out; MCP restarts {sum(data['mcp_restarts'].values())}"
    )
