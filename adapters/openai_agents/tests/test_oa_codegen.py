"""``nex convert SPEC --to openai-agents``: plain Agents SDK programs that lint, run and record
what ``nex run --backend openai-agents`` records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from nex_openai_agents import OpenAIAgentsAdapter, record
from oa_specs import BOSS, CALC, FRONT, SCENARIOS, STOPPER

from nex_core import AdapterError, ScriptedModel, TaskInfo, ToolSpec, load_spec, normalize
from nex_core.cli.main import cli
from nex_core.trajectory.reader import iter_trajectories

REPO = Path(__file__).resolve().parents[3]
RUFF = [sys.executable, "-m", "ruff", "check", "--isolated", "--line-length", "100"]
RUFF += ["--select", "E,F,W,I,B,UP,SIM,RUF"]
ADAPTER = OpenAIAgentsAdapter()


def load(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    return namespace


def test_generated_programs_are_lint_clean(tmp_path: Path) -> None:
    for spec in (CALC, BOSS, FRONT, STOPPER):
        (tmp_path / f"{spec.name}.py").write_text(ADAPTER.to_code(spec))
    done = subprocess.run([*RUFF, "."], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("spec", "scenario"),
    [
        (CALC, "tools_and_error"),
        (BOSS, "nested_agents_as_tools"),
        (FRONT, "handoff_chain"),
        (STOPPER, "stop_tool"),
    ],
)
def test_generated_code_lints_and_records_what_the_adapter_records(
    spec: Any, scenario: str, tmp_path: Path
) -> None:
    code = ADAPTER.to_code(spec)
    _, script, turns = SCENARIOS[scenario]
    agent = load(code)["build"](ScriptedModel(script))
    task = TaskInfo(turns=turns)
    program = record(agent, task, max_turns=spec.limits.max_steps)
    direct = ADAPTER.run(spec, task, model=ScriptedModel(script))
    assert normalize(program) == normalize(direct), json.dumps(normalize(program), indent=1)


def test_the_example_program_runs_as_a_process_and_records(tmp_path: Path) -> None:
    program = tmp_path / "calculator_oa.py"
    spec_file = REPO / "examples/calculator/agent.yaml"
    result = CliRunner().invoke(
        cli, ["convert", str(spec_file), "--to", "openai-agents", "-o", str(program)]
    )
    assert result.exit_code == 0, result.output
    script = REPO / "examples/calculator/script.yaml"
    out = tmp_path / "program.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    task = "What is (2+3)*4?"
    done = subprocess.run(
        [
            sys.executable,
            str(program),
            "--task",
            task,
            "--model",
            f"scripted:{script}",
            "--record",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    recorded = next(iter(iter_trajectories(out)))
    assert recorded.outcome is not None and done.stdout.strip() == recorded.outcome.final_output
    expected = ADAPTER.run(load_spec(spec_file), task, model=ScriptedModel.from_file(script))
    assert normalize(recorded) == normalize(expected)


def test_what_the_program_cannot_bind_is_refused_naming_the_tool() -> None:
    def local(a: int) -> int:
        return a

    spec = CALC.model_copy(update={"tools": [ToolSpec(name="local", binding=local)]})
    with pytest.raises(AdapterError, match=r"tool .local. of agent .calc.*in-process callable"):
        ADAPTER.to_code(spec)
