"""ATIF out and in (issue 13 item 5): every document nex writes is valid under the ``atif``
package's models (ATIF v1.8, from PyPI), and nex → ATIF → nex gives the same trajectory under
``normalize()``, token ids and rewards included: the frozen corpus, and generated runs with
nesting, parallel calls, errors and several turns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import atif
import pytest
from atif_helpers import build, plans
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from nex_core.atif import ATIF_VERSION, from_atif, read_atif, to_atif
from nex_core.cli.main import cli
from nex_core.errors import SpecError
from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.reader import read_trajectories
from nex_core.trajectory.schema import LLMStep, Trajectory

CORPUS = sorted((Path(__file__).parent / "corpus").glob("v*/*.jsonl"))


def through_atif(traj: Trajectory) -> tuple[dict[str, Any], Trajectory, list[str]]:
    doc = json.loads(json.dumps(to_atif(traj)))  # what a file holds
    atif.Trajectory.model_validate(doc)  # raises if any field is not ATIF v1.8
    back, notes = from_atif(doc)
    return doc, back, notes


def _extras(traj: Trajectory) -> list[str]:
    """Each step's token ids and rewards, whatever the order steps are stored in."""
    out = []
    for s in traj.steps:
        tokens = s.response.tokens if isinstance(s, LLMStep) and s.response else None
        out.append(json.dumps([s.kind, s.agent, s.rewards,
                               tokens.model_dump() if tokens else None], sort_keys=True))
    return sorted(out)


def same(a: Trajectory, b: Trajectory) -> None:
    assert normalize(b) == normalize(a)
    assert _extras(b) == _extras(a)
    assert b.outcome == a.outcome and b.provenance == a.provenance and b.task == a.task


@pytest.mark.parametrize("path", CORPUS, ids=[f"{p.parent.name}/{p.name}" for p in CORPUS])
def test_the_frozen_corpus_round_trips(path: Path) -> None:
    trajectories, bad = read_trajectories(path)
    assert trajectories and not bad
    for traj in trajectories:
        doc, back, _ = through_atif(traj)
        assert doc["schema_version"] == ATIF_VERSION
        same(traj, back)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_generated_runs_round_trip(plan: dict[str, Any]) -> None:
    traj = build(plan)
    _, back, _ = through_atif(traj)
    same(traj, back)


def test_the_mapping_uses_atif_s_own_fields() -> None:
    multi, _ = read_trajectories(Path(__file__).parent / "corpus/v1/examples.jsonl")
    orchestrator = next(t for t in multi if t.root_agent == "orchestrator")
    doc = to_atif(orchestrator)
    sources = [s["source"] for s in doc["steps"]]
    assert sources[:2] == ["system", "user"] and sources.count("agent") == 3
    first = doc["steps"][2]
    [call] = first["tool_calls"]
    [result] = first["observation"]["results"]
    # The tool call, its result and the sub-agent it ran are linked by ids.
    assert result["source_call_id"] == call["tool_call_id"]
    [ref] = result["subagent_trajectory_ref"]
    embedded = {s["trajectory_id"]: s for s in doc["subagent_trajectories"]}
    researcher = embedded[ref["trajectory_id"]]
    assert researcher["agent"]["name"] == "researcher"
    assert researcher["subagent_trajectories"][0]["agent"]["name"] == "fact_checker"
    assert "Not in ATIF's own fields" in doc["notes"]


def test_foreign_documents_import_and_name_what_nex_cannot_hold(tmp_path: Path) -> None:
    doc = {
        "schema_version": "ATIF-v1.5",
        "session_id": "run-7",
        "agent": {"name": "terminus", "version": "2.0", "model_name": "qwen",
                  "tool_definitions": [{"type": "function", "function": {"name": "bash"}}]},
        "steps": [
            {"step_id": 1, "source": "user", "message": "List the files."},
            {"step_id": 2, "source": "agent", "message": "Listing.",
             "tool_calls": [{"tool_call_id": "t1", "function_name": "bash",
                             "arguments": {"cmd": "ls"}}],
             "observation": {"results": [{"source_call_id": "t1", "content": "a.txt"}]},
             "metrics": {"prompt_tokens": 3, "completion_tokens": 2, "cost_usd": 0.01,
                         "prompt_token_ids": [1, 2, 3], "completion_token_ids": [4, 5],
                         "logprobs": [-0.1, -0.2]}},
            {"step_id": 3, "source": "agent", "message": "There is a.txt."},
        ],
    }
    path = tmp_path / "trajectory.json"
    path.write_text(json.dumps(doc, indent=2))
    [(traj, notes)] = read_atif(path)
    assert traj.task.turns == ["List the files."] and traj.root_agent == "terminus"
    kinds = [s.kind for s in traj.steps]
    assert kinds == ["llm", "tool", "llm"]
    first, tool, second = traj.steps
    assert isinstance(first, LLMStep) and first.response is not None
    assert first.response.tokens is not None and first.response.tokens.logprobs == [-0.1, -0.2]
    assert first.metadata["atif"] == {"cost_usd": 0.01}
    assert tool.kind == "tool" and tool.call_id == "t1" and tool.result == "a.txt"
    assert isinstance(second, LLMStep)
    assert [m.role for m in second.request.messages] == ["user", "assistant", "tool"]
    assert traj.outcome is not None and traj.outcome.final_output == "There is a.txt."
    assert notes == ["step cost_usd (kept in metadata['atif']): 1"]


def _bad(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        read_atif(path)
    return str(info.value)


def test_bad_documents_name_file_line_and_field(tmp_path: Path) -> None:
    good = json.dumps(to_atif(read_trajectories(CORPUS[0])[0][0]))
    newer = good.replace('"ATIF-v1.8"', '"ATIF-v2.0"', 1)
    text = _bad(tmp_path, "t.jsonl", good + "\n" + newer + "\n")
    assert "t.jsonl:2, field 'schema_version'" in text
    assert "unknown ATIF version 'ATIF-v2.0'" in text and "ATIF-v1.8" in text
    doc = json.loads(good)
    doc["steps"][1]["source"] = "robot"
    text = _bad(tmp_path, "one.json", json.dumps(doc, indent=2))
    line = json.dumps(doc, indent=2).splitlines().index('      "source": "robot",') + 1
    assert f"one.json:{line}, field 'steps[1].source'" in text
    text = _bad(tmp_path, "cut.jsonl", good[:50] + "\n")
    assert "cut.jsonl:1" in text and "not valid JSON" in text


def test_cli_export_and_import_round_trip(tmp_path: Path) -> None:
    source = Path(__file__).parent / "corpus" / "v1" / "examples.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(source), "-o", str(tmp_path / "out"),
                                 "--target", "atif",
                                 "--validation-fraction", "0"])
    assert result.exit_code == 0, result.output
    exported = tmp_path / "out" / "atif" / "train.jsonl"
    for line in exported.read_text().splitlines():
        atif.Trajectory.model_validate_json(line)
    out = tmp_path / "back.jsonl"
    result = runner.invoke(cli, ["import", "atif", str(exported), "-o", str(out)])
    assert result.exit_code == 0, result.output
    back, bad = read_trajectories(out)
    original, _ = read_trajectories(source)
    assert not bad and [normalize(t) for t in back] == [normalize(t) for t in original]
    # A bad file among good ones: an error naming it, and nothing (re)written.
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"schema_version": "ATIF-v9.0", "agent": {}, "steps": []}\n')
    before = out.read_bytes()
    result = runner.invoke(cli, ["import", "atif", str(exported), str(broken), "-o", str(out)])
    assert result.exit_code != 0 and "broken.jsonl:1" in result.output
    assert "Traceback" not in result.output and out.read_bytes() == before


def test_identical_sub_agent_runs_keep_their_calls_when_the_context_was_rebuilt() -> None:
    """Found by the generated round trip: two identical sub-agent runs in one batch, and a
    next request that shows only the last result (a rebuilt context). Their results stay in
    the order they ran, so each sub-agent run comes back under its own call."""
    from nex_core.trajectory.schema import ToolSchema

    add = ToolSchema(name="add", description="the add tool", parameters={"type": "object"})

    def call(kind: str) -> dict[str, Any]:
        return {"kind": kind, "tool": add, "result": "a", "arguments": {}}

    def invocation(agent: str, rounds: Any, children: Any, rebuild: bool) -> dict[str, Any]:
        return {"agent": agent, "rounds": rounds, "children": children, "retry": False,
                "rebuild": rebuild, "tokens": False, "reasoning": None, "answer": "a",
                "reward": None}

    child = invocation("agent1a", [[call("ok")]], [], False)
    root = invocation("agent0a", [[call("ok"), call("subagent"), call("subagent")]],
                      [child, dict(child)], True)
    traj = build({"root": root, "turns": ["a"], "handoff": None, "resume": None, "rewards": {}})
    _, back, _ = through_atif(traj)
    same(traj, back)


def test_cached_tokens_reach_atif_metrics_and_come_back() -> None:
    (path,) = [p for p in CORPUS if "cached_tokens" in p.read_text()]
    traj = next(t for t in read_trajectories(path)[0] if any(
        isinstance(s, LLMStep) and s.response and s.response.usage
        and s.response.usage.cached_tokens for s in t.steps))
    doc, back, _ = through_atif(traj)

    def usages(t: Trajectory) -> list[Any]:
        return [s.response.usage for s in t.steps if isinstance(s, LLMStep) and s.response]

    cached = [u.cached_tokens for u in usages(traj) if u and u.cached_tokens is not None]
    metrics = [s["metrics"] for s in doc["steps"] if s.get("metrics")]
    assert sorted(m["cached_tokens"] for m in metrics if "cached_tokens" in m) == sorted(cached)
    assert doc["final_metrics"]["total_cached_tokens"] == sum(cached)
    assert usages(back) == usages(traj)
