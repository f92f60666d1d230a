"""``to_code`` writes a plain Agent Framework program that runs, is lint-clean, and behaves as
the spec does; what has no plain Agent Framework form is refused with what to do instead."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from af_support import run
from nex_agent_framework import AgentFrameworkAdapter

from nex_core import AdapterError, ScriptedModel, load_spec, normalize, run_native
from nex_core.errors import ToolBindingError
from nex_core.protocol import spec_from_data
from nex_core.trajectory.reader import read_trajectories
from nex_core.trajectory.schema import TaskInfo

REPO = Path(__file__).resolve().parents[3]
RUFF = [sys.executable, "-m", "ruff", "check", "--isolated", "--line-length", "100"]
RUFF += ["--select", "E,F,W,I,B,UP,SIM,RUF"]
EXAMPLES = {
    "calculator": ("calculator/agent.yaml", "What is (2+3)*4?"),
    "mcp_time": ("mcp_time/agent.yaml", "What time is it in Tokyo, and 09:30 UTC there?"),
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def load(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    "example",
    [
        "calculator",
        # Agent Framework's own MCP client starting mcp-server-time: half a minute on a busy box.
        pytest.param("mcp_time", marks=pytest.mark.slow),
    ],
)
def test_the_program_is_lint_clean_and_records_as_the_spec_runs_natively(
    example: str, adapter: AgentFrameworkAdapter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if example == "mcp_time":
        pytest.importorskip("mcp_server_time")
    path, task = EXAMPLES[example]
    monkeypatch.chdir(REPO)  # bindings resolve from the folder `nex run` runs from,
    monkeypatch.syspath_prepend(str(REPO))  # which `nex` puts on sys.path (`pytest` does not)
    spec = load_spec(REPO / "examples" / path)
    code = adapter.to_code(spec)
    source = tmp_path / "program.py"
    source.write_text(code, encoding="utf-8")
    lint = subprocess.run([*RUFF, str(source)], capture_output=True, text=True, cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout + code
    script = str(REPO / "examples" / Path(path).parent / "script.yaml")
    program = load(code)
    agent = program[f"build_{spec.name}"](ScriptedModel.from_file(script))

    async def record() -> Any:
        async with agent:  # as Agent Framework's docs open an agent with MCP tools
            return await adapter.arecord(agent, task)

    recorded = run(record())
    native = asyncio.run(
        run_native(spec, TaskInfo(turns=[task]), model=ScriptedModel.from_file(script))
    )

    def comparable(traj: Any) -> str:
        return TIMESTAMP.sub("<time>", str(normalize(traj)))

    assert comparable(recorded) == comparable(native)

    async def answer() -> Any:
        async with program[f"build_{spec.name}"](ScriptedModel.from_file(script)) as agent:
            return await program["converse"](agent, [task])

    assert native.outcome is not None and run(answer()) == native.outcome.final_output
    # `--record FILE` (the generated program's own run, in process): the same trajectory.
    out = tmp_path / "recorded.jsonl"
    assert run(program["run"]([task], f"scripted:{script}", str(out))) == 0
    written, bad = read_trajectories(out)
    assert not bad and [comparable(t) for t in written] == [comparable(native)]


def test_a_bad_binding_stops_the_program_before_the_first_model_call(
    adapter: AgentFrameworkAdapter,
) -> None:
    spec = spec_from_data(
        {"name": "a", "tools": [{"name": "t", "binding": "no_such_module_here:f"}]}
    )
    with pytest.raises(ToolBindingError, match="cannot import module 'no_such_module_here'"):
        load(adapter.to_code(spec))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            # A handoff inside an agent used as a tool (a root that hands off is a
            # HandoffBuilder program: test_af_handoff_programs).
            {
                "name": "a",
                "sub_agents": [
                    {
                        "agent": {
                            "name": "b",
                            "sub_agents": [{"mode": "handoff", "agent": {"name": "c"}}],
                        }
                    }
                ],
            },
            "the handoff to 'c' has no plain Agent Framework form inside a team turn",
        ),
        (
            {
                "name": "a",
                "stop_tools": ["t"],
                "tools": [{"name": "t", "binding": "nex_conformance.toolkit:add"}],
            },
            "stop_tools have no plain Agent Framework form",
        ),
        (
            {"name": "a", "tools": [{"name": "t", "binding": {"kind": "callable", "ref": "t"}}]},
            "in-process callable 't'",
        ),
        (
            {
                "kind": "team",
                "name": "crew",
                "members": [
                    {"name": "a", "sub_agents": [{"mode": "handoff", "agent": {"name": "b"}}]}
                ],
            },
            "the handoff to 'b' has no plain Agent Framework form",
        ),
    ],
)
def test_what_has_no_plain_form_is_refused_with_what_to_do(
    adapter: AgentFrameworkAdapter, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(AdapterError, match=re.escape(message)):
        adapter.to_code(spec_from_data(spec))
