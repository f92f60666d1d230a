"""Tool bindings are resolved before a GAP run, and a tool failure that is the environment's
(a binding that does not resolve, a timeout) is told apart from one the model is meant to
handle (the tool raised on bad arguments): the former is rejected with a counted reason."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gap_helpers import EXAMPLE, REPO, langgraph_available, write_config

from nex_core.errors import SpecError, ToolBindingError
from nex_core.gap import load_config
from nex_core.gap.checks import StatusCheck
from nex_core.gap.tasks import Task
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.loader import load_spec
from nex_core.runtime.loop import run_native
from nex_core.trajectory.schema import TaskInfo, Trajectory

NEX = str(Path(sys.executable).parent / "nex")


def _config(tmp_path: Path, binding: object, **extra: object) -> Path:
    (tmp_path / "tasks.jsonl").write_text('{"id": "a", "prompt": "x"}\n')
    agent = {
        "name": "binder",
        "tools": [{"name": "lookup", "parameters": {"type": "object"}, "binding": binding}],
    }
    (tmp_path / "agent.yaml").write_text(json.dumps(agent))
    (tmp_path / "script.yaml").write_text('{"replies": [{"text": "done"}]}')
    return write_config(
        tmp_path,
        {
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "m", "ref": "scripted:script.yaml"}],
            "output": "out",
            **extra,
        },
    )


@pytest.mark.parametrize(
    ("binding", "expected"),
    [
        ("nex_no_such_pkg.tools:lookup", "No module named 'nex_no_such_pkg'"),
        ("gap_tools:no_such_function", "no attribute 'no_such_function'"),
        ({"server": "nowhere"}, "MCP server 'nowhere' is not declared"),
    ],
)
def test_a_binding_that_cannot_resolve_fails_the_config(
    tmp_path: Path, binding: object, expected: str
) -> None:
    with pytest.raises(ToolBindingError) as info:
        load_config(_config(tmp_path, binding))
    text = str(info.value)
    assert "tool bindings cannot be resolved" in text
    assert "agent 'binder', tool 'lookup'" in text and expected in text
    assert "config.yaml" in text and "field 'agents[0].spec'" in text


def _example_config(folder: Path) -> Path:
    """The example's config, its paths made absolute, backends limited to those installed."""
    data = yaml.safe_load((EXAMPLE / "config.yaml").read_text())
    data["tasks"] = [str(EXAMPLE / t) for t in data["tasks"]]
    data["agents"] = [{**a, "spec": str(EXAMPLE / a["spec"])} for a in data["agents"]]
    for model in data["models"]:
        provider, _, arg = model["ref"].partition(":")
        model["ref"] = f"{provider}:{EXAMPLE / arg}"
    data["output"] = str(folder / "out")
    if not langgraph_available():
        data["backends"] = [b for b in data["backends"] if b != "langgraph"]
    return write_config(folder, data)


def _gap_check(config: Path, cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEX, "gap", "check", str(config), *flags],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300", "PYTHONPATH": ""},
    )


def test_the_example_checked_from_another_folder_names_the_import_that_fails(
    tmp_path: Path,
) -> None:
    """Run from elsewhere, the example's `examples.gap.tools` does not import: found by
    `nex gap check` before any episode records `No module named 'examples'` as a tool result."""
    proc = _gap_check(_example_config(tmp_path), tmp_path, "--no-servers")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert "agent 'zones', tool 'utc_offset'" in proc.stderr
    assert "No module named 'examples'" in proc.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("mcp_server_time") is None,
    reason="the example's MCP server comes with nex-core[examples]",
)
def test_the_example_checks_from_the_repo_root_with_its_server_started(tmp_path: Path) -> None:
    proc = _gap_check(_example_config(tmp_path), REPO)
    assert proc.returncode == 0, proc.stderr
    assert "MCP server 'time' started: 2 tools" in proc.stdout


def _run(tmp_path: Path, spec: dict, replies: list[dict]) -> Trajectory:
    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps(spec))
    return asyncio.run(
        run_native(load_spec(path), TaskInfo(id="t", turns=["go"]), model=ScriptedModel(replies))
    )


def _verdict(check: StatusCheck, trajectory: Trajectory) -> tuple[bool, str | None]:
    verdict = asyncio.run(check.check(trajectory, Task(id="t", turns=["go"])))
    return verdict.ok, verdict.reason


def _tool(name: str, binding: str, **kw: object) -> dict:
    schema = {"type": "object", "properties": {"ms": {"type": "integer"}}}
    return {"name": name, "parameters": schema, "binding": binding, **kw}


def test_the_status_check_rejects_environmental_tool_failures_only(tmp_path: Path) -> None:
    then_done = {"text": "done"}
    # The tool raised on arguments the model chose (b = 0): the model's to handle.
    raised = _run(
        tmp_path,
        {"name": "w", "tools": [{"name": "ratio", "binding": "gap_tools:ratio"}]},
        [{"tool_calls": [{"name": "ratio", "arguments": {"a": 1, "b": 0}}]}, then_done],
    )
    (step,) = [s for s in raised.steps if s.kind == "tool"]
    assert step.error is not None and step.error.type == "ZeroDivisionError"
    assert _verdict(StatusCheck(), raised) == (True, None)
    # A timeout: the environment's.
    slow = _run(
        tmp_path,
        {"name": "w", "tools": [_tool("wait", "gap_tools:wait", timeout_s=0.05)]},
        [{"tool_calls": [{"name": "wait", "arguments": {"ms": 5000}}]}, then_done],
    )
    assert _verdict(StatusCheck(), slow) == (False, "tool_timeout")
    assert _verdict(StatusCheck(allow_tool_failures=["tool_timeout"]), slow) == (True, None)
    # A binding that does not resolve (recorded in the tool step, or — where the backend checks
    # bindings before the first model call — as the run's error): the environment's.
    unbound = _run(
        tmp_path,
        {"name": "w", "tools": [_tool("wait", "nex_no_such_pkg.tools:wait")]},
        [{"tool_calls": [{"name": "wait", "arguments": {"ms": 1}}]}, then_done],
    )
    assert _verdict(StatusCheck(), unbound) == (False, "tool_unbound")


def test_unknown_allowed_tool_failures_are_a_config_error(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "gap_tools:wait",
        checks=[{"name": "status", "allow_tool_failures": ["tool_sadness"]}],
    )
    with pytest.raises(SpecError) as info:
        load_config(path)
    assert "field 'checks[0]'" in str(info.value) and "tool_sadness" in str(info.value)
