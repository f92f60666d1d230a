"""Proof that the exported data trains: GAP run → nex export → datasets → one SFTTrainer step.

Offline end to end: the GAP example on its scripted models (with the real MCP time server), a
tokenizer folder built here (a byte-level BPE trained on the exported text, with TRL's Qwen2.5
training template, which marks the assistant's output with ``{% generation %}``), and a tiny
randomly initialised Qwen2 model built from a config (no weights anywhere). Two steps:

1. TRL tokenizes the ``messages``/``tools`` rows itself with ``assistant_only_loss=True``;
2. TRL trains on nex's own ``input_ids``/``labels`` columns (``nex export --tokenizer``), which
   must equal the labels TRL built in step 1 wherever the ids agree.

Needs the ``train`` extra: CPU torch (``pip install torch==2.13.0``), trl, transformers,
accelerate, datasets. Slow: a few minutes on a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from gap_helpers import langgraph_available

from nex_core.cli.main import cli
from nex_core.gap import load_config, run_gap

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

MODEL_SIZE = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 4096,
}


def _gap_run(example_dir: Path) -> Path:
    config_path = example_dir / "config.yaml"
    data = yaml.safe_load(config_path.read_text())
    if not langgraph_available():
        data["backends"] = [b for b in data["backends"] if b != "langgraph"]
    data.pop("export", None)  # exported below, as a user would
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    config = load_config(config_path)
    report = asyncio.run(run_gap(config)).report
    assert report["accepted"] >= 3
    return config.output_dir


def _export(run_dir: Path, out: Path, *extra: str) -> None:
    from nex_core.gap.cli import export_command

    target = ["--target", "hf"] if any(p.name == "target" for p in export_command.params) else []
    args = ["export", str(run_dir), "-o", str(out), *target, "--per", "invocation"]
    args += ["--format", "native,hermes", "--validation-fraction", "0", *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output


def _object_arguments(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        m = dict(m)
        if m.get("tool_calls"):
            m["tool_calls"] = [
                {
                    **c,
                    "function": {**c["function"], "arguments": _loads(c["function"]["arguments"])},
                }
                for c in m["tool_calls"]
            ]
        out.append(m)
    return out


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _trainer(model_dir: Path, tokenizer: Any, dataset: Any, out: Path) -> Any:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from trl import SFTConfig, SFTTrainer

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        **MODEL_SIZE,
    )
    args = SFTConfig(
        output_dir=str(out),
        max_steps=1,
        per_device_train_batch_size=4,
        assistant_only_loss=True,
        max_length=None,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
    )
    return SFTTrainer(
        model=Qwen2ForCausalLM(config),
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )


def test_exported_rows_train_with_assistant_only_loss(example_dir: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("trl")
    from tokens_helpers import build_tokenizer_folder, trl_template
    from transformers import AutoTokenizer

    run_dir = _gap_run(example_dir)
    plain = tmp_path / "plain"
    _export(run_dir, plain)
    rows_file = plain / "hf" / "native" / "train.jsonl"
    template = trl_template("qwen2_5_training")
    assert template is not None and "{% generation %}" in template.replace("-", "")
    folder = build_tokenizer_folder(
        tmp_path / "tokenizer", [rows_file.read_text()] * 2, template, vocab_size=1000
    )
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)

    # 1. TRL renders and masks the hf rows itself.
    chat = datasets.load_dataset("json", data_files=str(rows_file), split="train")
    assert {"messages", "tools"} <= set(chat.column_names) and len(chat) >= 3
    trainer = _trainer(
        folder, tokenizer, chat.select_columns(["messages", "tools"]), tmp_path / "a"
    )
    trl_labels = trainer.train_dataset["labels"]
    trl_ids = trainer.train_dataset["input_ids"]
    assert any(label != -100 for row in trl_labels for label in row)  # a non-empty loss mask
    assert any(label == -100 for row in trl_labels for label in row)  # and a masked prompt
    loss = trainer.train().training_loss
    assert math.isfinite(loss) and loss > 0

    # 2. TRL trains on nex's token columns as they are.
    tokenized = tmp_path / "tokenized"
    _export(run_dir, tokenized, "--tokenizer", str(folder))
    ours = datasets.load_dataset(
        "json", data_files=str(tokenized / "hf" / "native" / "train.jsonl"), split="train"
    )
    assert ours["messages"] == chat["messages"] and len(trl_ids) == len(ours)
    # nex's masks are the ones transformers computes for the same rows (what TRL calls), given
    # the rows as Hugging Face reads them: tool-call arguments as objects.
    raw = [json.loads(line) for line in rows_file.read_text().splitlines()]
    for row, ids, labels in zip(raw, ours["input_ids"], ours["labels"], strict=True):
        expected = tokenizer.apply_chat_template(
            _object_arguments(row["messages"]),
            tools=row.get("tools"),
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        assert ids == list(expected["input_ids"])
        assert [int(label != -100) for label in labels] == list(expected["assistant_masks"])
    trainer = _trainer(
        folder,
        tokenizer,
        ours.select_columns(["messages", "tools", "input_ids", "labels"]),
        tmp_path / "b",
    )
    assert trainer.train_dataset["labels"] == ours["labels"]
    loss = trainer.train().training_loss
    assert math.isfinite(loss) and loss > 0
