"""``nex inspect``: trajectories as trees (or JSON), whole or filtered."""

from __future__ import annotations

import fnmatch
import json
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from nex_core.cli.output import console, err_console, fail
from nex_core.cli.params import TextFile

if TYPE_CHECKING:
    from nex_core.trajectory.reader import BadLine
    from nex_core.trajectory.schema import Trajectory

OUTCOMES = ("completed", "max_steps", "error", "cancelled", "interrupted")
VERDICTS = ("accepted", "rejected")
MAX_SKIPPED_SHOWN = 5


def _status_matches(traj: Trajectory, statuses: set[str]) -> bool:
    if not statuses:
        return True
    outcome = traj.outcome.status.value if traj.outcome is not None else "unfinished"
    gap = traj.metadata.get("gap")
    verdict = None
    if isinstance(gap, dict) and "accepted" in gap:
        verdict = "accepted" if gap["accepted"] else "rejected"
    return outcome in statuses or verdict in statuses


def _task_matches(traj: Trajectory, patterns: tuple[str, ...]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(traj.task.id or "", p) for p in patterns)


@click.command()
@click.argument("file", type=TextFile())
@click.option(
    "--index",
    type=click.IntRange(min=0),
    default=None,
    help="Show only trajectory number INDEX (0-based, counting every trajectory in FILE).",
)
@click.option("--messages", is_flag=True, help="Show the messages each model call received.")
@click.option(
    "--width",
    type=click.IntRange(min=10),
    default=None,
    help="Cut every text to one line of at most this many characters (default: full text).",
)
@click.option("--json", "as_json", is_flag=True, help="Print matching trajectories as JSON lines.")
@click.option("--agent", default=None, help="Only steps made by (or handing over to) this agent.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["llm", "tool", "subagent", "input"]),
    help="Only steps of this kind; repeat for several.",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([*OUTCOMES, *VERDICTS]),
    help="Only runs with this outcome, or GAP episodes with this verdict; repeatable.",
)
@click.option(
    "--task",
    "tasks",
    multiple=True,
    help="Only runs whose task id matches (shell-style pattern, e.g. 'math-*'); repeatable.",
)
def inspect(
    file: str,
    index: int | None,
    messages: bool,
    width: int | None,
    as_json: bool,
    agent: str | None,
    kinds: tuple[str, ...],
    statuses: tuple[str, ...],
    tasks: tuple[str, ...],
) -> None:
    """Show the trajectories in a JSONL FILE as trees: every step, full texts, the messages
    each model call received (--messages), and a GAP run's verdicts."""
    from nex_core.cli.render import matching_steps, trajectory_tree
    from nex_core.trajectory.reader import iter_trajectories

    bad: list[BadLine] = []
    step_filter = matching_steps(agent=agent, kinds=kinds)
    wanted_status = set(statuses)
    shown = 0
    for i, traj in enumerate(iter_trajectories(file, on_error=bad.append)):
        if index is not None and i != index:
            continue
        if not (_status_matches(traj, wanted_status) and _task_matches(traj, tasks)):
            continue
        if step_filter is not None and not any(step_filter(s) for s in traj.steps):
            continue
        if as_json:
            click.echo(json.dumps(_json_view(traj, step_filter), ensure_ascii=False))
        else:
            console.print(trajectory_tree(traj, messages=messages, width=width, steps=step_filter))
        shown += 1
    for b in bad[:MAX_SKIPPED_SHOWN]:
        err_console.print(
            f"[yellow]skipped[/yellow] {escape(str(b))}", highlight=False, soft_wrap=True
        )
    if len(bad) > MAX_SKIPPED_SHOWN:
        err_console.print(
            f"[yellow]skipped[/yellow] {len(bad) - MAX_SKIPPED_SHOWN} more unreadable line(s) "
            "(`nex validate` lists them all)",
            highlight=False,
        )
    if shown == 0:
        filtered = index is not None or agent or kinds or statuses or tasks
        fail(
            f"no trajectory to show in {file}"
            + ("; none matches the filters given" if filtered else "")
        )


def _json_view(traj: Trajectory, step_filter: Any) -> dict[str, Any]:
    """The trajectory as JSON, every request in full; with a step filter, only those steps."""
    data = traj.model_dump(mode="json")
    if step_filter is not None:
        keep = {s.id for s in traj.steps if step_filter(s)}
        data["steps"] = [s for s in data["steps"] if s["id"] in keep]
    return data
