"""The trajectory schema, its recorder, sinks, reader and normal form."""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports

# Imported on first use (nex_core/_lazy.py), so importing one module of the package is cheap.
if _typing.TYPE_CHECKING:
    from nex_core.trajectory.normalize import digest, normalize
    from nex_core.trajectory.reader import BadLine, iter_trajectories, read_trajectories
    from nex_core.trajectory.recorder import Recorder, current_parent_id, current_recorder
    from nex_core.trajectory.schema import (
        READABLE_VERSIONS,
        TRAJECTORY_VERSION,
        ErrorInfo,
        FunctionCall,
        InputStep,
        LLMRequest,
        LLMResponse,
        LLMStep,
        Message,
        Outcome,
        OutcomeStatus,
        Provenance,
        Step,
        StepStatus,
        SubAgentStep,
        TaskInfo,
        Tokens,
        ToolCall,
        ToolSchema,
        ToolStep,
        TopLogprobs,
        Trajectory,
        Usage,
    )
    from nex_core.trajectory.sinks import JSONLSink, MemorySink, TrajectorySink

__all__ = [
    "READABLE_VERSIONS",
    "TRAJECTORY_VERSION",
    "BadLine",
    "ErrorInfo",
    "FunctionCall",
    "InputStep",
    "JSONLSink",
    "LLMRequest",
    "LLMResponse",
    "LLMStep",
    "MemorySink",
    "Message",
    "Outcome",
    "OutcomeStatus",
    "Provenance",
    "Recorder",
    "Step",
    "StepStatus",
    "SubAgentStep",
    "TaskInfo",
    "Tokens",
    "ToolCall",
    "ToolSchema",
    "ToolStep",
    "TopLogprobs",
    "Trajectory",
    "TrajectorySink",
    "Usage",
    "current_parent_id",
    "current_recorder",
    "digest",
    "iter_trajectories",
    "normalize",
    "read_trajectories",
]

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
