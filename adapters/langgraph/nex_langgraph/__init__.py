"""nex-langgraph: LangGraph graphs as nex specs and back, every run recorded, any nex model bridged.

from nex_langgraph import to_spec, from_spec, arun, arecord, bridge_model
with nex_langgraph.recording(sinks) as rec: ...   # record the app's own calls, unchanged
"""

from typing import Any

from nex_core import AgentSpec, ChatModel, TeamSpec
from nex_langgraph._approval import ApprovalMiddleware, ToolCallRejected
from nex_langgraph._bridge import NexChatModel, bridge_model
from nex_langgraph._build import build_graph as _build_graph
from nex_langgraph._capture import Recording, instrument, recording, uninstrument
from nex_langgraph._codegen import to_code
from nex_langgraph._convert import to_spec
from nex_langgraph._errors import MaxStepsExceeded
from nex_langgraph._recording import NexCallbackHandler
from nex_langgraph._resume import aresume
from nex_langgraph._run import arecord, arun, record, run
from nex_langgraph._version import __version__
from nex_langgraph.adapter import LangGraphAdapter


def from_spec(spec: AgentSpec | TeamSpec, *, model: ChatModel, checkpointer: Any = None) -> Any:
    """A compiled LangGraph graph built from a nex spec, driven by the nex ``model``."""
    return _build_graph(spec, model, checkpointer=checkpointer)


__all__ = [
    "ApprovalMiddleware",
    "LangGraphAdapter",
    "MaxStepsExceeded",
    "NexCallbackHandler",
    "NexChatModel",
    "Recording",
    "ToolCallRejected",
    "__version__",
    "arecord",
    "aresume",
    "arun",
    "bridge_model",
    "from_spec",
    "instrument",
    "record",
    "recording",
    "run",
    "to_code",
    "to_spec",
    "uninstrument",
]
