"""The real tools a generated system may bind to, as the generator sees them and as synth checks
them: each MCP server's tools (listed from the running server) and each import path's function.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from typing import Any

from nex_core.errors import SpecError, ToolBindingError, ToolUnavailableError
from nex_core.protocol.spec import MCPServerSpec
from nex_core.runtime.mcp import MCPPool
from nex_core.synth.config import ToolCatalog

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean",
               list: "array", dict: "object"}  # fmt: skip


@dataclass(frozen=True)
class RealTool:
    """One real tool: how to bind it and what the model is told about it."""

    name: str
    description: str
    parameters: dict[str, Any]
    binding: dict[str, Any]
    """The binding a spec writes for it (``{kind: mcp, server, tool}`` or an import path)."""


@dataclass
class ResolvedCatalog:
    """The catalog with every server's tools listed and every function's schema known."""

    servers: dict[str, MCPServerSpec] = field(default_factory=dict)
    tools: list[RealTool] = field(default_factory=list)

    @property
    def import_paths(self) -> set[str]:
        return {t.binding["path"] for t in self.tools if t.binding.get("kind") == "import"}

    def mcp_tool(self, server: str, tool: str) -> RealTool | None:
        for t in self.tools:
            if t.binding.get("server") == server and t.binding.get("tool") == tool:
                return t
        return None

    def prompt_text(self) -> str:
        """The catalog as the generator's prompt lists it."""
        import json

        if not self.tools:
            return "(no real tools are available: simulate every tool)"
        lines = []
        for t in self.tools:
            lines.append(
                f"- name: {t.name}\n  description: {json.dumps(t.description)}\n"
                f"  parameters: {json.dumps(t.parameters, sort_keys=True)}\n"
                f"  binding: {json.dumps(t.binding, sort_keys=True)}"
            )
        return "\n".join(lines)


async def resolve_catalog(catalog: ToolCatalog, pool: MCPPool) -> ResolvedCatalog:
    """List every MCP server's tools (started in ``pool``, which the dry runs then share) and
    read every function's signature. A server that does not start, or a path that does not
    import, is a :class:`SpecError` naming it: the catalog is the user's input."""
    from nex_core.runtime.tools import import_callable

    resolved = ResolvedCatalog(servers=dict(catalog.mcp_servers))
    pool.add(dict(catalog.mcp_servers))
    for server in catalog.mcp_servers:
        try:
            listed = await pool.list_tools(server)
        except ToolUnavailableError as exc:
            raise SpecError(
                f"tools config: MCP server '{server}' is unavailable: {exc}"
            ) from None
        for tool in listed:
            resolved.tools.append(
                RealTool(
                    name=tool.name,
                    description=tool.description or "",
                    parameters=dict(tool.input_schema),
                    binding={"kind": "mcp", "server": server, "tool": tool.name},
                )
            )
    for entry in catalog.imports:
        try:
            func = import_callable(entry.path)
        except ToolBindingError as exc:
            raise SpecError(f"tools config: {exc}") from None
        resolved.tools.append(
            RealTool(
                name=entry.name or str(getattr(func, "__name__", entry.path.rpartition(":")[2])),
                description=entry.description or inspect.getdoc(func) or "",
                parameters=entry.parameters or schema_from_signature(func),
                binding={"kind": "import", "path": entry.path},
            )
        )
    return resolved


def schema_from_signature(func: Any) -> dict[str, Any]:
    """A JSON Schema of ``func``'s parameters from its type hints (untyped ones accept anything)."""
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable annotations: fall back to none
        hints = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, parameter in inspect.signature(func).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        hint = hints.get(name)
        origin = typing.get_origin(hint) or hint
        json_type = _JSON_TYPES.get(origin) if isinstance(origin, type) else None
        properties[name] = {"type": json_type} if json_type else {}
        if parameter.default is parameter.empty:
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema
