"""``nex export --target rollout`` (issue 13 item 4): token-level RL rows from captured ids.

The trajectories are real native runs of the calculator example against tests/chat_server.py
answering as vLLM does (ids and logprobs over HTTP); the fallback runs on the scripted model and
re-tokenises through a real (small, locally trained) Hugging Face tokenizer.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nex_core.cli.main import cli
from nex_core.gap.export import ExportOptions, export
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.loader import load_spec
from nex_core.runtime.loop import run_native
from nex_core.trajectory.schema import LLMStep, TaskInfo, Trajectory
from tests.chat_server import ChatServer, Reply

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CALC = EXAMPLES / "calculator"


def calculator_run(replies: list[Reply], task: str = "t1") -> Trajectory:
    spec = load_spec(CALC / "agent.yaml")
    with ChatServer(replies) as server:
        model = OpenAICompatibleModel(
            "m", base_url=server.base_url, api_key_env="NEX_TEST_NO_KEY", capture_tokens=True,
            logprobs=0, timeout_s=5, max_retries=0,
        )
        task_info = TaskInfo(id=task, turns=["2+3, times 4?"])
        traj = asyncio.run(run_native(spec, task_info, model=model))
    traj.outcome.rewards = {"task": 1.0, "format": -0.5}  # type: ignore[union-attr]
    return traj


TWO_CALLS = [
    Reply(tool_calls=[("call_1", "add", {"a": 2, "b": 3})]),
    Reply(tool_calls=[("call_2", "multiply", {"a": 5, "b": 4})]),
    Reply(text="20"),
]


def write(path: Path, trajectories: list[Trajectory]) -> Path:
    path.write_text("".join(t.to_json() + "\n" for t in trajectories))
    return path


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def exported(
    tmp_path: Path, trajectories: list[Trajectory], **options: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = write(tmp_path / "t.jsonl", trajectories)
    out = tmp_path / "out"
    export(source, out, ExportOptions(targets=["rollout"], validation_fraction=0, **options))
    manifest = json.loads((out / "manifest.json").read_text())
    path = out / "rollout" / "train.jsonl"
    return (rows(path) if path.exists() else []), manifest


def test_calls_whose_prefix_continues_merge_into_one_row(tmp_path: Path) -> None:
    traj = calculator_run(list(TWO_CALLS))
    [row], manifest = exported(tmp_path, [traj])
    calls = [s for s in traj.steps if isinstance(s, LLMStep)]
    tokens = [c.response.tokens for c in calls if c.response and c.response.tokens]
    assert len(tokens) == 3 and all(t.prompt_token_ids and t.completion_token_ids for t in tokens)
    assert row["prompt_ids"] == tokens[0].prompt_token_ids
    # The row is the last call's whole sequence, as the model saw and wrote it.
    last = tokens[-1]
    assert row["prompt_ids"] + row["response_ids"] == (
        (last.prompt_token_ids or []) + (last.completion_token_ids or [])
    )
    assert len(row["loss_mask"]) == len(row["response_ids"]) == len(row["logprobs"])
    trained = [i for i, m in zip(row["response_ids"], row["loss_mask"], strict=True) if m]
    assert trained == [i for t in tokens for i in t.completion_token_ids or []]
    model_logprobs = [lp for t in tokens for lp in t.logprobs or []]
    assert [lp for lp, m in zip(row["logprobs"], row["loss_mask"], strict=True) if m] == (
        model_logprobs
    )
    assert all(lp == 0.0 for lp, m in zip(row["logprobs"], row["loss_mask"], strict=True) if not m)
    # The tool results between two calls are in the row, masked out.
    between = bytes(i for i, m in zip(row["response_ids"], row["loss_mask"], strict=True) if not m)
    assert b"<tool>5</tool>" in between
    assert row["rewards"] == {"task": 1.0, "format": -0.5} and row["reward"] == 0.5
    assert row["retokenized"] is False and row["metadata"]["invocation"] == "root"
    assert manifest["rollout"] == {
        "samples": 1, "rows": 1, "calls": 3, "merges": 2, "splits": 0, "retokenized_rows": 0
    }


def test_a_prompt_that_does_not_continue_starts_a_new_row(tmp_path: Path) -> None:
    # The server claims ids for the first reply that the next prompt does not begin with (a
    # template that renders the turn differently from how the model wrote it).
    replies = list(TWO_CALLS)
    first = replies[0]
    replies[0] = Reply(tool_calls=first.tool_calls, completion_ids=[7, 7, 7])
    traj = calculator_run(replies)
    got, manifest = exported(tmp_path, [traj])
    assert len(got) == 2
    assert manifest["rollout"]["splits"] == 1 and manifest["rollout"]["merges"] == 1
    assert got[0]["response_ids"] == [7, 7, 7] and got[0]["loss_mask"] == [1, 1, 1]
    assert [r["metadata"]["part"] for r in got] == ["0", "1"]


def test_ids_that_disagree_with_their_claims_are_rejected_and_counted(tmp_path: Path) -> None:
    good = calculator_run(list(TWO_CALLS), task="good")
    short = calculator_run(list(TWO_CALLS), task="short")
    data = json.loads(short.to_json())
    step = next(s for s in data["steps"] if s["kind"] == "llm")
    step["response"]["tokens"]["logprobs"].pop()
    counted = calculator_run(list(TWO_CALLS), task="counted")
    data2 = json.loads(counted.to_json())
    step2 = next(s for s in data2["steps"] if s["kind"] == "llm")
    step2["response"]["usage"]["completion_tokens"] += 1
    broken = [Trajectory.model_validate(data), Trajectory.model_validate(data2)]
    got, manifest = exported(tmp_path, [good, *broken])
    assert [r["metadata"]["task_id"] for r in got] == ["good"]
    assert manifest["skipped"] == {
        "rollout: logprobs_length_mismatch": 1,
        "rollout: completion_ids_length_mismatch": 1,
    }


def _llm_steps(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in data["steps"] if s["kind"] == "llm"]


def test_a_bad_call_rejects_only_the_row_it_falls_in(tmp_path: Path) -> None:
    # The first call's ids do not continue into the next prompt: two rows, [call 1] and
    # [call 2, call 3]. Call 3's logprobs are one short: only the second row is rejected.
    replies = list(TWO_CALLS)
    replies[0] = Reply(tool_calls=replies[0].tool_calls, completion_ids=[7, 7, 7])
    data = json.loads(calculator_run(replies).to_json())
    _llm_steps(data)[2]["response"]["tokens"]["logprobs"].pop()
    got, manifest = exported(tmp_path, [Trajectory.model_validate(data)])
    [row] = got
    assert row["response_ids"] == [7, 7, 7] and row["metadata"]["part"] == "0"
    assert row["cached_tokens"] == [0]
    assert manifest["rollout"]["rows"] == 1 and manifest["rollout"]["rejected_rows"] == 1
    assert manifest["rollout"]["rejected_calls"] == {"logprobs_length_mismatch": 1}
    assert "skipped" not in manifest or not manifest["skipped"]


def test_a_call_without_ids_is_rejected_alone_and_the_rest_is_kept(tmp_path: Path) -> None:
    traj = calculator_run(list(TWO_CALLS))
    calls = [s for s in traj.steps if isinstance(s, LLMStep)]
    second = calls[1].response.tokens if calls[1].response else None
    assert calls[0].response is not None
    calls[0].response.tokens = None
    # What the LangGraph/AutoGen recorders note when the framework's client dropped the ids.
    calls[0].metadata["token_capture"] = {
        "source": "langchain:openai", "dropped": ["prompt_token_ids"], "retokenize": True
    }
    [row], manifest = exported(tmp_path, [traj])
    assert second is not None and row["prompt_ids"] == second.prompt_token_ids
    assert len(row["step_rewards"]) == 2 and len(row["cached_tokens"]) == 2
    # The second and third prompts share the first one's prefix: the server cached it.
    assert all(n > 0 for n in row["cached_tokens"])
    assert manifest["rollout"]["rejected_calls"] == {"client_dropped_token_ids": 1}
    assert manifest["rollout"]["rejected_rows"] == 0 and manifest["rollout"]["rows"] == 1


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tokenizers")
    pytest.importorskip("jinja2")
    from tokens_helpers import build_tokenizer_folder

    from nex_core.tokens import load_template

    folder = tmp_path_factory.mktemp("tok")
    texts = [(CALC / "script.yaml").read_text(), (CALC / "agent.yaml").read_text()] * 3
    return build_tokenizer_folder(folder / "chatml", texts, load_template("chatml").source)


def test_without_ids_the_tokenizer_renders_the_row(tmp_path: Path, tokenizer_dir: Path) -> None:
    spec = load_spec(CALC / "agent.yaml")
    scripted = ScriptedModel.from_file(CALC / "script.yaml")
    traj = asyncio.run(run_native(spec, TaskInfo(id="s", turns=["(2+3)*4?"]), model=scripted))
    got, manifest = exported(tmp_path / "a", [traj])
    assert got == [] and manifest["skipped"] == {
        "rollout: no_token_ids (export with --tokenizer to re-tokenize)": 1
    }
    # Where the recorder noted that the framework's client dropped the ids, the reason says so.
    noted = traj.model_copy(deep=True)
    for step in noted.steps:
        if isinstance(step, LLMStep):
            step.metadata["token_capture"] = {"dropped": ["prompt_token_ids"], "retokenize": True}
    _, manifest = exported(tmp_path / "c", [noted])
    assert manifest["skipped"] == {
        "rollout: client_dropped_token_ids (export with --tokenizer to re-tokenize)": 1
    }
    [row], manifest = exported(tmp_path / "b", [traj], tokenizer=str(tokenizer_dir))
    assert row["retokenized"] is True and row["logprobs"] is None
    assert row["loss_mask"][0] == 1 and 0 in row["loss_mask"]
    from nex_core.tokens import load_tokenizer

    text = load_tokenizer(str(tokenizer_dir)).decode(
        [i for i, m in zip(row["response_ids"], row["loss_mask"], strict=True) if m]
    )
    assert traj.outcome is not None and (traj.outcome.final_output or "") in text
    assert manifest["rollout"]["retokenized_rows"] == 1


def test_captured_ids_that_do_not_decode_to_the_text_are_rejected(
    tmp_path: Path, tokenizer_dir: Path
) -> None:
    # The chat server's ids are bytes, not this tokenizer's: they decode to other text.
    traj = calculator_run(list(TWO_CALLS))
    got, manifest = exported(tmp_path, [traj], tokenizer=str(tokenizer_dir))
    assert got == []
    assert manifest["skipped"] == {"rollout: completion_ids_decode_mismatch": 1}


def test_cli_writes_parquet_for_verl_style_readers(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    source = write(tmp_path / "t.jsonl", [calculator_run(list(TWO_CALLS))])
    result = CliRunner().invoke(
        cli,
        ["export", str(source), "-o", str(tmp_path / "out"), "--dataset", "rollout",
         "--file-format", "jsonl,parquet", "--validation-fraction", "0"],
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(tmp_path / "out" / "rollout" / "train.parquet")
    assert table.schema.field("prompt_ids").type == pa.list_(pa.int64())
    assert table.schema.field("logprobs").type == pa.list_(pa.float64())
    assert table.schema.field("reward").type == pa.float64()
    [jsonl] = rows(tmp_path / "out" / "rollout" / "train.jsonl")
    assert table.column("response_ids").to_pylist() == [jsonl["response_ids"]]
    assert "README.md" in {p.name for p in (tmp_path / "out" / "rollout").iterdir()}


def test_per_invocation_gives_each_sub_agent_its_own_rows(tmp_path: Path) -> None:
    from atif_helpers import TOOLS, build

    child = {"agent": "helper", "rounds": [], "children": [], "retry": False, "rebuild": False,
             "tokens": True, "reasoning": None, "answer": "done", "reward": None}
    root = {"agent": "agent0", "children": [child], "retry": False, "rebuild": False,
            "tokens": True, "reasoning": None, "answer": "all done", "reward": 0.5,
            "rounds": [[{"kind": "subagent", "tool": TOOLS[0], "result": "", "arguments": {}}]]}
    plan = {"root": root, "turns": ["go"], "handoff": None, "resume": None, "rewards": {"task": 1}}
    traj = build(plan)
    sub = next(s for s in traj.steps if s.kind == "subagent")
    whole, _ = exported(tmp_path / "a", [traj])
    assert {r["metadata"]["invocation"] for r in whole} == {"root"}
    per, manifest = exported(tmp_path / "b", [traj], per="invocation")
    assert {r["metadata"]["invocation"] for r in per} == {"root", sub.id}
    assert {r["metadata"]["agent"] for r in per} == {"agent0", "helper"}
    # The generated ids do not continue from call to call: every call is its own row, counted.
    assert manifest["rollout"]["splits"] == manifest["rollout"]["calls"] - 2
    root_rows = [r for r in per if r["metadata"]["invocation"] == "root"]
    assert all(r["step_rewards"] == [{"format": 0.5}] for r in root_rows)
