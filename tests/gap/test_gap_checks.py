"""Checks (verify and filter), config validation, and samples per agent invocation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from gap_helpers import REPO, write_config

from nex_core.errors import SpecError
from nex_core.gap import load_config, run_gap
from nex_core.gap.checks import DedupCheck, LengthCheck, LoopCheck, StatusCheck, TaskCheck
from nex_core.gap.export import ExportOptions, export, render, samples_of
from nex_core.gap.export.formats import HermesToolFormat
from nex_core.gap.export.split import split_of
from nex_core.gap.tasks import Task
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.loader import load_spec
from nex_core.runtime.loop import run_native
from nex_core.trajectory.schema import TaskInfo, Trajectory


def _run(
    spec_yaml: str, replies: list[dict], tmp_path: Path, turns: tuple[str, ...] = ("go",)
) -> Trajectory:
    path = tmp_path / "spec.yaml"
    path.write_text(spec_yaml)
    return asyncio.run(
        run_native(
            load_spec(path), TaskInfo(id="t", turns=list(turns)), model=ScriptedModel(replies)
        )
    )


WAITER = (
    "name: waiter\ntools:\n  - name: wait\n"
    "    parameters: {type: object, properties: {ms: {type: integer}}}\n"
    "    binding: gap_tools:wait\nlimits: {max_steps: 8}\n"
)


def check(c: object, traj: Trajectory, task: Task | None = None) -> object:
    return asyncio.run(c.check(traj, task or Task(id="t", turns=["go"])))  # type: ignore[attr-defined]


def test_loops_repeated_calls_and_errors(tmp_path: Path) -> None:
    same = {"tool_calls": [{"name": "wait", "arguments": {"ms": 1}}]}
    loop = _run(WAITER, [same, same, same, same, {"text": "done"}], tmp_path)
    verdict = check(LoopCheck(max_repeated_calls=3), loop)
    assert not verdict.ok and verdict.reason == "tool_call_loop"  # type: ignore[attr-defined]
    bad = {"tool_calls": [{"name": "nope", "arguments": {}}]}
    errors = _run(WAITER, [bad, bad, bad, {"text": "done"}], tmp_path)
    verdict = check(LoopCheck(max_repeated_calls=9, max_repeated_errors=2), errors)
    assert not verdict.ok and verdict.reason == "repeated_tool_error"  # type: ignore[attr-defined]
    assert check(LoopCheck(), _run(WAITER, [{"text": "done"}], tmp_path)).ok  # type: ignore[attr-defined]


def test_length_status_task_and_dedup(tmp_path: Path) -> None:
    traj = _run(
        WAITER,
        [{"tool_calls": [{"name": "wait", "arguments": {"ms": 1}}]}, {"text": "done"}],
        tmp_path,
    )
    assert not check(LengthCheck(max_llm_calls=1), traj).ok  # type: ignore[attr-defined]
    assert check(LengthCheck(max_llm_calls=2, max_tool_calls=1), traj).ok  # type: ignore[attr-defined]
    assert check(StatusCheck(), traj).ok  # type: ignore[attr-defined]
    assert not check(TaskCheck(), traj, Task(id="t", turns=["go"], expected="DONE!")).ok  # type: ignore[attr-defined]
    assert check(TaskCheck(), traj, Task(id="t", turns=["go"], expected="Done")).ok  # type: ignore[attr-defined]
    assert check(TaskCheck(), traj, Task(id="t", turns=["go"], expected=r"^d.n", match="regex")).ok  # type: ignore[attr-defined]
    verdict = check(
        TaskCheck(), traj, Task(id="t", turns=["go"], verifier="gap_tools:answer_is_upper")
    )
    assert not verdict.ok and "'done'" in (verdict.detail or "")  # type: ignore[attr-defined]
    dedup = DedupCheck()
    assert check(dedup, traj).ok  # type: ignore[attr-defined]
    dedup.observe(traj, {})
    again = _run(
        WAITER,
        [{"tool_calls": [{"name": "wait", "arguments": {"ms": 1}}]}, {"text": "done"}],
        tmp_path,
    )
    assert check(dedup, again).reason == "duplicate"  # type: ignore[attr-defined]


def test_a_native_only_config_imports_no_other_adapter(tmp_path: Path) -> None:
    """Checking and planning a run import the configured backends' adapters only: importing
    every installed one (LangGraph, AutoGen, Agent Framework) was about 1.2 s of start-up."""
    import subprocess
    import sys

    (tmp_path / "tasks.jsonl").write_text('{"id": "a", "prompt": "x"}\n')
    (tmp_path / "agent.yaml").write_text("name: a\n")
    path = write_config(
        tmp_path,
        {"tasks": ["tasks.jsonl"], "agents": [{"spec": "agent.yaml"}],
         "models": [{"name": "m", "ref": "scripted:none.yaml"}], "output": "out"},
    )
    code = (
        "import sys\n"
        "from nex_core.gap import load_config\n"
        "from nex_core.gap.plan import applicable_pairs, load_specs\n"
        f"config = load_config({str(path)!r})\n"
        "print(applicable_pairs(config, load_specs(config))[0])\n"
        "print(sorted(m for m in sys.modules if m.startswith('nex_') and m.count('.') == 0))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "[('a', 'native')]"
    adapters = {"nex_langgraph", "nex_autogen", "nex_agent_framework", "nex_openai_agents"}
    assert not adapters & set(eval(out[1])), out[1]  # general plugins (nex-ray) may load


def test_llm_judge_through_a_nex_model(tmp_path: Path) -> None:
    traj = _run(WAITER, [{"text": "Paris"}], tmp_path)
    judge_script = tmp_path / "judge.yaml"
    judge_script.write_text(
        "replies:\n  - text: 'PASS\\nIt names the capital.'\n  - text: 'FAIL: wrong'\n"
    )
    judge = TaskCheck(judge_model=f"scripted:{judge_script}")
    task = Task(id="t", turns=["Capital of France?"], rubric="Must name Paris.")
    assert check(judge, traj, task).ok  # type: ignore[attr-defined]
    # Scripted judges are built per judgment (they hold a reply queue): the second reads reply 1.
    assert check(TaskCheck(), traj, task).reason == "no_judge"  # type: ignore[attr-defined]


def test_config_errors_name_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "tasks.jsonl").write_text('{"id": "a", "prompt": "x"}\n')
    (tmp_path / "agent.yaml").write_text("name: a\n")
    path = write_config(
        tmp_path,
        {
            "tasks": ["tasks.jsonl", "missing.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "backends": ["native", "nosuchframework"],
            "models": [{"name": "m", "ref": "nosuch:thing"}],
            "output": "out",
            "checks": [{"name": "status"}, {"name": "vibes"}],
        },
    )
    with pytest.raises(SpecError) as info:
        load_config(path)
    text = str(info.value)
    for field in ("tasks[1]", "backends[1]", "models[0].ref", "checks[1].name"):
        assert f"field '{field}'" in text, text
    # An unknown backend is never turned into a package name to install (typosquatting).
    assert "nex-nosuchframework" not in text and "config.yaml:" in text
    assert "no adapter named 'nosuchframework'" in text
    path.write_text(
        "tasks: [tasks.jsonl]\nagents: [{spec: agent.yaml}]\n"
        "models:\n  - {name: m, ref: x, concurency: 3}\n"
    )
    with pytest.raises(SpecError) as info:
        load_config(path)
    assert "config.yaml:4, field 'models[0].concurency'" in str(info.value)
    assert "field 'output'" in str(info.value)


def test_bad_task_line_names_its_line(tmp_path: Path) -> None:
    from nex_core.gap.tasks import iter_tasks

    (tmp_path / "t.jsonl").write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "turns": []}\n')
    with pytest.raises(SpecError, match=r"t.jsonl:2, field 'turns'"):
        list(iter_tasks(tmp_path / "t.jsonl"))


def test_one_sample_per_agent_invocation_with_sub_agents() -> None:
    research = REPO / "examples" / "research"
    spec = load_spec(research / "orchestrator.yaml")
    traj = asyncio.run(
        run_native(
            spec,
            TaskInfo(id="eiffel", turns=["Write a note."]),
            model=ScriptedModel.from_file(research / "script.yaml"),
        )
    )
    assert traj.outcome is not None and traj.outcome.status.value == "completed"
    whole = list(samples_of(traj, "trajectory"))
    assert [s.agent for s in whole] == ["orchestrator"]
    each = list(samples_of(traj, "invocation"))
    assert sorted(s.agent or "" for s in each) == [
        "fact_checker",
        "orchestrator",
        "researcher",
        "writer",
    ]
    checker = next(s for s in each if s.agent == "fact_checker")
    # The child's own conversation: its system prompt, only the task it was given, its tools.
    assert [m.role for m in checker.messages][:2] == ["system", "user"]
    assert checker.messages[1].text() == "Is the Eiffel Tower 330 metres tall?"
    assert [t.name for t in checker.tools] == ["lookup_fact"]
    rendered = render(checker, HermesToolFormat())
    assert "<tool_call>" in rendered.turns[2].content and rendered.tools == []
    assert rendered.turns[3].content.startswith("<tool_response>")


def test_export_splits_by_task_and_never_leaks(tmp_path: Path) -> None:
    lines = []
    for i in range(40):
        traj = _run(WAITER, [{"text": f"answer {i}"}], tmp_path, turns=(f"q{i}",))
        traj.task.id = f"task-{i}"
        traj.metadata["gap"] = {"accepted": True, "key": {"backend": "native", "model": "m"}}
        lines.append(traj.to_json())
        lines.append(traj.model_copy(update={"id": f"dup{i}"}).to_json())  # a second sample of it
    source = tmp_path / "trajectories.jsonl"
    source.write_text("\n".join(lines) + "\n")
    summary = export(
        source,
        tmp_path / "data",
        ExportOptions(formats=["native", "react"], validation_fraction=0.25),
    )
    assert summary["samples"] == 80
    assert summary["tasks"]["validation"] + summary["tasks"]["train"] == 40
    assert 0 < summary["tasks"]["validation"] < 40
    seen: dict[str, set[str]] = {}
    for path in (tmp_path / "data" / "hf" / "react").glob("*.jsonl"):
        seen[path.stem] = {
            json.loads(line)["metadata"]["task_id"] for line in path.read_text().splitlines()
        }
    assert not (seen["train"] & seen["validation"])
    assert all(split_of(t, 0.25) == "validation" for t in seen["validation"])
    row = json.loads(
        (tmp_path / "data" / "hf" / "react" / "train.jsonl").read_text().splitlines()[0]
    )
    assert row["messages"][-1]["content"].startswith(
        "Thought: I now know the final answer\nFinal Answer:"
    )


def test_run_gap_accepts_an_executor_instance(tmp_path: Path) -> None:
    from nex_core.gap import LocalExecutor

    (tmp_path / "tasks.jsonl").write_text('{"id": "a", "prompt": "x"}\n')
    (tmp_path / "agent.yaml").write_text("name: a\n")
    (tmp_path / "s.yaml").write_text("replies: [{text: ok}]\n")
    path = write_config(
        tmp_path,
        {
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "m", "ref": "scripted:s.yaml"}],
            "output": "out",
        },
    )
    report = asyncio.run(run_gap(load_config(path), executor=LocalExecutor(max_in_flight=1))).report
    assert report["accepted"] == 1 and report["executor"]["lanes"] == 1
