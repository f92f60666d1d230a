"""Rewards from checks and verifiers (issue 13 item 3): on the run and its steps, summed in the
report, written into the stored trajectories."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gap_helpers import write_config

from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import read_trajectories
from nex_core.trajectory.schema import LLMStep


def test_rewards_reach_steps_outcomes_and_the_report(tmp_path: Path) -> None:
    tasks = [
        {"id": "good", "prompt": "2+3?", "expected": "5", "verifier": "rl_verifiers:length_score"},
        {"id": "bad", "prompt": "2+3?", "expected": "5", "verifier": "rl_verifiers:length_score"},
    ]
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    (tmp_path / "agent.yaml").write_text(
        "name: a\ntools:\n  - name: wait\n"
        "    parameters: {type: object, properties: {ms: {type: integer}}}\n"
        "    binding: gap_tools:wait\n"
    )
    (tmp_path / "good.yaml").write_text("replies: [{text: '5'}]\n")
    (tmp_path / "bad.yaml").write_text(
        "replies:\n"
        "  - tool_calls: [{name: nope, arguments: {}}, {name: wait, arguments: '{\"ms\": '}]\n"
        "  - text: '7'\n"
    )
    path = write_config(
        tmp_path,
        {
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "m", "ref": "scripted:{task}.yaml"}],
            "output": "out",
            "checks": [{"name": "format", "penalty": 0.5}, {"name": "task"}],
        },
    )
    report = asyncio.run(run_gap(load_config(path))).report
    assert report["accepted"] == 1
    assert report["rewards"] == {
        "format": {"sum": -1.0, "episodes": 2, "mean": -0.5},
        "task": {"sum": 1.0, "episodes": 2, "mean": 0.5},
        # Only the good run reached the verifier (a wrong answer stops the task check first).
        "verifier": {"sum": 0.75, "episodes": 1, "mean": 0.75},
    }
    assert json.loads((tmp_path / "out" / "report.json").read_text())["rewards"] == report[
        "rewards"
    ]
    stored, bad_lines = read_trajectories(tmp_path / "out" / "trajectories.jsonl")
    assert not bad_lines
    by_task = {t.task.id: t for t in stored}
    good, bad = by_task["good"], by_task["bad"]
    assert good.outcome is not None and good.outcome.rewards == {
        "format": 0.0, "task": 1.0, "verifier": 0.75
    }
    assert bad.outcome is not None and bad.outcome.rewards == {"format": -1.0, "task": 0.0}
    first_call = next(s for s in bad.steps if isinstance(s, LLMStep))
    assert first_call.rewards == {"format": -1.0}  # two malformed calls at 0.5 each
    assert all(s.rewards is None for s in good.steps)
    checks = bad.metadata["gap"]["checks"]
    assert checks["task"] == {
        "ok": False, "reason": "wrong_answer", "detail": "expected contains '5'",
        "rewards": {"task": 0.0},
    }


def test_the_judge_s_score_is_its_reward(tmp_path: Path) -> None:
    from nex_core.gap.checks import TaskCheck
    from nex_core.gap.tasks import Task
    from nex_core.trajectory.schema import Outcome, OutcomeStatus, Provenance, Trajectory

    (tmp_path / "judge.yaml").write_text(
        "replies: [{text: \"PASS\\nSCORE: 0.8\\nClose enough.\"}]\n"
    )
    check = TaskCheck(judge_model=f"scripted:{tmp_path / 'judge.yaml'}")
    traj = Trajectory(
        id="t", started_at="2026-01-01T00:00:00Z",
        provenance=Provenance(framework="f", adapter="a", nex_version="0"),
        outcome=Outcome(status=OutcomeStatus.COMPLETED, final_output="about 5"),
    )
    task = Task(id="t", turns=["2+3?"], rubric="5 is right")
    passed = asyncio.run(check.check(traj, task))
    assert passed.ok and passed.rewards == {"judge": 0.8}
    (tmp_path / "judge.yaml").write_text("replies: [{text: \"FAIL\\nWrong.\"}]\n")
    check = TaskCheck(judge_model=f"scripted:{tmp_path / 'judge.yaml'}")
    failed = asyncio.run(check.check(traj, task))
    assert not failed.ok and failed.reason == "judge_fail" and failed.rewards == {"judge": 0.0}
