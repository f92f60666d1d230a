"""The public API is what ``nex_core.__all__`` names: no more, no less, each name importable.

Changing this list is an API change: update the test on purpose, never to make it pass.
"""

from __future__ import annotations

import types

import nex_core

PUBLIC = {
    # errors
    "NexError", "SpecError", "TrajectoryError", "PluginError", "AdapterError", "ModelError",
    "ScriptExhausted", "StructuredOutputError", "ToolFormatError", "ToolBindingError",
    "ToolUnavailableError", "OutputError",
    # protocol
    "AgentSpec", "ApprovalRequest", "Decision", "ExecutorError",
    "TeamSpec", "ToolSpec", "SubAgentSpec", "MCPServerSpec", "ModelSettings",
    "ContextMode", "ToolFormat", "load_spec", "dump_spec",
    # tool bindings and limits (binding Python functions is a documented feature)
    "CallableBinding", "ImportBinding", "MCPBinding", "SimulatedBinding", "Limits", "bind",
    # trajectory
    "Trajectory", "Message", "ToolCall", "TaskInfo", "Recorder", "JSONLSink", "MemorySink",
    "iter_trajectories", "normalize",
    # models
    "ChatModel", "ScriptedModel", "ReplayModel", "make_model",
    # runtime and adapters
    "resume_native",
    "run_native", "Adapter", "Capability", "Conversion", "ConversionReport", "ReportItem",
    "as_task",
    # plugins
    "hookimpl", "get_adapter", "get_plugin_manager",
    "__version__",
}  # fmt: skip


def test_all_is_exactly_the_public_api() -> None:
    assert set(nex_core.__all__) == PUBLIC
    assert len(nex_core.__all__) == len(set(nex_core.__all__)), "duplicates in __all__"


def test_all_is_sorted_and_importable() -> None:
    assert list(nex_core.__all__) == sorted(nex_core.__all__)
    for name in nex_core.__all__:
        assert getattr(nex_core, name) is not None, name


def test_nothing_else_is_exported() -> None:
    # Submodules become attributes once imported anywhere; everything else must be in __all__.
    exported = {
        n
        for n in dir(nex_core)
        if not n.startswith("_") and not isinstance(getattr(nex_core, n), types.ModuleType)
    }
    assert exported == set(nex_core.__all__) - {"__version__"}


def test_error_tree() -> None:
    for name in ("SpecError", "TrajectoryError", "PluginError", "AdapterError", "ModelError",
                 "ToolFormatError", "ToolUnavailableError", "OutputError"):  # fmt: skip
        assert issubclass(getattr(nex_core, name), nex_core.NexError)
    assert issubclass(nex_core.ScriptExhausted, nex_core.ModelError)
    assert issubclass(nex_core.ToolBindingError, nex_core.SpecError)


def test_version() -> None:
    assert isinstance(nex_core.__version__, str) and nex_core.__version__[0].isdigit()
