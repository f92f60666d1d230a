"""nex: one protocol and one trajectory record for agents across frameworks."""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports
from nex_core._version import __version__

# The public names, imported on first use (see nex_core/_lazy.py): `import nex_core` stays cheap,
# and a command that needs only the native runtime never pays for the rest.
if _typing.TYPE_CHECKING:
    from nex_core.adapter import (
        Adapter,
        Capability,
        Conversion,
        ConversionReport,
        ReportItem,
        as_task,
    )
    from nex_core.errors import (
        AdapterError,
        ExecutorError,
        ModelError,
        NexError,
        OutputError,
        PluginError,
        ScriptExhausted,
        SpecError,
        StructuredOutputError,
        ToolBindingError,
        ToolFormatError,
        ToolUnavailableError,
        TrajectoryError,
    )
    from nex_core.hookspecs import hookimpl
    from nex_core.models import ChatModel, ReplayModel, ScriptedModel, make_model
    from nex_core.plugins import get_adapter, get_plugin_manager
    from nex_core.protocol import (
        AgentSpec,
        ApprovalRequest,
        CallableBinding,
        ContextMode,
        Decision,
        ImportBinding,
        Limits,
        MCPBinding,
        MCPServerSpec,
        ModelSettings,
        SimulatedBinding,
        SubAgentSpec,
        TeamSpec,
        ToolFormat,
        ToolSpec,
        dump_spec,
        load_spec,
    )
    from nex_core.protocol.binding import bind
    from nex_core.runtime import resume_native, run_native
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
    "ApprovalRequest",
    "CallableBinding",
    "Capability",
    "ChatModel",
    "ContextMode",
    "Conversion",
    "ConversionReport",
    "Decision",
    "ExecutorError",
    "ImportBinding",
    "JSONLSink",
    "Limits",
    "MCPBinding",
    "MCPServerSpec",
    "MemorySink",
    "Message",
    "ModelError",
    "ModelSettings",
    "NexError",
    "OutputError",
    "PluginError",
    "Recorder",
    "ReplayModel",
    "ReportItem",
    "ScriptExhausted",
    "ScriptedModel",
    "SimulatedBinding",
    "SpecError",
    "StructuredOutputError",
    "SubAgentSpec",
    "TaskInfo",
    "TeamSpec",
    "ToolBindingError",
    "ToolCall",
    "ToolFormat",
    "ToolFormatError",
    "ToolSpec",
    "ToolUnavailableError",
    "Trajectory",
    "TrajectoryError",
    "__version__",
    "as_task",
    "bind",
    "dump_spec",
    "get_adapter",
    "get_plugin_manager",
    "hookimpl",
    "iter_trajectories",
    "load_spec",
    "make_model",
    "normalize",
    "resume_native",
    "run_native",
]

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
