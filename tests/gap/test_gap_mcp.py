"""MCP servers declared in the config start once per worker and are shared; a server that dies
is restarted, and the episode it broke is recorded as failed with the reason."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

from gap_helpers import HERE, write_config

from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import iter_trajectories

TASKS = ["a", "b", "boom", "c", "d"]


def _setup(tmp_path: Path, lanes: int) -> Path:
    (tmp_path / "tasks.jsonl").write_text(
        "".join(json.dumps({"id": t, "prompt": f"look up {t}"}) + "\n" for t in TASKS)
    )
    (tmp_path / "agent.yaml").write_text(
        "name: finder\nsystem_prompt: Use the lookup tool.\n"
        "mcp_servers:\n  flaky: {command: python, args: [never-started.py]}\n"
        "tools:\n  - {name: lookup, binding: {server: flaky}}\n"
        "  - {name: crash, binding: {server: flaky}}\n"
    )
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for task in TASKS:
        tool = (
            {"name": "crash", "arguments": {"reason": "test"}}
            if task == "boom"
            else {"name": "lookup", "arguments": {"key": task}}
        )
        (scripts / f"{task}.yaml").write_text(
            json.dumps({"replies": [{"tool_calls": [tool]}, {"text": "found"}]})
        )
    return write_config(
        tmp_path,
        {
            "name": "mcp",
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "scripted", "ref": "scripted:scripts/{task}.yaml"}],
            "output": "out",
            "max_in_flight": lanes,
            # The config's server wins over the spec's (whose command would fail): shared,
            # started once.
            "mcp_servers": {
                "flaky": {"command": sys.executable, "args": [str(HERE / "flaky_mcp_server.py")]}
            },
        },
    )


def test_dead_server_is_restarted_and_the_broken_episode_recorded(tmp_path: Path) -> None:
    config = load_config(_setup(tmp_path, lanes=1))
    report = asyncio.run(run_gap(config)).report
    assert report["mcp_restarts"] == {"flaky": 1}
    trajs = {t.task.id: t for t in iter_trajectories(config.trajectories_path)}
    assert set(trajs) == set(TASKS)
    broken = trajs["boom"]
    assert broken.outcome is not None and broken.outcome.status.value == "error"
    assert broken.outcome.stop_reason == "mcp_server_died"
    assert broken.outcome.error is not None and broken.outcome.error.type == "MCPServerDied"
    assert "flaky" in broken.outcome.error.message and "crash" in broken.outcome.error.message
    assert broken.outcome.labels["original_status"] == "completed"  # the agent went on; we did not
    assert report["rejections"] == {"status:tool_unavailable": 1}  # the environment, counted

    pids = {}
    for task in ("a", "b", "c", "d"):
        t = trajs[task]
        assert t.outcome is not None and t.outcome.status.value == "completed", task
        (result,) = [s.result for s in t.steps if s.kind == "tool"]
        pids[task] = re.search(r"pid (\d+)", str(result)).group(1)  # type: ignore[union-attr]
    # One server before the crash, shared by a and b; one restarted server after it.
    assert pids["a"] == pids["b"] and pids["c"] == pids["d"] and pids["a"] != pids["c"]


def test_concurrent_episodes_share_one_server(tmp_path: Path) -> None:
    config = load_config(_setup(tmp_path, lanes=8))
    config.tasks = ["tasks.jsonl"]
    (tmp_path / "tasks.jsonl").write_text(
        "".join(json.dumps({"id": t, "prompt": t}) + "\n" for t in ("a", "b", "c", "d"))
    )
    asyncio.run(run_gap(config))
    results = [
        s.result
        for t in iter_trajectories(config.trajectories_path)
        for s in t.steps
        if s.kind == "tool"
    ]
    assert len(results) == 4
    assert len({re.search(r"pid (\d+)", str(r)).group(1) for r in results}) == 1  # type: ignore[union-attr]
