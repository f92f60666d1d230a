"""nex adapter for AutoGen AgentChat 0.7: convert, build, record, and a model bridge.

with nex_autogen.recording(sinks) as rec: ...   # record the app's own runs, unchanged
"""

from nex_autogen.bridge import NexChatCompletionClient, bridge_model
from nex_autogen.capture import Recording, instrument, recording, uninstrument
from nex_autogen.plugin import CAPABILITIES, AutogenAdapter
from nex_autogen.record import Instrumentation

__all__ = [
    "CAPABILITIES",
    "AutogenAdapter",
    "Instrumentation",
    "NexChatCompletionClient",
    "Recording",
    "bridge_model",
    "instrument",
    "recording",
    "uninstrument",
]
