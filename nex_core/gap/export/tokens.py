"""``nex export --tokenizer``: token columns from :mod:`nex_core.tokens`, as a per-row transform.

Chat rows (a ``messages`` column: the ``hf`` and ``openai`` targets) get ``input_ids`` plus
``labels`` and/or ``assistant_masks``; rows of other layouts (ShareGPT) pass through unchanged.
A row the tokenizer or its chat template cannot render is left out, counted under the
tokenizer's reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nex_core.errors import SpecError
from nex_core.gap.export.columns import Column
from nex_core.gap.export.render import Conversation
from nex_core.gap.export.targets import SkipSample, Target


class TokenColumns:
    """A ``SampleTransform`` (see ``run.py``) over ``nex_core.tokens``' row tokenizer."""

    name = "tokenizer"

    def __init__(self, row_tokenizer: Any) -> None:
        self.row_tokenizer = row_tokenizer
        self.columns: Mapping[str, Column] = {
            c: Column.INT_LIST for c in ["input_ids", *row_tokenizer.columns]
        }

    def __call__(
        self, row: Mapping[str, Any], conversation: Conversation, target: Target
    ) -> Mapping[str, Any]:
        if not isinstance(row.get("messages"), list):
            return {}
        before = dict(self.row_tokenizer.skipped)
        out = self.row_tokenizer(dict(row))
        if out is None:  # it counted why; say the same reason to the exporter
            skipped = self.row_tokenizer.skipped
            reason = next((k for k in skipped if skipped[k] != before.get(k, 0)), "tokenizer")
            raise SkipSample(reason)
        return {c: out[c] for c in self.columns}

    def manifest(self) -> dict[str, Any]:
        return dict(self.row_tokenizer.manifest())


def load_chat_tokenizer(spec: str, chat_template: str | Path | None) -> Any:
    """``nex_core.tokens.load_tokenizer``, with the install hint when the extra is missing."""
    try:
        from nex_core.tokens import load_tokenizer
    except ImportError as exc:
        raise SpecError(
            f"--tokenizer needs {exc.name or 'a package'} (pip install 'nex-core[tokens]')"
        ) from exc
    return load_tokenizer(spec, chat_template)


def hf_messages(step: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An LLM step's request and response as Hugging Face chat messages and tools (what the
    chat templates read), the way the ``hf`` target writes them in the native format."""
    from nex_core.gap.export.render import render
    from nex_core.gap.export.samples import Sample
    from nex_core.gap.export.targets.hf import HFTarget
    from nex_core.toolformats.registry import BUILTIN_FORMATS

    sample = Sample(
        messages=[*step.request.messages, step.response.message],
        tools=list(step.request.tools),
        agent=step.agent,
        invocation="",
        params=dict(step.request.params),
    )
    row = HFTarget().row(render(sample, BUILTIN_FORMATS["native"]), {})
    return row["messages"], row["tools"]


def token_columns(
    spec: str, chat_template: str | Path | None, columns: Sequence[str]
) -> TokenColumns:
    """The transform for ``--tokenizer SPEC [--chat-template FILE] [--token-columns ...]``."""
    try:
        from nex_core.tokens import row_tokenizer
    except ImportError as exc:  # jinja2 (chat templates) is part of the tokens extra
        raise SpecError(
            f"--tokenizer needs {exc.name or 'a package'} (pip install 'nex-core[tokens]')"
        ) from exc

    return TokenColumns(row_tokenizer(spec, chat_template, columns))
