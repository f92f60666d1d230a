"""``nex convert SPEC --to langgraph``: plain LangGraph programs that run, record and fail loudly.

Every example in ``examples/`` is converted, run as a program of its own (a subprocess, offline on
the example's scripted model) with ``--record``, and its trajectory compared under ``normalize()``
with ``nex run --backend langgraph`` on the same script.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import lg_docs_graphs as docs
import lg_specs
import pytest
from click.testing import CliRunner
from nex_langgraph import from_spec, to_code, to_spec
from nex_langgraph.codegen_runtime import ToolBindingError

from nex_core import AdapterError, AgentSpec, ScriptedModel, TeamSpec, dump_spec, load_spec
from nex_core.cli.main import cli
from nex_core.protocol.spec import CallableBinding, ToolSpec
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
OPENAI_CLIENT = "langchain_openai"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
"""mcp-server-time answers with the current time: the one part of a run that differs run to run."""


def load(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    return namespace


def canonical(spec: AgentSpec | TeamSpec) -> dict[str, Any]:
    data = json.loads(dump_spec(spec, fmt="json"))
    data.pop("description", None)
    return data


def comparable(traj: Any) -> str:
    return TIMESTAMP.sub("<time>", json.dumps(normalize(traj), sort_keys=True))


def convert(spec_file: Path, out: Path) -> None:
    result = CliRunner().invoke(
        cli, ["convert", str(spec_file), "--to", "langgraph", "-o", str(out)]
    )
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
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(spec_file),
            "--task",
            task,
            "--model",
            f"scripted:{script}",
            "--backend",
            "langgraph",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    return next(iter(iter_trajectories(out)))


# --------------------------------------------------------------------------- every example


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example_program_records_what_nex_run_records(example: str, tmp_path: Path) -> None:
    spec_path, task = EXAMPLES[example]
    spec_file = REPO / "examples" / spec_path
    script = REPO / "examples" / example / "script.yaml"
    program = tmp_path / f"{example}_langgraph.py"
    convert(spec_file, program)
    lint = subprocess.run([*RUFF, program.name], cwd=tmp_path, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr

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
    assert recorded.provenance.framework == "langgraph"


def test_program_runs_without_recording(tmp_path: Path) -> None:
    program = tmp_path / "calc.py"
    convert(REPO / "examples/calculator/agent.yaml", program)
    script = REPO / "examples/calculator/script.yaml"
    done = run_program(program, "--task", "What is (2+3)*4?", "--model", f"scripted:{script}")
    assert (done.returncode, done.stdout.strip()) == (0, "(2+3)*4 = 20"), done.stderr


# --------------------------------------------------------------------------- failing loudly


def _with_binding(spec_file: Path, old: str, new: str, tmp_path: Path) -> Path:
    text = spec_file.read_text().replace(old, new)
    out = tmp_path / spec_file.name
    out.write_text(text)
    return out


def test_a_tool_whose_module_is_missing_stops_the_program(tmp_path: Path) -> None:
    spec_file = _with_binding(
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
    assert "Traceback" not in done.stderr
    assert not record.exists()  # nothing ran, so nothing was recorded as if it had


def test_an_mcp_server_that_does_not_start_stops_the_program(tmp_path: Path) -> None:
    spec_file = _with_binding(
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


def test_a_missing_function_is_named_when_the_graph_is_built() -> None:
    spec = lg_specs.calculator()
    spec.tools[0].binding.path = "lg_tools:no_such_function"  # type: ignore[union-attr]
    module = load(to_code(spec))
    with pytest.raises(ToolBindingError, match=r"tool 'add' cannot be bound.*no_such_function"):
        module["build"](ScriptedModel([]))


# --------------------------------------------------------------------------- every shape


def _nested_approval() -> Any:
    """An approval tool two agents-as-tools deep (the child graphs pause in the root's saver)."""
    spec = lg_specs.nested()
    checker = spec.sub_agents[0].child.sub_agents[0].child
    checker.tools[0].approval = "required"
    return spec


@pytest.mark.parametrize(
    "make",
    [
        lambda: lg_specs.calculator(stop_tools=["add"], limits={"max_steps": 4}),
        lambda: lg_specs.calculator(parallel_tool_calls=False),
        lambda: lg_specs.calculator(
            output_schema={"type": "object", "properties": {"total": {"type": "number"}}}
        ),
        lg_specs.nested,
        lg_specs.handoffs,
        lambda: to_spec(docs.supervisor(ScriptedModel([]))).spec,
        lambda: lg_specs.calculator(
            tools=[{**lg_specs.tool("add", "add"), "approval": "required"}]
        ),
        _nested_approval,
    ],
    ids=[
        "calculator",
        "sequential",
        "structured",
        "nested",
        "swarm",
        "supervisor",
        "approval",
        "nested_approval",
    ],
)
def test_generated_graph_is_the_graph_the_adapter_builds(make: Any, tmp_path: Path) -> None:
    spec = make()
    code = to_code(spec)
    (tmp_path / "generated.py").write_text(code)
    lint = subprocess.run([*RUFF, "generated.py"], cwd=tmp_path, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    model = ScriptedModel([])
    built = load(code)["build"](model)
    assert canonical(to_spec(built).spec) == canonical(to_spec(from_spec(spec, model=model)).spec)
    assert "create_agent(" in code and "json.loads" not in code


def test_ref_sub_agents_become_functions_not_an_embedded_spec() -> None:
    code = to_code(load_spec(REPO / "examples/research/orchestrator.yaml"))
    for agent in ("orchestrator", "researcher", "writer", "fact_checker"):
        assert f"def build_{agent}(model: ChatModel | None) -> Any:" in code
    assert (
        'agent_tool(\n            build_researcher(model),\n            agent="researcher",' in code
    )
    assert '"ref"' not in code and "json.loads" not in code


def test_what_cannot_be_written_is_refused() -> None:
    tool = ToolSpec(name="f", binding=CallableBinding(ref="f", func=print))
    with pytest.raises(AdapterError, match="in-process callable"):
        to_code(AgentSpec(name="a", tools=[tool]))
    team = TeamSpec(name="t", members=[AgentSpec(name="a"), AgentSpec(name="b")])
    with pytest.raises(AdapterError, match="is a team"):
        to_code(team)


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
