"""Token capture from OpenAI-compatible servers: what to ask for and how to read the answer.

vLLM (>= 0.10.2) returns the prompt's token ids and the generated ids when a request sets
``"return_token_ids": true``: ``prompt_token_ids`` at the top of the answer (of a stream's first
chunk) and ``token_ids`` on each choice (each chunk's choice, for the ids of that delta). Log
probabilities come as chat.completions documents them (``logprobs: true``, ``top_logprobs: k``:
``choices[0].logprobs.content`` is one entry per generated token). With
``return_tokens_as_token_ids`` the tokens of those entries read ``token_id:N``, so the top-k
candidates come with their ids. Every field is checked like the rest of the answer: a value of
the wrong type is a :class:`ModelError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nex_core.models._openai_response import malformed
from nex_core.trajectory.schema import Tokens, TopLogprobs

CAPTURE_FIELDS = ("return_token_ids", "return_tokens_as_token_ids", "logprobs", "top_logprobs")
"""Request fields token capture adds; a server naming one of them in a 400 does not support it."""

_ID_PREFIX = "token_id:"


def capture_fields(capture_tokens: bool, logprobs: int | None) -> dict[str, Any]:
    """The request fields for ``capture_tokens`` and ``logprobs`` (the model settings)."""
    body: dict[str, Any] = {}
    if capture_tokens:
        body["return_token_ids"] = True
    if logprobs is not None:
        body["logprobs"] = True
        if logprobs > 0:
            body["top_logprobs"] = logprobs
        if capture_tokens:
            body["return_tokens_as_token_ids"] = True
    return body


def _ids(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise malformed(where, value, "a list of token ids (whole numbers)")
    return value


def _token_id(token: Any) -> int | None:
    if isinstance(token, str) and token.startswith(_ID_PREFIX):
        digits = token[len(_ID_PREFIX) :]
        if digits.isdigit():
            return int(digits)
    return None


def _logprob(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise malformed(where, value, "a number")
    return float(value)


@dataclass
class TokenAccumulator:
    """Collects token ids and logprobs from one answer or from a stream's chunks."""

    prompt: list[int] | None = None
    completion: list[int] | None = None
    logprobs: list[float] = field(default_factory=list)
    logprob_ids: list[int | None] = field(default_factory=list)
    top_logprobs: list[list[float]] = field(default_factory=list)
    top_tokens: list[list[str]] = field(default_factory=list)
    saw_logprobs: bool = False
    saw_top: bool = False

    def top_level(self, data: dict[str, Any], where: str) -> None:
        """``prompt_token_ids`` of an answer (or of a stream chunk)."""
        raw = data.get("prompt_token_ids")
        if raw is not None:
            self.prompt = _ids(raw, f"{where}prompt_token_ids")

    def choice(self, choice: dict[str, Any], where: str) -> None:
        """A choice's ``token_ids`` and ``logprobs.content`` (a whole answer's or a delta's)."""
        raw = choice.get("token_ids")
        if raw is not None:
            ids = _ids(raw, f"{where}.token_ids")
            self.completion = ids if self.completion is None else self.completion + ids
        logprobs = choice.get("logprobs")
        if logprobs is None:
            return
        if not isinstance(logprobs, dict):
            raise malformed(f"{where}.logprobs", logprobs, "an object")
        content = logprobs.get("content")
        if content is None:
            return
        if not isinstance(content, list):
            raise malformed(f"{where}.logprobs.content", content, "a list")
        self.saw_logprobs = True
        for i, entry in enumerate(content):
            at = f"{where}.logprobs.content[{i}]"
            if not isinstance(entry, dict):
                raise malformed(at, entry, "an object")
            self.logprobs.append(_logprob(entry.get("logprob"), f"{at}.logprob"))
            self.logprob_ids.append(_token_id(entry.get("token")))
            top = entry.get("top_logprobs")
            if top is None:
                continue
            if not isinstance(top, list):
                raise malformed(f"{at}.top_logprobs", top, "a list")
            self.saw_top = self.saw_top or bool(top)
            values, tokens = [], []
            for j, candidate in enumerate(top):
                cat = f"{at}.top_logprobs[{j}]"
                if not isinstance(candidate, dict):
                    raise malformed(cat, candidate, "an object")
                values.append(_logprob(candidate.get("logprob"), f"{cat}.logprob"))
                token = candidate.get("token")
                if not isinstance(token, str):
                    raise malformed(f"{cat}.token", token, "a string")
                tokens.append(token)
            self.top_logprobs.append(values)
            self.top_tokens.append(tokens)

    def tokens(self) -> Tokens | None:
        """What was collected, or ``None`` when the answer held no token fields."""
        completion = self.completion
        if completion is None and self.logprob_ids and None not in self.logprob_ids:
            # Older vLLM: no token_ids, but return_tokens_as_token_ids named every token's id.
            completion = [i for i in self.logprob_ids if i is not None]
        if self.prompt is None and completion is None and not self.saw_logprobs:
            return None
        top = None
        if self.saw_top:
            ids = [[_token_id(t) for t in row] for row in self.top_tokens]
            as_ids = all(i is not None for row in ids for i in row)
            top = TopLogprobs(
                logprobs=self.top_logprobs,
                token_ids=[[i for i in row if i is not None] for row in ids] if as_ids else None,
                tokens=None if as_ids else self.top_tokens,
            )
        return Tokens(
            prompt_token_ids=self.prompt,
            completion_token_ids=completion,
            logprobs=self.logprobs if self.saw_logprobs else None,
            top_logprobs=top,
        )


def tokens_from_json(data: dict[str, Any]) -> Tokens | None:
    """The token fields of a whole (non-streamed) answer that ``response_from_json`` read."""
    acc = TokenAccumulator()
    acc.top_level(data, "")
    acc.choice(data["choices"][0], "choices[0]")
    return acc.tokens()
