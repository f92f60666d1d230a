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

from nex_core.errors import OutputError
from nex_core.trajectory.schema import LLMStep, ToolStep, Trajectory


@dataclass(frozen=True, slots=True)
class Entry:
    """What one episode adds to the counts (kept for episodes a re-run may replace)."""

    backend: str
    status: str
    accepted: bool
    rejected_by: str | None
    prompt_tokens: int
    completion_tokens: int
    llm_calls: int
    tool_calls: int
    resumed: bool
    rewards: tuple[tuple[str, float], ...] = ()
    """The run's rewards (``outcome.rewards``: checks and verifiers put them there)."""

    @classmethod
    def of(cls, trajectory: Trajectory, gap: dict[str, Any], *, resumed: bool) -> Entry:
        prompt = completion = llm = tools = 0
        for step in trajectory.steps:
            if isinstance(step, LLMStep):
                llm += 1
                usage = step.response.usage if step.response else None
                if usage is not None:
                    prompt += usage.prompt_tokens
                    completion += usage.completion_tokens
            elif isinstance(step, ToolStep):
                tools += 1
        rejected = gap.get("rejected_by")
        return cls(
            backend=str(gap.get("key", {}).get("backend", trajectory.provenance.adapter)),
            status=trajectory.outcome.status.value if trajectory.outcome else "unfinished",
            accepted=bool(gap.get("accepted")),
            rejected_by=str(rejected) if rejected else None,
            prompt_tokens=prompt,
            completion_tokens=completion,
            llm_calls=llm,
            tool_calls=tools,
            resumed=resumed,
            rewards=tuple(sorted(trajectory.outcome.rewards.items())) if trajectory.outcome else (),
        )


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
    retried: int = 0
    """Episodes of this invocation that replaced an earlier, failed attempt (``retry_errors``)."""
    seconds: float = 0.0
    """Wall time of this invocation's execution."""
    bad_lines: list[str] = field(default_factory=list)
    mcp_restarts: dict[str, int] = field(default_factory=dict)
    reward_sums: dict[str, float] = field(default_factory=dict)
    reward_counts: Counter[str] = field(default_factory=Counter)
    """Per reward name: the sum over episodes, and how many episodes have it."""

    def add(self, trajectory: Trajectory, gap: dict[str, Any], *, resumed: bool) -> Entry:
        entry = Entry.of(trajectory, gap, resumed=resumed)
        self.apply(entry)
        return entry

    def apply(self, entry: Entry, sign: int = 1) -> None:
        """Count ``entry`` (``sign=-1``: take back an episode that a later attempt replaces)."""
        self.episodes += sign
        _bump(self.by_backend_status, (entry.backend, entry.status), sign)
        if entry.resumed:
            self.resumed += sign
        else:
            self.ran += sign
        if entry.accepted:
            self.accepted += sign
            _bump(self.accepted_by_backend, entry.backend, sign)
        elif entry.rejected_by:
            _bump(self.rejections, entry.rejected_by, sign)
        self.prompt_tokens += sign * entry.prompt_tokens
        self.completion_tokens += sign * entry.completion_tokens
        self.llm_calls += sign * entry.llm_calls
        self.tool_calls += sign * entry.tool_calls
        for name, value in entry.rewards:
            self.reward_sums[name] = self.reward_sums.get(name, 0.0) + sign * value
            _bump(self.reward_counts, name, sign)
            if name not in self.reward_counts:
                del self.reward_sums[name]

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
                "retried": self.retried,
                "seconds": round(self.seconds, 3),
                "episodes_per_s": round(self.ran / self.seconds, 2) if self.seconds > 0 else None,
            },
            "mcp_restarts": dict(self.mcp_restarts),
            "rewards": {
                name: {
                    "sum": round(self.reward_sums[name], 6),
                    "episodes": n,
                    "mean": round(self.reward_sums[name] / n, 6),
                }
                for name, n in sorted(self.reward_counts.items())
            },
            "unreadable_lines": list(self.bad_lines),
        }


def _bump(counter: Counter[Any], key: Any, sign: int) -> None:
    counter[key] += sign
    if counter[key] <= 0:
        del counter[key]


def write_report(data: dict[str, Any], path: Path) -> None:
    from nex_core.trajectory.redact import redact_data

    try:
        path.write_text(json.dumps(redact_data(data), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError.from_os_error(path, exc) from None


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
    if data.get("rewards"):
        rewards = Table(title="rewards")
        for column in ("reward", "episodes", "sum", "mean"):
            rewards.add_column(column, justify="left" if column == "reward" else "right")
        for name, row in data["rewards"].items():
            rewards.add_row(
                escape(name), str(row["episodes"]), f"{row['sum']:g}", f"{row['mean']:.4g}"
            )
        console.print(rewards)
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
