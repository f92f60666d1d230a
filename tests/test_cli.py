"""The `nex` command: the examples run offline, and every error path exits non-zero with a clear
message rather than a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result

from nex_core.cli.main import cli
from nex_core.models.scripted import Script
from nex_core.protocol import dump_spec, load_spec
from nex_core.trajectory import iter_trajectories

EXAMPLES = [
    ("calculator/agent.yaml", "calculator/script.yaml", "What is (2+3)*4?", "(2+3)*4 = 20"),
    (
        "research/orchestrator.yaml",
        "research/script.yaml",
        "Note on the Eiffel Tower.",
        "330 metres",
    ),
    ("mcp_time/agent.yaml", "mcp_time/script.yaml", "Time in Tokyo?", "18:30 in Tokyo"),
]


def nex(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    "spec, script, task, answer", EXAMPLES, ids=[e[0].split("/")[0] for e in EXAMPLES]
)
def test_examples_run_from_the_repo_root(
    repo: Path, tmp_path: Path, spec: str, script: str, task: str, answer: str
) -> None:
    out = tmp_path / "t.jsonl"
    # As a user runs it: the `nex` script, from the repository root, with PATH as it is.
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "nex"),
            "run",
            f"examples/{spec}",
            "--task",
            task,
            "--model",
            f"scripted:examples/{script}",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    assert answer in proc.stdout
    (traj,) = list(iter_trajectories(out, strict=True))
    assert traj.outcome is not None and traj.outcome.status.value == "completed"


def test_run_shows_a_tree_and_appends(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    out = tmp_path / "runs.jsonl"
    args = [
        "run",
        "examples/calculator/agent.yaml",
        "--task",
        "hi",
        "--task-id",
        "T-7",
        "--model",
        "scripted:examples/calculator/script.yaml",
        "--out",
        str(out),
    ]
    first = nex(*args)
    assert first.exit_code == 0, first.output
    assert "outcome: completed" in first.output and "appended to" in flat(first.output)
    assert nex(*args).exit_code == 0
    trajs = list(iter_trajectories(out, strict=True))
    assert len(trajs) == 2 and trajs[0].task.id == "T-7"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "nonsense"], "must look like PROVIDER:ARG"),
        (["--model", "warp:x"], "must look like PROVIDER:ARG"),
        (["--model", "scripted:missing.yaml"], "cannot read missing.yaml"),
        (
            ["--model", "scripted:examples/calculator/script.yaml", "--backend", "nope"],
            "no adapter named 'nope'",
        ),
    ],
)
def test_run_error_paths(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str
) -> None:
    monkeypatch.chdir(repo)
    res = nex(
        "run",
        "examples/calculator/agent.yaml",
        "--task",
        "x",
        "--out",
        str(tmp_path / "o.jsonl"),
        *extra,
    )
    assert res.exit_code == 1
    assert "error:" in res.output and message in flat(res.output)
    assert "Traceback" not in res.output


def test_run_usage_errors(tmp_path: Path) -> None:
    missing = nex("run", str(tmp_path / "nope.yaml"), "--task", "x", "--model", "scripted:s.yaml")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    no_task = nex("run", __file__, "--model", "scripted:s.yaml")
    assert no_task.exit_code == 2 and "--task" in no_task.output


def test_a_run_that_does_not_complete_exits_1(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    script = tmp_path / "s.yaml"
    script.write_text("replies:\n  - error: {message: 'server on fire'}\n")
    out = tmp_path / "o.jsonl"
    res = nex(
        "run",
        "examples/calculator/agent.yaml",
        "--task",
        "x",
        "--model",
        f"scripted:{script}",
        "--out",
        str(out),
    )
    assert res.exit_code == 1
    assert "server on fire" in res.output
    (traj,) = list(iter_trajectories(out))
    assert traj.outcome is not None and traj.outcome.status.value == "error"


def test_inspect(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    out = tmp_path / "runs.jsonl"
    nex(
        "run",
        "examples/calculator/agent.yaml",
        "--task",
        "hi",
        "--model",
        "scripted:examples/calculator/script.yaml",
        "--out",
        str(out),
    )
    with out.open("a") as f:
        f.write('{"truncated": \n')
    res = nex("inspect", str(out), "--messages")
    assert res.exit_code == 0
    assert "multiply" in res.output and "skipped" in res.output and f"{out}:2" in flat(res.output)
    assert nex("inspect", str(out), "--index", "5").exit_code == 1
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    res = nex("inspect", str(empty))
    assert res.exit_code == 1 and "no trajectory to show" in res.output
    bad = nex("validate", str(out))
    assert bad.exit_code == 1 and "1 invalid line(s), 1 valid" in flat(bad.output)


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("what", ["agent", "trajectory", "script"])
def test_schema_is_valid_json_schema(what: str) -> None:
    res = nex("schema", what)
    assert res.exit_code == 0
    schema = json.loads(res.output)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schemas_accept_real_documents(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_schema = json.loads(nex("schema", "agent").output)
    for spec in ("calculator/agent.yaml", "mcp_time/agent.yaml"):
        data = yaml.safe_load(dump_spec(load_spec(repo / "examples" / spec)))
        jsonschema.validate(data, agent_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "a", "bogus": 1}, agent_schema)
    script_schema = json.loads(nex("schema", "script").output)
    raw = yaml.safe_load((repo / "examples/research/script.yaml").read_text())
    jsonschema.validate(raw, script_schema)
    Script.model_validate(raw)
    monkeypatch.chdir(repo)
    out = tmp_path / "t.jsonl"
    nex(
        "run",
        "examples/research/orchestrator.yaml",
        "--task",
        "x",
        "--model",
        "scripted:examples/research/script.yaml",
        "--out",
        str(out),
    )
    traj_schema = json.loads(nex("schema", "trajectory").output)
    jsonschema.validate(json.loads(out.read_text().splitlines()[0]), traj_schema)


def test_schema_rejects_unknown_kinds() -> None:
    res = nex("schema", "banana")
    assert res.exit_code == 2 and "banana" in res.output


# --------------------------------------------------------------------------- plugins and convert


def test_plugins_lists_the_builtins() -> None:
    res = nex("plugins", "--json")
    assert res.exit_code == 0
    data = json.loads(res.output)
    names = {p["name"] for p in data["plugins"]}
    assert {"native", "jsonl", "models"} <= names
    native = data["adapters"]["native"]
    assert "tool_calls" in native["capabilities"] and native["version"]


def test_convert_error_paths(tmp_path: Path, repo: Path) -> None:
    module = tmp_path / "objs.py"
    module.write_text("THING = object()\n")
    res = nex("convert", f"{module}:THING")
    assert res.exit_code == 1 and "no installed adapter recognises builtins.object" in flat(
        res.output
    )
    res = nex("convert", "no-colon-here")
    assert res.exit_code == 2 and "FILE.py:NAME" in res.output
    res = nex("convert", str(repo / "examples/calculator/agent.yaml"), "--to", "nope")
    assert res.exit_code == 1 and "no adapter named 'nope'" in flat(res.output)
    res = nex("convert", f"{module}:THING", "--from", "nope")
    assert res.exit_code == 1 and "no adapter named 'nope'" in flat(res.output)


def test_version_and_help() -> None:
    assert nex("--version").exit_code == 0
    res = nex("--help")
    for command in ("run", "inspect", "validate", "schema", "plugins", "convert"):
        assert command in res.output
