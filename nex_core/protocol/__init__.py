"""The nex protocol: agents, tools, sub-agents and teams as pydantic models."""

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
    "CallableBinding",
    "ContextMode",
    "ImportBinding",
    "Limits",
    "MCPBinding",
    "MCPServerSpec",
    "ModelSettings",
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
    "spec_from_data",
]
