"""`nex run --resume`: a run paused for approval in one `nex` process, resumed in another from
the file alone; every bad input is one `error:` line; `nex inspect` shows what a run waits for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nex_core.cli.main import cli
from nex_core.trajectory import iter_trajectories

TOOLS = textwrap.dedent(
    """
    def send(to: str) -> str:
        return f"sent to {to}"
    """
)
SPEC = textwrap.dedent(
    """
    name: mailer
    system_prompt: Send mail when asked.
    model: {id: scripted}
    tools:
      - name: send
        description: Send mail.
        parameters: {type: object, properties: {to: {type: string}}, required: [to]}
        binding: mail_tools:send
        approval: required
    """
)
PAUSE = textwrap.dedent(
    """
    replies:
      - tool_calls:
          - {id: c1, name: send, arguments: {to: bob}}
          - {id: c2, name: send, arguments: {to: eve}}
    """
)
REST = "replies:\n  - text: Done.\n"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "mail_tools.py").write_text(TOOLS)
    (tmp_path / "agent.yaml").write_text(SPEC)
    (tmp_path / "pause.yaml").write_text(PAUSE)
    (tmp_path / "rest.yaml").write_text(REST)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def nex(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "nex"), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_pause_in_one_process_resume_in_another(folder: Path) -> None:
    first = nex(
        folder,
        "run",
        "agent.yaml",
        "--task",
        "mail bob and eve",
        "--model",
        "scripted:pause.yaml",
        "--out",
        "paused.jsonl",
    )
    assert first.returncode == 1, first.stderr
    assert "paused for approval" in first.stderr
    (paused,) = iter_trajectories(folder / "paused.jsonl")
    assert paused.outcome is not None and paused.outcome.status.value == "interrupted"

    second = nex(
        folder,
        "run",
        "agent.yaml",
        "--resume",
        f"paused.jsonl#{paused.id}",
        "--decision",
        "c1=approve",
        "--decision",
        "c2=reject:not eve",
        "--model",
        "scripted:rest.yaml",
        "--out",
        "resumed.jsonl",
    )
    assert second.returncode == 0, second.stderr
    (resumed,) = iter_trajectories(folder / "resumed.jsonl")
    assert resumed.session_id == paused.session_id
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."
    first_step = resumed.steps[0]
    assert first_step.kind == "input"
    assert first_step.value == {  # type: ignore[union-attr]
        "c1": {"action": "approve"},
        "c2": {"action": "reject", "message": "not eve"},
    }
    tools = [
        (s.name, s.result, s.error and s.error.type) for s in resumed.steps if s.kind == "tool"
    ]
    assert tools == [("send", "sent to bob", None), ("send", None, "ToolCallRejected")]

    shown = invoke("inspect", "paused.jsonl")
    assert shown.exit_code == 0
    assert "waiting for" in shown.output and '"tool_call_id": "c2"' in shown.output


BOSS = textwrap.dedent(
    """
    name: boss
    system_prompt: Delegate mail to the mailer.
    model: {id: scripted}
    sub_agents:
      - mode: tool
        agent:
          name: mailer
          system_prompt: Send mail when asked.
          tools:
            - name: send
              description: Send mail.
              parameters: {type: object, properties: {to: {type: string}}, required: [to]}
              binding: mail_tools:send
              approval: required
    """
)
BOSS_PAUSE = textwrap.dedent(
    """
    agents:
      boss: [{tool_calls: [{id: b1, name: mailer, arguments: {task: mail bob}}]}]
      mailer: [{tool_calls: [{id: m1, name: send, arguments: {to: bob}}]}]
    """
)
BOSS_REST = "agents:\n  mailer: [{text: mailed bob}]\n  boss: [{text: Bob has mail.}]\n"


def test_a_sub_agents_pause_resumes_in_another_process(folder: Path) -> None:
    (folder / "boss.yaml").write_text(BOSS)
    (folder / "boss_pause.yaml").write_text(BOSS_PAUSE)
    (folder / "boss_rest.yaml").write_text(BOSS_REST)
    first = nex(
        folder, "run", "boss.yaml", "--task", "mail bob", "--model", "scripted:boss_pause.yaml",
        "--out", "paused.jsonl",
    )  # fmt: skip
    assert first.returncode == 1, first.stderr
    (paused,) = iter_trajectories(folder / "paused.jsonl")
    assert paused.outcome is not None and paused.outcome.pending is not None
    assert paused.outcome.pending[0]["path"] == ["boss", "mailer"]
    second = nex(
        folder, "run", "boss.yaml", "--resume", "paused.jsonl", "--decision", "approve",
        "--model", "scripted:boss_rest.yaml", "--out", "resumed.jsonl",
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    (resumed,) = iter_trajectories(folder / "resumed.jsonl")
    assert resumed.outcome is not None and resumed.outcome.final_output == "Bob has mail."
    tools = {s.call_id: s.result for s in resumed.steps if s.kind == "tool"}
    assert tools == {"b1": "mailed bob", "m1": "sent to bob"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def paused_file(folder: Path) -> str:
    result = invoke(
        "run", "agent.yaml", "--task", "go", "--model", "scripted:pause.yaml", "--out", "p.jsonl"
    )
    assert result.exit_code == 1, result.output
    return "p.jsonl"


def error_line(result: Result) -> str:
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_bad_resume_inputs_are_one_clear_line(folder: Path) -> None:
    paused = paused_file(folder)
    (traj,) = iter_trajectories(paused)
    run = ("run", "agent.yaml", "--model", "scripted:rest.yaml", "--out", "r.jsonl")
    assert "no such file: nope.jsonl" in error_line(
        invoke(*run, "--resume", "nope.jsonl", "--decision", "approve")
    )
    assert "no trajectory with id zz" in error_line(
        invoke(*run, "--resume", f"{paused}#zz", "--decision", "approve")
    )
    assert "no pending call with id c9 (pending: c1, c2)" in error_line(
        invoke(*run, "--resume", paused, "--decision", "c9=approve")
    )
    assert "no decision for pending call c2" in error_line(
        invoke(*run, "--resume", paused, "--decision", "c1=approve")
    )
    assert "edit: the arguments are not JSON" in error_line(
        invoke(*run, "--resume", paused, "--decision", "edit:{to")
    )
    assert "needs --decision" in error_line(invoke(*run, "--resume", paused))
    assert "--decision needs --resume" in error_line(invoke(*run, "--decision", "approve"))
    assert "cannot be given with --resume" in error_line(
        invoke(*run, "--resume", paused, "--decision", "approve", "--task", "x")
    )

    # a file whose runs all completed
    done = folder / "done.jsonl"
    done.write_text(traj.model_copy(update={"outcome": None}).to_json() + "\n")
    assert "no trajectory in done.jsonl is paused for approval" in error_line(
        invoke(*run, "--resume", "done.jsonl", "--decision", "approve")
    )

    # the spec changed since the run paused
    (folder / "agent.yaml").write_text(SPEC.replace("Send mail when", "Mail when"))
    line = error_line(invoke(*run, "--resume", paused, "--decision", "approve"))
    assert "differs from the spec trajectory" in line and traj.id in line


def test_one_decision_for_all_and_edit(folder: Path) -> None:
    paused = paused_file(folder)
    result = invoke(
        "run",
        "agent.yaml",
        "--resume",
        paused,
        "--decision",
        'edit:{"to": "al"}',
        "--model",
        "scripted:rest.yaml",
        "--out",
        "r.jsonl",
    )
    assert result.exit_code == 0, result.output
    (resumed,) = iter_trajectories("r.jsonl")
    results = [s.result for s in resumed.steps if s.kind == "tool"]  # type: ignore[union-attr]
    assert results == ["sent to al", "sent to al"]
    assert json.loads(resumed.to_json())["session_id"]
