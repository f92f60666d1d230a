"""Helpers for the token tests: a small local Hugging Face tokenizer folder, built in the test
(a byte-level BPE trained with ``tokenizers`` on the test's own text), TRL's chat templates where
the test environment has them, and a sample conversation."""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tokenizer_folder(
    folder: Path, texts: Iterable[str], chat_template: str, vocab_size: int = 600
) -> Path:
    """``tokenizer.json`` + ``tokenizer_config.json`` (with ``chat_template``) in ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "model_max_length": 4096,
        "chat_template": chat_template,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def trl_template(name: str) -> str | None:
    """``trl/chat_templates/NAME.jinja`` from an installed trl, or from the wheel that
    ``pip download --no-deps trl==1.16.0`` fetched (path in ``NEX_TRL_WHEEL``); None if neither."""
    spec = importlib.util.find_spec("trl")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "chat_templates" / f"{name}.jinja"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    wheel = os.environ.get("NEX_TRL_WHEEL")
    if wheel and Path(wheel).is_file():
        with zipfile.ZipFile(wheel) as z:
            try:
                return z.read(f"trl/chat_templates/{name}.jinja").decode("utf-8")
            except KeyError:
                return None
    return None


TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Current time in a time zone.",
            "parameters": {
                "type": "object",
                "properties": {"timezone": {"type": "string"}},
                "required": ["timezone"],
            },
        },
    }
]

USER_TEXT = "What time is it in Tokyo and in Paris?"
SYSTEM_TEXT = "You are a precise clock assistant."
TOOL_TEXTS = ['{"timezone": "Asia/Tokyo", "datetime": "21:00"}', '{"datetime": "13:00"}']
FINAL_TEXT = "It is 21:00 in Tokyo — and 13:00 in Paris. 東京"


def conversation() -> list[dict[str, Any]]:
    """A system/user/parallel-tool-calls/tool/tool/answer sample, OpenAI-shaped (string args)."""
    return [
        {"role": "system", "content": SYSTEM_TEXT},
        {"role": "user", "content": USER_TEXT},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"timezone": "Asia/Tokyo"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": {"timezone": "Europe/Paris"}},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": TOOL_TEXTS[0]},
        {"role": "tool", "tool_call_id": "call_2", "content": TOOL_TEXTS[1]},
        {"role": "assistant", "content": FINAL_TEXT},
    ]


def corpus() -> list[str]:
    """Text to train the test BPE on: the sample's own words, JSON and template text."""
    text = json.dumps([conversation(), TOOLS], ensure_ascii=False)
    return [text, SYSTEM_TEXT, USER_TEXT, FINAL_TEXT, *TOOL_TEXTS] * 3
