"""The Ray executor runs the same config as the local one, on a local Ray cluster."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import yaml

from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import iter_trajectories

GAP_TESTS = Path(__file__).resolve().parents[3] / "tests" / "gap"
TASKS = [f"t{i}" for i in range(8)]


def _config(tmp_path: Path) -> Path:
    (tmp_path / "tasks.jsonl").write_text(
        "".join(
            json.dumps({"id": t, "prompt": f"look up {t}", "expected": "found"}) + "\n"
            for t in TASKS
        )
    )
    (tmp_path / "agent.yaml").write_text(
        "name: finder\ntools:\n  - {name: lookup, binding: {server: flaky}}\n"
    )
    (tmp_path / "script.yaml").write_text(
        "replies:\n  - tool_calls: [{name: lookup, arguments: {key: k}}]\n  - text: found it\n"
    )
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "ray",
                "tasks": ["tasks.jsonl"],
                "agents": [{"spec": "agent.yaml"}],
                "models": [{"name": "scripted", "ref": "scripted:script.yaml", "concurrency": 4}],
                "output": "out",
                "checks": [{"name": "status"}, {"name": "task"}],
                "mcp_servers": {
                    "flaky": {
                        "command": sys.executable,
                        "args": [str(GAP_TESTS / "flaky_mcp_server.py")],
                    }
                },
            }
        )
    )
    return path


def test_ray_executor_resumes_a_local_run_and_shares_mcp_per_worker(
    ray_cluster: None, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from nex_core.cli.main import cli

    path = _config(tmp_path)
    first = asyncio.run(run_gap(load_config(path), limit=3))  # local executor, stopped early
    assert first.report["this_run"]["episodes"] == 3
    # The rest through the command line: `nex gap run CONFIG --executor ray`.
    args = [
        "gap",
        "run",
        str(path),
        "--executor",
        "ray",
        "--no-progress",
        "--json",
        "--executor-option",
        "num_workers=2",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # the JSON alone: progress and the summary go to stderr
    assert report["executor"]["name"] == "ray" and report["executor"]["workers"] == 2
    assert report["this_run"]["episodes"] == 5 and report["this_run"]["resumed_skipped"] == 3
    assert report["accepted"] == 8 and report["by_backend"]["native"]["statuses"] == {
        "completed": 8
    }

    trajs = list(iter_trajectories(load_config(path).trajectories_path))
    assert sorted(t.task.id or "" for t in trajs) == TASKS  # each episode once, none lost
    pids = {
        re.search(r"pid (\d+)", str(s.result)).group(1)  # type: ignore[union-attr]
        for t in trajs[3:]
        for s in t.steps
        if s.kind == "tool"
    }
    assert 1 <= len(pids) <= 2  # one MCP server per Ray worker, shared by its episodes
