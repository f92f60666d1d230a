"""nex adapter for Microsoft Agent Framework: convert, build, record, and a model bridge."""

from nex_agent_framework.bridge import NexChatClient, bridge_model
from nex_agent_framework.plugin import CAPABILITIES, AgentFrameworkAdapter

__all__ = ["CAPABILITIES", "AgentFrameworkAdapter", "NexChatClient", "bridge_model"]
