"""nex adapter for AutoGen AgentChat 0.7: convert, build, record, and a model bridge."""

from nex_autogen.bridge import NexChatCompletionClient, bridge_model
from nex_autogen.plugin import CAPABILITIES, AutogenAdapter

__all__ = ["CAPABILITIES", "AutogenAdapter", "NexChatCompletionClient", "bridge_model"]
