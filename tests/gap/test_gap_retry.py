"""Re-running with ``--retry-errors`` (or ``retry_errors: true``) runs again the episodes that
ended in error — here because their MCP server was not installed, then is — and the new attempt
replaces the old one in the report; ``--no-progress`` still prints the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from mcp_probe import leftovers, new_tag, probe_server
from probe_setup import probe_config

from nex_core.cli.main import cli
from nex_core.gap import load_config
from nex_core.trajectory.reader import iter_trajectories

MISSING = {"command": "python", "args": ["-m", "nex_no_such_mcp_server"]}


def _gap_run(path: Path, *flags: str) -> tuple[dict, str]:
    result = CliRunner().invoke(cli, ["gap", "run", str(path), "--no-progress", "--json", *flags])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), " ".join(result.stderr.split())


@pytest.mark.parametrize("how", ["flag", "config"])
def test_errored_episodes_run_again_once_the_server_is_installed(tmp_path: Path, how: str) -> None:
    tag = new_tag()
    path = probe_config(tmp_path, {t: [("whoami", {})] for t in ("a", "b", "c")}, MISSING)
    first, summary = _gap_run(path)
    assert first["rejections"] == {"status:tool_unavailable": 3}
    assert "3 episodes (0 accepted)" in summary  # printed without a progress bar

    # The server is installed now (the config points at one that starts).
    data = yaml.safe_load(path.read_text())
    data["mcp_servers"]["probe"] = probe_server(tag)
    path.write_text(yaml.safe_dump(data))
    plain, summary = _gap_run(path)
    assert plain["this_run"]["episodes"] == 0  # a plain re-run keeps the errors
    assert "this run: 0 in" in summary

    if how == "config":
        data["retry_errors"] = True
        path.write_text(yaml.safe_dump(data))
        retried, summary = _gap_run(path)
    else:
        retried, summary = _gap_run(path, "--retry-errors")
    assert retried["episodes"] == 3 and retried["accepted"] == 3
    assert retried["rejections"] == {}
    assert retried["by_backend"]["native"]["statuses"] == {"completed": 3}
    assert retried["this_run"]["episodes"] == 3 and retried["this_run"]["retried"] == 3
    assert "3 episodes (3 accepted)" in summary
    saved = json.loads((load_config(path).output_dir / "report.json").read_text())
    assert saved["accepted"] == 3
    lines = list(iter_trajectories(load_config(path).trajectories_path))
    assert len(lines) == 6  # the failed attempts stay in the append-only log

    again, _ = _gap_run(path, "--retry-errors")  # nothing left to retry; counts unchanged
    assert again["this_run"]["episodes"] == 0
    assert (again["episodes"], again["accepted"]) == (3, 3)
    assert leftovers(tag) == {}
