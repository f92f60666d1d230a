"""`nex inspect` shows what happened in full: whole texts unless `--width` cuts them, the tool
calls of assistant messages, user turns where they entered the conversation, a GAP run's
verdicts; `--json` and filters. `nex validate` checks tool bindings (and MCP servers with
`--check-servers`) and tells model scripts and GAP configs by their content; `nex schema gap`."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result

from nex_core.cli.main import cli
from nex_core.trajectory import iter_trajectories

REPO = Path(__file__).resolve().parents[1]
CALC = REPO / "examples/calculator"
LONG = "The sum is " + "really " * 40 + "five."


def nex(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def flat(text: str) -> str:
    """The output on one line, without the tree's guides (long texts wrap inside the tree)."""
    return " ".join(text.replace("│", " ").split())


@pytest.fixture
def multi_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A two-turn native run of the calculator: a tool call in each turn, a long answer."""
    monkeypatch.chdir(REPO)
    script = tmp_path / "script.yaml"
    script.write_text(
        yaml.safe_dump(
            {
                "replies": [
                    {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]},
                    {"text": LONG},
                    {"text": "Now multiply.", "tool_calls": [
                        {"name": "multiply", "arguments": {"a": 5, "b": 4}}]},
                    {"text": "It is 20."},
                ]
            }
        )
    )  # fmt: skip
    out = tmp_path / "runs.jsonl"
    res = nex(
        "run", str(CALC / "agent.yaml"), "--task", "first: add 2 and 3", "--task",
        "second: times 4", "--task-id", "calc-1", "--model", f"scripted:{script}",
        "--out", str(out),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return out


def test_full_text_by_default_and_width_cuts(multi_turn: Path) -> None:
    full = flat(nex("inspect", str(multi_turn)).output)
    assert LONG in full
    cut = flat(nex("inspect", str(multi_turn), "--width", "30").output)
    assert LONG not in cut and "The sum is really really" in cut and "…" in cut


def test_tool_calls_of_assistant_messages_are_shown(multi_turn: Path) -> None:
    shown = flat(nex("inspect", str(multi_turn), "--messages").output)
    # The request of the second model call holds the first reply: a message with only a call.
    assert 'assistant: → add({"a": 2, "b": 3}) [' in shown
    assert 'assistant: Now multiply. → multiply({"a": 5, "b": 4}) [' in shown
    assert "tool [" in shown  # the tool result answers its call id


def test_turns_are_interleaved_in_order(multi_turn: Path) -> None:
    lines = [line for line in nex("inspect", str(multi_turn)).output.splitlines() if line.strip()]
    first = next(i for i, line in enumerate(lines) if "user: first: add 2 and 3" in line)
    second = next(i for i, line in enumerate(lines) if "user: second: times 4" in line)
    add = next(i for i, line in enumerate(lines) if "tool add(" in line)
    multiply = next(i for i, line in enumerate(lines) if "tool multiply(" in line)
    assert first < add < second < multiply


def test_json_and_filters(multi_turn: Path, tmp_path: Path) -> None:
    res = nex("inspect", str(multi_turn), "--json")
    assert res.exit_code == 0
    (data,) = [json.loads(line) for line in res.output.splitlines()]
    (traj,) = list(iter_trajectories(multi_turn, strict=True))
    assert data["id"] == traj.id and len(data["steps"]) == len(traj.steps)
    assert all("messages_from" not in (s.get("request") or {}) or s["request"]["messages_from"]
               is None for s in data["steps"])  # fmt: skip  # every request in full
    tools = json.loads(nex("inspect", str(multi_turn), "--json", "--kind", "tool").output)
    assert [s["name"] for s in tools["steps"]] == ["add", "multiply"]
    tree = flat(nex("inspect", str(multi_turn), "--kind", "tool").output)
    assert "tool add(" in tree and "llm calculator" not in tree
    assert nex("inspect", str(multi_turn), "--agent", "calculator").exit_code == 0
    nobody = nex("inspect", str(multi_turn), "--agent", "nobody")
    assert nobody.exit_code == 1 and "none matches the filters" in flat(nobody.output)
    assert nex("inspect", str(multi_turn), "--task", "calc-*").exit_code == 0
    assert nex("inspect", str(multi_turn), "--task", "other-*").exit_code == 1
    assert nex("inspect", str(multi_turn), "--status", "completed").exit_code == 0
    assert nex("inspect", str(multi_turn), "--status", "error").exit_code == 1


def test_gap_verdicts_and_rejection_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nex_core.gap import load_config, run_gap

    monkeypatch.chdir(tmp_path)
    shutil.copy(CALC / "agent.yaml", tmp_path / "agent.yaml")
    (tmp_path / "scripts").mkdir()
    for task, answer in (("right", "20"), ("wrong", "21")):
        (tmp_path / "scripts" / f"{task}.yaml").write_text(
            yaml.safe_dump({"replies": [{"text": f"It is {answer}."}]})
        )
    (tmp_path / "tasks.jsonl").write_text(
        '{"id": "right", "prompt": "(2+3)*4?", "expected": "20"}\n'
        '{"id": "wrong", "prompt": "(2+3)*4?", "expected": "20"}\n'
    )
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "verdicts",
                "tasks": ["tasks.jsonl"],
                "agents": [{"spec": "agent.yaml"}],
                "models": [{"name": "scripted", "ref": "scripted:scripts/{task}.yaml"}],
                "output": "out",
                "checks": [{"name": "status"}, {"name": "task"}],
            }
        )
    )
    monkeypatch.syspath_prepend(str(REPO))  # the calculator's tools import from examples.*
    asyncio.run(run_gap(load_config(tmp_path / "config.yaml")))
    runs = tmp_path / "out" / "trajectories.jsonl"
    shown = flat(nex("inspect", str(runs)).output)
    assert "gap: accepted" in shown
    assert "gap: rejected by task:wrong_answer" in shown
    assert "check task: rejected (wrong_answer) expected" in shown
    rejected = flat(nex("inspect", str(runs), "--status", "rejected").output)
    assert "task=wrong" in rejected and "task=right" not in rejected


# --------------------------------------------------------------------------- validate, schema


def test_validate_checks_bindings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    good = nex("validate", str(CALC / "agent.yaml"))
    assert good.exit_code == 0 and "bindings checked" in flat(good.output)
    spec = yaml.safe_load((CALC / "agent.yaml").read_text())
    spec["tools"][0]["binding"] = "examples.calculator.tools:subtract"
    spec["tools"][1]["binding"] = "examples.calculator.nowhere:multiply"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))
    res = nex("validate", str(bad))
    text = flat(res.output)
    assert res.exit_code == 1 and "2 tool binding(s) cannot be resolved" in text
    assert "tool 'add'" in text and "has no attribute 'subtract'" in text
    assert (
        "tool 'multiply'" in text and "cannot import module 'examples.calculator.nowhere'" in text
    )


def test_validate_starts_mcp_servers_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mcp_server_time")
    monkeypatch.chdir(REPO)
    spec_path = REPO / "examples/mcp_time/agent.yaml"
    assert nex("validate", str(spec_path), "--check-servers").exit_code == 0
    spec = yaml.safe_load(spec_path.read_text())
    tool = spec["tools"][0]
    tool["binding"] = {"server": next(iter(spec["mcp_servers"])), "tool": "no_such_tool"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))
    assert nex("validate", str(bad)).exit_code == 0  # the server is declared: enough offline
    res = nex("validate", str(bad), "--check-servers")
    assert res.exit_code == 1 and "does not serve no_such_tool" in flat(res.output)


def test_validate_recognises_scripts_and_gap_configs(tmp_path: Path) -> None:
    res = nex("validate", str(CALC / "script.yaml"))
    assert res.exit_code == 0 and "model script with 3 replies" in flat(res.output)
    as_json = tmp_path / "script.json"
    as_json.write_text(json.dumps(yaml.safe_load((CALC / "script.yaml").read_text())))
    assert "model script" in nex("validate", str(as_json)).output
    broken = tmp_path / "broken.yaml"
    broken.write_text("replies:\n  - {text: hi, bogus: 1}\n")
    res = nex("validate", str(broken))
    assert res.exit_code == 1 and "broken.yaml:2" in flat(res.output)
    gap = nex("validate", str(REPO / "examples/gap/config.yaml"))
    assert gap.exit_code == 0 and "GAP config 'clock-example'" in flat(gap.output)


def test_schema_gap_describes_real_configs() -> None:
    res = nex("schema", "gap")
    assert res.exit_code == 0
    schema = json.loads(res.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load((REPO / "examples/gap/config.yaml").read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tasks": []}, schema)
