"""Episodes whose tools failed because of the environment are failed and rejected, counted by
reason, never accepted: a server slower to start than a tool call may take, a server that dies
and restarts slowly, a server that cannot start, a tool that times out. Tool errors the model is
meant to handle (an MCP tool answering with an error) stay acceptable. Real MCP servers over
stdio: ``tests/mcp_probe_server.py`` and ``python -m`` of a module that does not exist."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from click.testing import CliRunner
from mcp_probe import leftovers, new_tag, probe_server
from probe_setup import probe_config

from nex_core.cli.main import cli
from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import iter_trajectories
from nex_core.trajectory.schema import Trajectory

MISSING = {"command": "python", "args": ["-m", "nex_no_such_mcp_server"]}


def _by_task(config_path: Path) -> dict[str, Trajectory]:
    config = load_config(config_path)
    return {t.task.id: t for t in iter_trajectories(config.trajectories_path)}


def _pid(trajectory: Trajectory) -> str:
    (result,) = [s.result for s in trajectory.steps if s.kind == "tool"]
    return re.search(r"pid (\d+)", str(result)).group(1)  # type: ignore[union-attr]


def test_a_slow_server_is_started_and_restarted_outside_the_tool_timeout(tmp_path: Path) -> None:
    """The server takes longer to start than tool_timeout_s, and dies once: the start and the
    restart are waited for, every other episode is served and accepted, the broken one is
    failed and rejected as the environment's, and no server process is left behind."""
    tag = new_tag()
    calls = {
        "a": [("whoami", {})],
        "b": [("whoami", {})],
        "boom": [("crash", {})],
        "c": [("whoami", {})],
        "d": [("whoami", {})],
    }
    path = probe_config(tmp_path, calls, probe_server(tag, start_delay=3), tool_timeout_s=1)
    report = asyncio.run(run_gap(load_config(path))).report
    trajs = _by_task(path)
    for task in ("a", "b", "c", "d"):
        t = trajs[task]
        assert t.outcome is not None and t.outcome.status.value == "completed", task
        assert all(s.error is None for s in t.steps if s.kind == "tool"), task
    assert _pid(trajs["a"]) == _pid(trajs["b"]) != _pid(trajs["c"]) == _pid(trajs["d"])
    broken = trajs["boom"]
    assert broken.outcome is not None and broken.outcome.stop_reason == "mcp_server_died"
    assert report["accepted"] == 4
    assert report["rejections"] == {"status:tool_unavailable": 1}
    assert report["mcp_restarts"] == {"probe": 1}
    assert leftovers(tag) == {}


def test_a_server_that_cannot_start_fails_its_episodes_with_the_real_cause(
    tmp_path: Path,
) -> None:
    calls = {t: [("whoami", {})] for t in ("a", "b", "c")}
    path = probe_config(tmp_path, calls, MISSING)
    report = asyncio.run(run_gap(load_config(path))).report
    assert report["accepted"] == 0
    assert report["rejections"] == {"status:tool_unavailable": 3}
    assert report["mcp_restarts"] == {"probe": 3}  # every failed (re)start is counted
    for task, t in _by_task(path).items():
        assert t.outcome is not None and t.outcome.status.value == "error", task
        assert t.outcome.stop_reason == "mcp_server_unavailable"
        assert t.outcome.error is not None and t.outcome.error.type == "ToolUnavailableError"
        message = t.outcome.error.message
        assert "MCP server 'probe' failed to start" in message
        assert "No module named nex_no_such_mcp_server" in message
        assert "-m nex_no_such_mcp_server" in message  # the command line
        assert "TaskGroup" not in message


def test_a_server_slower_than_its_start_timeout_fails_and_is_killed(tmp_path: Path) -> None:
    tag = new_tag()
    calls = {"a": [("whoami", {})], "b": [("whoami", {})]}
    server = probe_server(tag, start_delay=60)
    path = probe_config(tmp_path, calls, server, mcp_start_timeout_s=1)
    report = asyncio.run(run_gap(load_config(path))).report
    assert report["accepted"] == 0 and report["rejections"] == {"status:tool_unavailable": 2}
    for t in _by_task(path).values():
        assert t.outcome is not None and t.outcome.error is not None
        assert "MCP server 'probe' did not start within 1.0 s" in t.outcome.error.message
    assert leftovers(tag) == {}


def test_tool_timeouts_are_rejected_and_tool_errors_kept(tmp_path: Path) -> None:
    """A timeout is the environment's (rejected, counted); an MCP tool answering with an error
    is the model's to handle (accepted)."""
    tag = new_tag()
    calls = {"late": [("sleep", {"seconds": 5})], "told": [("fail", {"reason": "no such key"})]}
    path = probe_config(tmp_path, calls, probe_server(tag), tool_timeout_s=0.5)
    report = asyncio.run(run_gap(load_config(path))).report
    trajs = _by_task(path)
    (late,) = [s for s in trajs["late"].steps if s.kind == "tool"]
    (told,) = [s for s in trajs["told"].steps if s.kind == "tool"]
    assert late.error is not None and late.error.type == "TimeoutError"
    assert told.error is not None and told.error.type == "MCPToolError"
    for t in trajs.values():  # the agent went on after the tool error in both
        assert t.outcome is not None and t.outcome.status.value == "completed"
    assert report["accepted"] == 1
    assert report["rejections"] == {"status:tool_timeout": 1}
    saved = [t.metadata["gap"] for t in iter_trajectories(load_config(path).trajectories_path)]
    verdicts = {g["key"]["task"]: g for g in saved}
    assert verdicts["late"]["checks"]["status"]["reason"] == "tool_timeout"
    assert "sleep: TimeoutError" in verdicts["late"]["checks"]["status"]["detail"]
    assert verdicts["told"]["accepted"] is True
    assert leftovers(tag) == {}


def test_gap_check_starts_the_servers_and_names_the_one_that_cannot(tmp_path: Path) -> None:
    tag = new_tag()
    good = probe_config(tmp_path, {"a": [("whoami", {})]}, probe_server(tag))
    result = CliRunner().invoke(cli, ["gap", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "MCP server 'probe' started: 5 tools" in result.output

    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = probe_config(bad_dir, {"a": [("whoami", {})]}, MISSING)
    result = CliRunner().invoke(cli, ["gap", "check", str(bad)])
    assert result.exit_code == 1
    text = "".join(result.output.split())  # rich wraps long lines, even inside a word
    assert "Traceback" not in text and text.startswith("error:")
    assert "MCPserver'probe'failedtostart" in text
    assert "-mnex_no_such_mcp_server)" in text  # the command line
    assert "Nomodulenamednex_no_such_mcp_server" in text
    # --no-servers checks the files only.
    assert CliRunner().invoke(cli, ["gap", "check", str(bad), "--no-servers"]).exit_code == 0
    assert leftovers(tag) == {}
