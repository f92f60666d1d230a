"""nex: one protocol and one trajectory record for agents across frameworks."""

from nex_core._version import __version__
from nex_core.adapter import Adapter, Capability, Conversion, ConversionReport, ReportItem, as_task
from nex_core.errors import (
    AdapterError,
    ModelError,
    NexError,
    PluginError,
    ScriptExhausted,
    SpecError,
    ToolFormatError,
    TrajectoryError,
)
from nex_core.hookspecs import hookimpl
from nex_core.models import ChatModel, ReplayModel, ScriptedModel, make_model
from nex_core.plugins import get_adapter, get_plugin_manager
from nex_core.protocol import (
    AgentSpec,
    ContextMode,
    MCPServerSpec,
    ModelSettings,
    SubAgentSpec,
    TeamSpec,
    ToolFormat,
    ToolSpec,
    dump_spec,
    load_spec,
)
from nex_core.runtime import run_native
from nex_core.trajectory import (
    JSONLSink,
    MemorySink,
    Message,
    Recorder,
    TaskInfo,
    ToolCall,
    Trajectory,
    iter_trajectories,
    normalize,
)

__all__ = [
    "Adapter",
    "AdapterError",
    "AgentSpec",
    "Capability",
    "ChatModel",
    "ContextMode",
    "Conversion",
    "ConversionReport",
    "JSONLSink",
    "MCPServerSpec",
    "MemorySink",
    "Message",
    "ModelError",
    "ModelSettings",
    "NexError",
    "PluginError",
    "Recorder",
    "ReplayModel",
    "ReportItem",
    "ScriptExhausted",
    "ScriptedModel",
    "SpecError",
    "SubAgentSpec",
    "TaskInfo",
    "TeamSpec",
    "ToolCall",
    "ToolFormat",
    "ToolFormatError",
    "ToolSpec",
    "Trajectory",
    "TrajectoryError",
    "__version__",
    "as_task",
    "dump_spec",
    "get_adapter",
    "get_plugin_manager",
    "hookimpl",
    "iter_trajectories",
    "load_spec",
    "make_model",
    "normalize",
    "run_native",
]
