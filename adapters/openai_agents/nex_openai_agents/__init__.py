"""nex adapter for the OpenAI Agents SDK: convert, build, record, and a model bridge."""

from nex_openai_agents.bridge import NexModel, NexModelProvider, bridge_model
from nex_openai_agents.plugin import CAPABILITIES, OpenAIAgentsAdapter
from nex_openai_agents.record import instrument, record

__all__ = [
    "CAPABILITIES",
    "NexModel",
    "NexModelProvider",
    "OpenAIAgentsAdapter",
    "bridge_model",
    "instrument",
    "record",
]
