"""Turning tool specs into things the runtime can call, and calling them safely."""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nex_core.errors import Location, NexError, ToolBindingError
from nex_core.protocol.spec import (
    AgentSpec,
    CallableBinding,
    ContextMode,
    ImportBinding,
    MCPBinding,
    MCPServerSpec,
    SimulatedBinding,
    SubAgentSpec,
    TeamSpec,
    ToolSpec,
)
from nex_core.runtime._deadline import within
from nex_core.runtime._fast_schema import certainly_valid
from nex_core.trajectory.schema import ErrorInfo, ToolSchema

if TYPE_CHECKING:
    import jsonschema

ANY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}

SUBAGENT_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"task": {"type": "string", "description": "What the agent should do."}},
    "required": ["task"],
}
"""Arguments of an agent-as-tool: the one message the child receives (as AutoGen's AgentTool)."""

HANDOFF_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


class InvalidArguments(ValueError):
    """Tool arguments are not valid JSON or do not match the tool's schema."""


class UnknownTool(LookupError):
    """The model called a tool the agent does not have."""


@functools.cache
def import_callable(path: str) -> Callable[..., Any]:
    """Resolve ``package.module:attr.path`` to a callable, with an error that says what failed.

    Cached: a run resolves its bindings before it starts (:func:`resolve_bindings`), so a tool's
    first call does not pay for importing its module.
    """
    module_name, _, attr_path = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ToolBindingError(
            f"tool binding '{path}': cannot import module '{module_name}': {exc}"
        ) from None
    except Exception as exc:  # the module's own code failed while importing
        raise ToolBindingError(
            f"tool binding '{path}': importing module '{module_name}' failed: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ToolBindingError(
                f"tool binding '{path}': '{module_name}' has no attribute '{attr_path}'"
            ) from None
    if not callable(obj):
        raise ToolBindingError(f"tool binding '{path}' does not name a callable")
    return obj


def function_of(tool: ToolSpec) -> Callable[..., Any]:
    """The Python callable behind a function-bound tool (import path, in-process callable, or
    the model that plays a simulated tool).

    Raises :class:`ToolBindingError` when it cannot be resolved; MCP-bound tools have none.
    """
    binding = tool.binding
    if isinstance(binding, ImportBinding):
        try:
            return import_callable(binding.path)
        except ToolBindingError as exc:
            raise ToolBindingError(f"tool '{tool.name}': {exc.summary}") from None
    if isinstance(binding, CallableBinding):
        if binding.func is None:
            raise ToolBindingError(
                f"tool '{tool.name}': callable '{binding.ref}' was not supplied (a spec read "
                "from a file holds only its name; attach the function with "
                f"nex_core.bind(spec, {{{binding.ref!r}: function}}))"
            )
        return binding.func
    if isinstance(binding, SimulatedBinding):
        from nex_core.runtime.simulated import simulated_function

        return simulated_function(tool)
    raise ToolBindingError(
        f"tool '{tool.name}' is served by MCP server '{binding.server}' and has no Python callable"
    )


def resolve_bindings(spec: AgentSpec | TeamSpec, *, check_mcp_servers: bool = True) -> None:
    """Resolve every tool binding of ``spec`` before it runs, or raise one
    :class:`ToolBindingError` naming each tool that cannot be bound.

    Import paths are imported (once: :func:`import_callable` caches them, so no tool call counts
    a module import as its latency), in-process callables must be attached, and an MCP binding
    must name a server the system declares. ``check_mcp_servers=False`` skips that last check
    when the run's MCP pool comes from outside the spec (a GAP config's servers). A binding that
    cannot be resolved is a configuration error: every backend fails the run with it before
    the first model call.
    """
    agents = spec.walk()
    servers = {name for agent in agents for name in agent.mcp_servers}
    problems: list[str] = []
    seen: set[int] = set()
    for agent in agents:
        if id(agent) in seen:
            continue
        seen.add(id(agent))
        for tool in agent.tools:
            binding = tool.binding
            if isinstance(binding, MCPBinding):
                if check_mcp_servers and binding.server not in servers:
                    known = ", ".join(sorted(servers)) or "none"
                    problems.append(
                        f"agent '{agent.name}', tool '{tool.name}': MCP server "
                        f"'{binding.server}' is not declared in mcp_servers (declared: {known})"
                    )
                continue
            try:
                function_of(tool)
            except ToolBindingError as exc:
                problems.append(f"agent '{agent.name}', {exc.summary}")
    if len(problems) == 1:
        raise ToolBindingError(problems[0])
    if problems:
        raise ToolBindingError(
            f"{len(problems)} tool bindings cannot be resolved",
            [(Location(), p) for p in problems],
        )


def bound_import_tool(
    binding: str, *, name: str, description: str = "", parameters: dict[str, Any] | None = None
) -> ToolSpec:
    """The spec of a tool bound to the function at ``binding``, resolved now: a binding that
    cannot be resolved is a ToolBindingError naming the tool once (generated programs build
    their tools with this before the first model call, as every backend does)."""
    spec = ToolSpec(
        name=name,
        description=description,
        parameters=parameters,
        binding=ImportBinding(path=binding),
    )
    try:
        function_of(spec)
    except NexError as exc:
        text = str(exc).removeprefix(f"tool '{name}': ")
        raise ToolBindingError(f"tool '{name}' cannot be bound: {text}") from None
    return spec


