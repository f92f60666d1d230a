"""Chat models: one interface, three providers (OpenAI-compatible, scripted, replay)."""

from nex_core.models.base import ChatModel, ModelCall, ResponseChunk, chunks_of
from nex_core.models.registry import make_model
from nex_core.models.replay import ReplayModel
from nex_core.models.scripted import Script, ScriptedModel, ScriptedReply

__all__ = [
    "ChatModel",
    "ModelCall",
    "ReplayModel",
    "ResponseChunk",
    "Script",
    "ScriptedModel",
    "ScriptedReply",
    "chunks_of",
    "make_model",
]
