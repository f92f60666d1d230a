"""The nex protocol: agents, tools, sub-agents and teams as pydantic models."""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports

# Imported on first use (nex_core/_lazy.py), so importing one module of the package is cheap.
if _typing.TYPE_CHECKING:
    from nex_core.protocol.approval import ApprovalRequest, Decision, parse_decision
    from nex_core.protocol.loader import dump_spec, load_document, load_spec, spec_from_data
    from nex_core.protocol.spec import (
        SPEC_VERSION,
        AgentSpec,
        CallableBinding,
        ContextMode,
        ImportBinding,
        Limits,
        MCPBinding,
        MCPServerSpec,
        ModelSettings,
        SimulatedBinding,
        SubAgentSpec,
        SystemSpec,
        TeamSpec,
        Termination,
        ToolBinding,
        ToolFormat,
        ToolSpec,
    )

__all__ = [
    "SPEC_VERSION",
    "AgentSpec",
    "ApprovalRequest",
    "CallableBinding",
    "ContextMode",
    "Decision",
    "ImportBinding",
    "Limits",
    "MCPBinding",
    "MCPServerSpec",
    "ModelSettings",
    "SimulatedBinding",
    "SubAgentSpec",
    "SystemSpec",
    "TeamSpec",
    "Termination",
    "ToolBinding",
    "ToolFormat",
    "ToolSpec",
    "dump_spec",
    "load_document",
    "load_spec",
    "parse_decision",
    "spec_from_data",
]

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
