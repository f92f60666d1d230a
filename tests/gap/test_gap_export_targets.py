"""Export targets: rows shaped for Hugging Face/TRL, the OpenAI fine-tuning API and ShareGPT;
bad input (malformed arguments, samples a format cannot express) counted, never a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from gap_export_helpers import SEARCH, WEATHER, mixed, read_jsonl, trajectory, write_source

from nex_core.errors import SpecError, ToolFormatError
from nex_core.gap.export import ExportOptions, export
from nex_core.gap.export.formats import HermesToolFormat
from nex_core.hookspecs import hookimpl
from nex_core.plugins import get_plugin_manager
from nex_core.trajectory.schema import ToolCall, ToolSchema


def _export(tmp_path: Path, trajs: list, **options: Any) -> tuple[Path, dict[str, Any]]:
    source = write_source(tmp_path / "trajectories.jsonl", trajs)
    out = tmp_path / "out"
    options.setdefault("validation_fraction", 0)
    return out, export(source, out, ExportOptions(**options))


def test_hf_rows_carry_object_arguments_reasoning_tools_and_named_tool_replies(
    tmp_path: Path,
) -> None:
    traj = trajectory(
        0,
        tools=[SEARCH, WEATHER],
        turns=[[("search", {"query": "q", "filters": {"lang": "en"}}), ("weather", {"city": "P"})]],
        reasoning="Think first.",
    )
    out, summary = _export(tmp_path, [traj], formats=["native", "hermes"])
    (row,) = read_jsonl(out / "hf" / "native" / "train.jsonl")
    assert set(row) == {"messages", "tools", "metadata"}
    system, _user, calls, r1, r2, final = row["messages"]
    assert system == {"role": "system", "content": "You are careful."}
    assert calls == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_0_1",
                "type": "function",
                "function": {
                    "name": "search",
                    "arguments": {"query": "q", "filters": {"lang": "en"}},
                },
            },
            {
                "id": "call_0_2",
                "type": "function",
                "function": {"name": "weather", "arguments": {"city": "P"}},
            },
        ],
        "reasoning_content": "Think first.",
    }
    assert r1 == {
        "role": "tool",
        "content": "result of search #0",
        "tool_call_id": "call_0_1",
        "name": "search",
    }
    assert r2["name"] == "weather" and r2["tool_call_id"] == "call_0_2"
    assert final == {"role": "assistant", "content": "done", "reasoning_content": "Think first."}
    assert row["tools"] == [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
            },
        }
        for t in (SEARCH, WEATHER)
    ]
    assert row["metadata"]["format"] == "native" and row["metadata"]["task_id"] == "task-0"
    # A text format: the calls are in the text, the tools in the system prompt, reasoning kept.
    (text_row,) = read_jsonl(out / "hf" / "hermes" / "train.jsonl")
    assert text_row["tools"] == []
    assert "<tool_call>" in text_row["messages"][2]["content"]
    assert text_row["messages"][2]["reasoning_content"] == "Think first."
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["options"]["targets"] == ["hf"]
    assert manifest["targets"]["hf"]["columns"] == {
        "messages": "json_list",
        "tools": "json_list",
        "metadata": "strings",
    }
    assert summary["skipped"] == {}


OPENAI_ROW_KEYS = {"messages", "tools", "parallel_tool_calls"}
OPENAI_MESSAGE_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id", "weight"}


def test_openai_rows_have_string_arguments_and_only_documented_keys(tmp_path: Path) -> None:
    trajs = mixed(16)
    trajs.append(
        trajectory(
            99,
            tools=[WEATHER],
            turns=[[("weather", {"city": "Rome"})]],
            params={"parallel_tool_calls": False},
            reasoning="hidden",
        )
    )
    out, summary = _export(tmp_path, trajs, formats=["native"], targets=["openai", "hf"])
    rows = read_jsonl(out / "openai" / "native" / "train.jsonl")
    hf_rows = read_jsonl(out / "hf" / "native" / "train.jsonl")
    assert len(rows) == len(hf_rows) == len(trajs) and summary["skipped"] == {}
    for row, hf in zip(rows, hf_rows, strict=True):
        assert set(row) <= OPENAI_ROW_KEYS
        assert ("tools" in row) == bool(hf["tools"])
        for m, h in zip(row["messages"], hf["messages"], strict=True):
            assert set(m) <= OPENAI_MESSAGE_KEYS, m
            if m["role"] == "tool":
                assert set(m) == {"role", "tool_call_id", "content"}
            for c, hc in zip(m.get("tool_calls", []), h.get("tool_calls", []), strict=True):
                assert set(c) == {"id", "type", "function"}
                assert set(c["function"]) == {"name", "arguments"}
                assert isinstance(c["function"]["arguments"], str)
                assert json.loads(c["function"]["arguments"]) == hc["function"]["arguments"]
    assert rows[-1]["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in rows[0]  # the request did not set it: the API default


def test_sharegpt_stays(tmp_path: Path) -> None:
    traj = trajectory(
        0, tools=[WEATHER], turns=[[("weather", {"city": "A"}), ("weather", {"city": "B"})]]
    )
    out, _ = _export(tmp_path, [traj], formats=["native"], targets=["sharegpt"])
    (row,) = read_jsonl(out / "sharegpt" / "native" / "train.jsonl")
    assert [t["from"] for t in row["conversations"]] == [
        "human",
        "function_call",
        "observation",
        "gpt",
    ]
    assert json.loads(row["conversations"][1]["value"]) == [
        {"name": "weather", "arguments": {"city": "A"}},
        {"name": "weather", "arguments": {"city": "B"}},
    ]
    assert json.loads(row["conversations"][2]["value"]) == [
        "result of weather #0",
        "result of weather #1",
    ]
    assert row["system"] == "You are careful." and json.loads(row["tools"])[0]["type"] == "function"


def test_malformed_arguments_are_skipped_by_structured_targets_and_counted(
    tmp_path: Path,
) -> None:
    bad = trajectory(1, tools=[WEATHER], turns=[[("weather", '{"city": "Pa')]])
    not_object = trajectory(2, tools=[WEATHER], turns=[[("weather", "[1, 2]")]])
    good = trajectory(3, tools=[WEATHER], turns=[[("weather", {"city": "Lyon"})]])
    out, summary = _export(
        tmp_path,
        [bad, not_object, good],
        formats=["native", "hermes", "pythonic"],
        targets=["hf", "openai", "sharegpt"],
    )
    for target in ("hf", "openai", "sharegpt"):
        assert summary["skipped"][f"{target}/native: malformed_arguments"] == 1
        assert summary["skipped"][f"{target}/native: arguments_not_an_object"] == 1
        assert len(read_jsonl(out / target / "native" / "train.jsonl")) == 1
    # Text formats follow their own rules: hermes writes what the model wrote; pythonic cannot
    # express arguments that are not an object and says so (counted under its message).
    assert len(read_jsonl(out / "hf" / "hermes" / "train.jsonl")) == 3
    pythonic = {k: v for k, v in summary["skipped"].items() if k.startswith("pythonic: ")}
    assert sum(pythonic.values()) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["skipped"] == summary["skipped"]


class _OneCallPerTurn(HermesToolFormat):
    """A family whose template allows one call per assistant turn."""

    name = "one-call-test"

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        if len(calls) > 1:
            raise ToolFormatError("cannot express: a parallel batch (one call per turn)")
        return super().render_calls(text, calls, tools)


class _Plugin:
    @hookimpl
    def nex_tool_formats(self) -> dict[str, Any]:
        return {"one-call-test": _OneCallPerTurn()}


@pytest.fixture
def one_call_format() -> Iterator[str]:
    pm = get_plugin_manager()
    plugin = _Plugin()
    pm.register(plugin, name="one-call-test")
    try:
        yield "one-call-test"
    finally:
        pm.unregister(plugin)


def test_a_sample_the_format_cannot_express_is_skipped_with_its_reason(
    tmp_path: Path, one_call_format: str
) -> None:
    parallel = trajectory(
        1, tools=[WEATHER], turns=[[("weather", {"city": "A"}), ("weather", {"city": "B"})]]
    )
    single = trajectory(2, tools=[WEATHER], turns=[[("weather", {"city": "C"})]])
    out, summary = _export(tmp_path, [parallel, single], formats=[one_call_format, "native"])
    assert summary["skipped"] == {
        "one-call-test: cannot express: a parallel batch (one call per turn)": 1
    }
    assert len(read_jsonl(out / "hf" / one_call_format / "train.jsonl")) == 1
    assert len(read_jsonl(out / "hf" / "native" / "train.jsonl")) == 2


def test_unknown_target_or_format_names_the_available_ones(tmp_path: Path) -> None:
    source = write_source(tmp_path / "t.jsonl", mixed(1))
    with pytest.raises(
        SpecError,
        match=r"unknown export target 'trl' \(available: atif, hf, openai, rollout, sharegpt",
    ):
        export(source, tmp_path / "o", ExportOptions(targets=["trl"]))
    with pytest.raises(SpecError, match=r"unknown tool format 'nope' \(available: .*hermes"):
        export(source, tmp_path / "o", ExportOptions(formats=["nope"]))
    assert not (tmp_path / "o").exists()


def test_unreadable_lines_are_counted_and_the_rest_exported(tmp_path: Path) -> None:
    source = write_source(tmp_path / "t.jsonl", mixed(3))
    with source.open("a") as f:
        f.write('not json\n{"id": 5}\n')
    summary = export(source, tmp_path / "o", ExportOptions(formats=["native"]))
    assert summary["trajectories"] == 3 and summary["unreadable_count"] == 2
    assert len(summary["unreadable_lines"]) == 2


def test_a_gap_config_names_its_export_targets(tmp_path: Path) -> None:
    from gap_helpers import write_config

    from nex_core.gap import load_config

    (tmp_path / "tasks.jsonl").write_text('{"id": "a", "prompt": "x"}\n')
    (tmp_path / "agent.yaml").write_text("name: a\n")
    base = {
        "tasks": ["tasks.jsonl"],
        "agents": [{"spec": "agent.yaml"}],
        "models": [{"name": "m", "ref": "scripted:s.yaml"}],
        "output": "out",
    }
    path = write_config(tmp_path, {**base, "export": {"targets": ["hf", "trl"]}})
    with pytest.raises(SpecError) as info:
        load_config(path)
    text = str(info.value)
    assert "field 'export.targets[1]'" in text
    assert "unknown export target 'trl' (available: atif, hf, openai, rollout, sharegpt" in text
    path = write_config(tmp_path, {**base, "export": {"targets": ["openai"]}})
    assert load_config(path).export.targets == ["openai"]  # type: ignore[union-attr]


def test_a_real_one_call_family_skips_parallel_batches_with_its_reason(tmp_path: Path) -> None:
    from nex_core.toolformats import get_format

    fmt = get_format("llama3_json")
    assert not fmt.parallel
    parallel = trajectory(
        1, tools=[WEATHER], turns=[[("weather", {"city": "A"}), ("weather", {"city": "B"})]]
    )
    single = trajectory(2, tools=[WEATHER], turns=[[("weather", {"city": "C"})]])
    out, summary = _export(tmp_path, [parallel, single], formats=[fmt.name])
    ((reason, count),) = summary["skipped"].items()
    assert reason.startswith(f"{fmt.name}: cannot express") and count == 1
    assert len(read_jsonl(out / "hf" / fmt.name / "train.jsonl")) == 1
