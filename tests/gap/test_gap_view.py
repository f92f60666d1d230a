"""The dashboard of a real GAP run (scripted model, a tool bound by import path, real checks),
resumed once: its numbers are the run's report's, and every episode links to its trajectory."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("jinja2", reason="nex view needs the view extra: pip install 'nex-core[view]'")
pytest.importorskip("matplotlib", reason="the dashboard needs the view extra")

from click.testing import CliRunner
from gap_helpers import write_config

from nex_core.cli.main import cli
from nex_core.gap import load_config, run_gap


def make_run(folder: Path) -> Path:
    tasks = [
        {"id": "t0", "prompt": "wait a little", "expected": "DONE"},
        {"id": "t1", "prompt": "wait some more", "expected": "DONE"},
        {"id": "t2", "prompt": "wait and shout", "expected": "something else"},
    ]
    (folder / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    (folder / "agent.yaml").write_text(
        "name: waiter\nsystem_prompt: Wait, then say DONE.\ntools:\n"
        "  - name: wait\n    description: Sleep.\n"
        "    parameters: {type: object, properties: {ms: {type: integer}}, required: [ms]}\n"
        "    binding: gap_tools:wait\n"
    )
    (folder / "script.yaml").write_text(
        "replies:\n  - tool_calls: [{name: wait, arguments: {ms: 1}}]\n  - text: DONE\n"
    )
    config = write_config(
        folder,
        {
            "name": "view-run",
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "scripted", "ref": "scripted:script.yaml", "concurrency": 2}],
            "samples": 2,
            "output": "out",
            "checks": [{"name": "status"}, {"name": "task"}, {"name": "dedup"}],
        },
    )
    asyncio.run(run_gap(load_config(config), limit=2, progress=False))  # the next run resumes
    return config


def test_the_dashboard_shows_the_runs_report_and_links_every_episode(tmp_path: Path) -> None:
    config = make_run(tmp_path)
    out = tmp_path / "out"
    runner = CliRunner()
    ran = runner.invoke(cli, ["gap", "run", str(config), "--no-progress"])
    assert ran.exit_code == 0, ran.output
    named = out / "dashboard.html"
    assert f"dashboard: {named}" in ran.stderr  # the run ends by naming its dashboard
    viewed = runner.invoke(cli, ["view", str(out)])
    assert viewed.exit_code == 0 and named.is_file()
    report = json.loads((out / "report.json").read_text())
    html = named.read_text(encoding="utf-8")
    assert f"<b>{report['episodes']}</b> episodes" in html
    assert f"<b>{report['accepted']}</b> accepted" in html
    assert f"<b>{report['rejected']}</b> rejected" in html
    assert report["rejected"] > 0 and report["rejections"]
    for reason, count in report["rejections"].items():
        assert f"<td>{reason}</td><td>{count}</td>" in html
    assert "found done and skipped (resumed)</td><td>2</td>" in html
    charts = re.findall(r'<figure class="chart" data-chart="(\w+)"><svg', html)
    assert charts == ["acceptance", "rejections", "steps", "tokens", "latency", "tools"]
    links = re.findall(r'<td><a href="#(t0-\d+)">', html)
    assert len(links) == report["episodes"]
    for ref in links:
        assert f'<section class="traj-detail" id="{ref}">' in html
