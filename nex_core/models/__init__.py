"""Chat models: one interface, three providers (OpenAI-compatible, scripted, replay)."""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports

# Imported on first use (nex_core/_lazy.py), so importing one module of the package is cheap.
if _typing.TYPE_CHECKING:
    from nex_core.models.base import ChatModel, ModelCall, ResponseChunk, chunks_of
    from nex_core.models.registry import make_model
    from nex_core.models.replay import ReplayModel
    from nex_core.models.scripted import Script, ScriptedModel, ScriptedReply
    from nex_core.models.token_capture import (
        TOKEN_CAPTURE_KEY,
        capture_note,
        read_client_tokens,
        tokens_from_logprobs,
    )

__all__ = [
    "TOKEN_CAPTURE_KEY",
    "ChatModel",
    "ModelCall",
    "ReplayModel",
    "ResponseChunk",
    "Script",
    "ScriptedModel",
    "ScriptedReply",
    "capture_note",
    "chunks_of",
    "make_model",
    "read_client_tokens",
    "tokens_from_logprobs",
]

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
