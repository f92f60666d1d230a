"""The exporter's seam: a per-row transform that adds token columns to chat rows.

A row with a ``messages`` column (and optionally ``tools``, a list or its JSON text) gets
``input_ids`` plus ``labels`` and/or ``assistant_masks``. Rows of other layouts (ShareGPT's
``conversations``) pass through unchanged. A row the tokenizer cannot render is dropped and its
reason counted, never written half-done.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nex_core.errors import ChatTemplateError, SpecError
from nex_core.tokens._chat import ChatTokenizer
from nex_core.tokens._spec import load_tokenizer

TOKEN_COLUMNS = ("labels", "assistant_masks")


class RowTokenizer:
    """``row → row with token columns`` (or ``None``: skipped, reason in ``skipped``)."""

    def __init__(self, tokenizer: ChatTokenizer, columns: Sequence[str] = ("labels",)) -> None:
        unknown = [c for c in columns if c not in TOKEN_COLUMNS]
        if unknown or not columns:
            raise SpecError(
                f"unknown token column(s) {', '.join(unknown) or '(none)'} "
                f"(known: {', '.join(TOKEN_COLUMNS)})"
            )
        self.tokenizer = tokenizer
        self.columns = list(columns)
        self.rows = 0
        self.tokens = 0
        self.trained_tokens = 0
        self.skipped: Counter[str] = Counter()

    def __call__(self, row: dict[str, Any]) -> dict[str, Any] | None:
        messages = row.get("messages")
        if not isinstance(messages, list):
            return row
        tools = row.get("tools")
        try:
            if isinstance(tools, str):
                tools = json.loads(tools) if tools.strip() else None
            sample = self.tokenizer.tokenize(messages, tools)
        except (ChatTemplateError, ValueError) as exc:
            self.skipped[f"tokenizer:{exc}"[:120]] += 1
            return None
        out = dict(row)
        out["input_ids"] = sample.input_ids
        if "labels" in self.columns:
            out["labels"] = sample.labels
        if "assistant_masks" in self.columns:
            out["assistant_masks"] = sample.assistant_masks
        self.rows += 1
        self.tokens += len(sample.input_ids)
        self.trained_tokens += sum(sample.assistant_masks)
        return out

    def manifest(self) -> dict[str, Any]:
        return {
            **self.tokenizer.describe(),
            "columns": ["input_ids", *self.columns],
            "rows": self.rows,
            "tokens": self.tokens,
            "trained_tokens": self.trained_tokens,
            "skipped": dict(self.skipped),
        }


def row_tokenizer(
    spec: str, chat_template: str | Path | None = None, columns: Sequence[str] = ("labels",)
) -> RowTokenizer:
    """The transform ``nex export --tokenizer SPEC [--chat-template FILE]`` applies."""
    return RowTokenizer(load_tokenizer(spec, chat_template), columns)