def bound_mcp_tool(
    servers: Mapping[str, MCPServerSpec],
    *,
    name: str,
    server: str,
    tool: str | None = None,
    description: str = "",
    parameters: dict[str, Any] | None = None,
) -> ToolSpec:
    """The spec of a tool served by ``server``, which must be one of ``servers``."""
    if server not in servers:
        known = ", ".join(sorted(servers)) or "none"
        raise ToolBindingError(
            f"tool '{name}' cannot be bound: no MCP server '{server}' (declared: {known})"
        )
    binding = MCPBinding(server=server, tool=tool)
    return ToolSpec(name=name, description=description, parameters=parameters, binding=binding)


def describe_error(error: ErrorInfo) -> str:
    """The text a failed tool call returns to the model (the same in every framework)."""
    return f"Error: {error.type}: {error.message}"


def result_text(value: Any) -> str:
    """The text a tool result returns to the model."""
    if isinstance(value, str):
        return value
    return _result_json(value)


# json.dumps with keywords builds an encoder per call (a third of its time on a small result);
# the encoder keeps no state between calls, so one serves every call and thread.
_result_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


@functools.lru_cache(maxsize=512)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    # Imported on first use: jsonschema (with referencing and its format checkers) is a
    # quarter of a second of start-up, and a run whose arguments pass the quick check never
    # needs it.
    import jsonschema

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


_Quick = Callable[[dict[str, Any]], bool] | None


@dataclass
class _Checks:
    """What validates one schema: the quick check, and jsonschema's validator once needed."""

    schema: dict[str, Any]
    quick: _Quick
    full: jsonschema.protocols.Validator | None = None

    def validator(self) -> jsonschema.protocols.Validator:
        if self.full is None:
            self.full = _validator(json.dumps(self.schema, sort_keys=True))
        return self.full


_by_identity: dict[int, _Checks] = {}


def _checks_for(schema: dict[str, Any]) -> _Checks:
    # A run validates every call against the same few schema objects (never mutated while it
    # runs): look them up by identity first, so the hot path does not look at the schema again.
    hit = _by_identity.get(id(schema))
    if hit is not None and hit.schema is schema:
        return hit
    if len(_by_identity) > 1024:
        _by_identity.clear()
    checks = _by_identity[id(schema)] = _Checks(schema, certainly_valid(schema))
    return checks


def validate_arguments(arguments: dict[str, Any], schema: dict[str, Any] | None) -> None:
    validate_value(arguments, schema)


def validate_value(value: Any, schema: dict[str, Any] | None, root: str = "(arguments)") -> None:
    """Raise :class:`InvalidArguments` naming the first problem of ``value`` under ``schema``
    (its path, ``root`` for the value itself)."""
    if not schema:
        return
    checks = _checks_for(schema)
    if checks.quick is not None and isinstance(value, dict) and checks.quick(value):
        return
    # Only here is jsonschema needed (and imported): for a schema the quick check does not
    # know, and for values it does not pass, whose error message jsonschema writes.
    validator = checks.validator()
    if validator.is_valid(value):
        return
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or root
        raise InvalidArguments(f"{where}: {first.message}")


@dataclass
class ToolHandle:
    """A tool an agent offers, however it is implemented."""

    kind: Literal["function", "mcp", "subagent", "handoff"]
    schema: ToolSchema
    timeout_s: float | None
    tool: ToolSpec | None = None
    sub_agent: SubAgentSpec | None = None
    _func: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    _is_async: bool = field(default=False, repr=False, compare=False)

    async def call_function(self, arguments: dict[str, Any]) -> Any:
        """Run a function-bound tool (sync callables in a worker thread) under its timeout."""
        assert self.tool is not None
        binding = self.tool.binding
        # Looked up on every call (a callable may be attached again between runs), the common
        # binding first by its exact type: isinstance on pydantic's ABC metaclass is slower.
        if type(binding) is CallableBinding and binding.func is not None:
            func = binding.func
        else:
            func = function_of(self.tool)
        if self._func is not func:  # asked once per callable, not per call
            self._func, self._is_async = func, inspect.iscoroutinefunction(func)
        if self._is_async:  # its timer armed only if it suspends (``_deadline``)
            return await within(func(**arguments), self.timeout_s)
        # asyncio.timeout rather than wait_for: the same TimeoutError, without a task per call.
        async with asyncio.timeout(self.timeout_s):
            return await asyncio.to_thread(func, **arguments)


def tool_handles(agent: AgentSpec) -> dict[str, ToolHandle]:
    """Every tool ``agent`` offers, keyed by the name the model uses (MCP schemas not filled)."""
    handles: dict[str, ToolHandle] = {}
    default_timeout = agent.limits.tool_timeout_s
    for tool in agent.tools:
        kind: Literal["function", "mcp"] = (
            "mcp" if isinstance(tool.binding, MCPBinding) else "function"
        )
        handles[tool.name] = ToolHandle(
            kind=kind,
            schema=ToolSchema(
                name=tool.name,
                description=tool.description,
                parameters=tool.parameters if tool.parameters is not None else ANY_OBJECT,
            ),
            timeout_s=tool.timeout_s or default_timeout,
            tool=tool,
        )
    for sub in agent.sub_agents:
        name = sub.resolved_tool_name()
        child = sub.child
        if sub.mode is ContextMode.HANDOFF:
            description = (
                sub.description
                or f"Hand the conversation over to {child.name}. {child.description}".strip()
            )
            params = HANDOFF_PARAMETERS
            kind2: Literal["subagent", "handoff"] = "handoff"
        else:
            description = sub.description or child.description or f"Ask the agent {child.name}."
            params = SUBAGENT_PARAMETERS
            kind2 = "subagent"
        handles[name] = ToolHandle(
            kind=kind2,
            schema=ToolSchema(name=name, description=description, parameters=params),
            timeout_s=None,
            sub_agent=sub,
        )
    return handles
