"""``nex convert SPEC --to autogen``: plain AutoGen programs that run, record and fail loudly.

Every example in ``examples/`` is converted, run as a program of its own (a subprocess, offline on
the example's scripted model) with ``--record``, and its trajectory compared under ``normalize()``
with ``nex run --backend autogen`` on the same script.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ag_specs import BOSS, CALC, FRONT, SCENARIOS, SELECTOR_TEAM, TEAM
from click.testing import CliRunner
from nex_autogen import AutogenAdapter
from nex_autogen.codegen_runtime import ToolBindingError

from nex_core import AdapterError, AgentSpec, ScriptedModel, TeamSpec, load_spec
from nex_core.cli.main import cli
from nex_core.protocol.spec import CallableBinding, ImportBinding, ToolSpec
from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.reader import iter_trajectories

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = {
    "calculator": ("calculator/agent.yaml", "What is (2+3)*4?"),
    "research": ("research/orchestrator.yaml", "Write a note on the Eiffel Tower."),
    "mcp_time": ("mcp_time/agent.yaml", "What time is it in Tokyo, and 09:30 UTC there?"),
}
RUFF = [
    sys.executable,
    "-m",
    "ruff",
    "check",
    "--isolated",
    "--line-length",
    "100",
    "--select",
    "E,F,W,I,B,UP,SIM,RUF",
]
OPENAI_CLIENT = "autogen_ext.models.openai"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
"""mcp-server-time answers with the current time: the one part of a run that differs run to run."""


def load(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    return namespace


def comparable(traj: Any) -> str:
    return TIMESTAMP.sub("<time>", json.dumps(normalize(traj), sort_keys=True))


def convert(spec_file: Path, out: Path) -> None:
    result = CliRunner().invoke(cli, ["convert", str(spec_file), "--to", "autogen", "-o", str(out)])
    assert result.exit_code == 0, result.output


def run_program(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, str(program), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def nex_run(spec_file: Path, task: str, script: Path, out: Path) -> Any:
    args = ["run", str(spec_file), "--task", task, "--model", f"scripted:{script}"]
    args += ["--backend", "autogen", "--out", str(out), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return next(iter(iter_trajectories(out)))


def lint(code: str, folder: Path) -> None:
    (folder / "generated.py").write_text(code)
    done = subprocess.run([*RUFF, "generated.py"], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- every example


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example_program_records_what_nex_run_records(example: str, tmp_path: Path) -> None:
    spec_path, task = EXAMPLES[example]
    spec_file = REPO / "examples" / spec_path
    script = REPO / "examples" / example / "script.yaml"
    program = tmp_path / f"{example}_autogen.py"
    convert(spec_file, program)
    lint(program.read_text(), tmp_path)

    record = tmp_path / "program.jsonl"
    done = run_program(
        program, "--task", task, "--model", f"scripted:{script}", "--record", str(record)
    )
    assert done.returncode == 0, done.stderr
    recorded = next(iter(iter_trajectories(record)))
    assert recorded.outcome is not None and recorded.outcome.status.value == "completed"
    assert done.stdout.strip() == recorded.outcome.final_output

    expected = nex_run(spec_file, task, script, tmp_path / "nex.jsonl")
    assert comparable(recorded) == comparable(expected)
    assert recorded.provenance.framework == "autogen-agentchat"


def test_program_runs_without_recording(tmp_path: Path) -> None:
    program = tmp_path / "research.py"
    convert(REPO / "examples/research/orchestrator.yaml", program)
    script = REPO / "examples/research/script.yaml"
    done = run_program(program, "--task", "Eiffel Tower", "--model", f"scripted:{script}")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip() == "The Eiffel Tower, completed in 1889, stands about 330 metres tall."
    )


# --------------------------------------------------------------------------- failing loudly


def _edited(spec_file: Path, old: str, new: str, tmp_path: Path) -> Path:
    out = tmp_path / spec_file.name
    out.write_text(spec_file.read_text().replace(old, new))
    return out


def test_a_tool_whose_module_is_missing_stops_the_program(tmp_path: Path) -> None:
    """Before: every tool call failed inside the run, and the program printed a plausible answer
    with exit status 0."""
    spec_file = _edited(
        REPO / "examples/calculator/agent.yaml",
        "examples.calculator.tools:multiply",
        "examples.calculator.no_such_module:multiply",
        tmp_path,
    )
    program = tmp_path / "calc.py"
    convert(spec_file, program)
    record = tmp_path / "runs.jsonl"
    script = REPO / "examples/calculator/script.yaml"
    done = run_program(
        program, "--task", "2+3", "--model", f"scripted:{script}", "--record", str(record)
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: tool 'multiply' cannot be bound"), done.stderr
    assert "examples.calculator.no_such_module" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not record.exists()


def test_an_mcp_server_that_does_not_start_stops_the_program(tmp_path: Path) -> None:
    spec_file = _edited(
        REPO / "examples/mcp_time/agent.yaml",
        "command: python",
        "command: no-such-server",
        tmp_path,
    )
    program = tmp_path / "clock.py"
    convert(spec_file, program)
    script = REPO / "examples/mcp_time/script.yaml"
    done = run_program(program, "--task", "time?", "--model", f"scripted:{script}")
    assert done.returncode == 2
    assert done.stderr.startswith("error: tool 'get_current_time' cannot be bound"), done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_function_is_named_when_the_agent_is_built(adapter: AutogenAdapter) -> None:
    tool = CALC.tools[0].model_copy(update={"binding": ImportBinding(path="ag_toolbox:nothing")})
    spec = CALC.model_copy(update={"tools": [tool]})
    with pytest.raises(ToolBindingError, match=r"tool 'add' cannot be bound.*nothing"):
        load(adapter.to_code(spec))["build"](ScriptedModel([]))


# --------------------------------------------------------------------------- every shape


SEQUENTIAL = CALC.model_copy(update={"name": "sequential", "parallel_tool_calls": False})
STRUCTURED = CALC.model_copy(
    update={
        "name": "structured",
        "output_schema": {"type": "object", "properties": {"total": {"type": "number"}}},
        "limits": CALC.limits.model_copy(update={"max_output_retries": 1}),
    }
)


@pytest.mark.parametrize(
    "spec", [CALC, SEQUENTIAL, STRUCTURED, BOSS, FRONT, TEAM, SELECTOR_TEAM], ids=lambda s: s.name
)
def test_generated_module_builds_the_spec(
    adapter: AutogenAdapter, spec: AgentSpec | TeamSpec, tmp_path: Path
) -> None:
    code = adapter.to_code(spec)
    lint(code, tmp_path)
    built = load(code)["build"](ScriptedModel([]))
    assert adapter.to_spec(built).spec.model_dump(mode="json") == spec.model_dump(mode="json")
    assert "json.loads" not in code and "ToolSpec.model_validate" not in code


def test_generated_module_runs(adapter: AutogenAdapter) -> None:
    spec, script, turns = SCENARIOS["handoff"]
    built = load(adapter.to_code(spec))["build"](ScriptedModel(script))
    result = asyncio.run(built.run(task=turns[0]))
    assert result.messages[-1].to_text() == "helped"


def test_ref_sub_agents_are_agent_tools(adapter: AutogenAdapter) -> None:
    code = adapter.to_code(load_spec(REPO / "examples/research/orchestrator.yaml"))
    for agent in ("orchestrator", "researcher", "writer", "fact_checker"):
        assert f"def build_{agent}(model: ChatModel | None) -> ProtocolAssistantAgent:" in code
    assert "agent_tool(\n                lambda: build_researcher(model)," in code


def test_in_process_callables_cannot_be_written(adapter: AutogenAdapter) -> None:
    tool = ToolSpec(name="f", binding=CallableBinding(ref="f", func=print))
    with pytest.raises(AdapterError, match="in-process callable"):
        adapter.to_code(AgentSpec(name="a", tools=[tool]))


def test_what_autogen_cannot_express_is_refused(adapter: AutogenAdapter) -> None:
    stop = CALC.model_copy(update={"stop_tools": ["add"]})
    with pytest.raises(AdapterError, match="stop tools"):
        adapter.from_spec(stop, model=ScriptedModel([]))
    with pytest.raises(AdapterError, match="stop tools"):
        adapter.to_code(stop)
    traj = adapter.run(stop, "x", model=ScriptedModel([]))
    assert traj.outcome is not None and traj.outcome.status.value == "error"


# --------------------------------------------------------------------------- the default model


def test_without_model_the_program_uses_the_openai_client(tmp_path: Path) -> None:
    """No ``--model``: the framework's own OpenAI client with the spec's settings, here against a
    real chat-completions server on 127.0.0.1 (``OPENAI_BASE_URL``), recorded as usual."""
    pytest.importorskip(OPENAI_CLIENT)
    sys.path.insert(0, str(REPO / "tests"))
    from chat_server import ChatServer, Reply

    program = tmp_path / "calc.py"
    convert(REPO / "examples/calculator/agent.yaml", program)
    record = tmp_path / "runs.jsonl"
    replies = [Reply(tool_calls=[("c1", "add", {"a": 2, "b": 3})]), Reply(text="2+3 = 5")]
    with ChatServer(replies) as server:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="test-key")
        done = subprocess.run(
            [sys.executable, str(program), "--task", "2+3?", "--record", str(record)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert (done.returncode, done.stdout.strip()) == (0, "2+3 = 5"), done.stderr
    first = server.requests[0].body
    assert (first["model"], first["temperature"]) == ("gpt-4o-mini", 0)
    assert first["messages"][0]["content"].startswith("You are a careful calculator.")
    assert sorted(t["function"]["name"] for t in first["tools"]) == ["add", "multiply"]
    assert server.requests[1].body["messages"][-1]["content"] == "5"  # the tool result, as text
    recorded = next(iter(iter_trajectories(record)))
    assert [s.kind for s in recorded.steps] == ["llm", "tool", "llm"]
