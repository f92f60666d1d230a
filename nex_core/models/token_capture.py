"""Token records from a framework's own model client (LangChain's ``ChatOpenAI``, AutoGen's
``OpenAIChatCompletionClient`` ...), read into the same :class:`Tokens` nex's OpenAI-compatible
model stores.

Those clients keep part of what a vLLM server returns and drop the rest: ``ChatOpenAI`` keeps
``choices[0].logprobs`` (in ``response_metadata``) but not ``prompt_token_ids`` nor the choice's
``token_ids``; AutoGen's client keeps the per-token logprobs but not the ids, and its top-k
candidates lose their tokens. With vLLM's ``return_tokens_as_token_ids`` every logprob entry's
token reads ``token_id:N``, so the completion ids survive there. What a recorder could not read
is written, machine-readable, under :data:`TOKEN_CAPTURE_KEY` in the LLM step's metadata: the
rollout export reads it to know that the call's row must be re-tokenised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nex_core.errors import ModelError
from nex_core.trajectory.schema import Tokens

TOKEN_CAPTURE_KEY = "token_capture"
"""LLM step metadata key: ``{"source": client, "dropped": [field, ...], "retokenize": bool}``
where a framework's client returned token data but dropped some of it (``dropped`` names
:class:`Tokens` fields, ``top_logprobs.token_ids`` or ``cached_tokens``); ``retokenize`` is true
when the prompt or completion ids are missing, so the ids cannot be trained on as captured."""

_IDS = ("prompt_token_ids", "completion_token_ids")


def tokens_from_logprobs(
    content: Sequence[Mapping[str, Any]] | None,
    *,
    prompt_token_ids: list[int] | None = None,
    completion_token_ids: list[int] | None = None,
) -> Tokens | None:
    """:class:`Tokens` from OpenAI ``logprobs.content`` entries as a client kept them (the
    completion ids from ``token_id:N`` tokens when no ids are given), read by the same code that
    reads nex's own answers. ``None`` when there is nothing; a malformed entry raises
    :class:`ModelError` naming the field."""
    from nex_core.models._openai_tokens import TokenAccumulator

    acc = TokenAccumulator(prompt=prompt_token_ids)
    choice: dict[str, Any] = {"token_ids": completion_token_ids}
    if content is not None:
        choice["logprobs"] = {"content": list(content)}
    acc.choice(choice, "logprobs")
    return acc.tokens()


def capture_note(
    source: str, tokens: Tokens | None, *, also_dropped: Iterable[str] = ()
) -> dict[str, Any]:
    """The :data:`TOKEN_CAPTURE_KEY` note for a call whose client returned ``tokens``:
    which id lists are missing from it, plus ``also_dropped`` (what the client never carries)."""
    dropped = [f for f in _IDS if tokens is None or getattr(tokens, f) is None]
    dropped += [f for f in also_dropped if f not in dropped]
    return {
        "source": source,
        "dropped": dropped,
        "retokenize": any(f in dropped for f in _IDS),
    }


def read_client_tokens(
    source: str,
    content: Sequence[Mapping[str, Any]] | None,
    *,
    also_dropped: Iterable[str] = (),
) -> tuple[Tokens | None, dict[str, Any]]:
    """What a framework's client (``source``) kept of a call's tokens, and the note of what it
    dropped. A malformed record must not fail the app's run (the recorder only watches it), so
    it gives no tokens and a note carrying the error instead."""
    try:
        tokens = tokens_from_logprobs(content)
    except ModelError as exc:
        note = capture_note(source, None, also_dropped=also_dropped)
        note["error"] = str(exc)[:200]
        return None, note
    return tokens, capture_note(source, tokens, also_dropped=also_dropped)
