"""Attaching Python functions to the in-process (``callable``) tool bindings of a spec.

A ``CallableBinding`` is serialised as its name (``{kind: callable, ref: NAME}``): the function
itself never reaches YAML, JSON or a spec digest. A spec read from a file, or dumped and read
back, therefore names its functions without holding them; :func:`bind` gives them back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from nex_core.errors import Location, ToolBindingError
from nex_core.protocol.spec import AgentSpec, CallableBinding, TeamSpec

S = TypeVar("S", AgentSpec, TeamSpec)


def bind(spec: S, functions: Mapping[str, Callable[..., Any]]) -> S:
    """A copy of ``spec`` whose callable-bound tools hold the given functions.

    Each key names a binding's ``ref`` (what ``{kind: callable, ref: NAME}`` says) or, failing
    that, the name of a callable-bound tool; every such tool anywhere in the system (sub-agents,
    team members) gets the function. Tools bound by import path or MCP are left as they are, as
    are callable bindings no key names (a function they already hold is kept). ``spec`` itself
    is not changed. A key that names no callable-bound tool, or a value that is not callable,
    is a :class:`~nex_core.errors.ToolBindingError`, so a typo cannot leave a tool unbound.
    """
    problems = [
        (Location(field=name), f"{type(fn).__name__} object is not callable")
        for name, fn in functions.items()
        if not callable(fn)
    ]
    if problems:
        raise ToolBindingError("bind: every value must be a function", problems)
    bindings = _callable_bindings(spec)
    known = {b.ref for _, b in bindings} | {tool for tool, _ in bindings}
    unknown = sorted(set(functions) - known)
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise ToolBindingError(
            f"bind: no callable-bound tool is named {', '.join(map(repr, unknown))} "
            f"(callable bindings and their tools: {names})"
        )
    # Deep copy the spec data, but never the functions: a bound method's object, a closure's
    # state or a client inside a function must stay the caller's own.
    memo: dict[int, Any] = {id(b.func): b.func for _, b in bindings if b.func is not None}
    memo.update({id(fn): fn for fn in functions.values()})
    bound = copy.deepcopy(spec, memo)
    for agent in _agents(bound):
        for tool in agent.tools:
            binding = tool.binding
            if not isinstance(binding, CallableBinding):
                continue
            fn = functions.get(binding.ref, functions.get(tool.name))
            if fn is not None:
                tool.binding = CallableBinding(ref=binding.ref, func=fn)
    return bound


def _agents(spec: AgentSpec | TeamSpec) -> list[AgentSpec]:
    return spec.walk()


def _callable_bindings(spec: AgentSpec | TeamSpec) -> list[tuple[str, CallableBinding]]:
    """Every callable binding of the system, with the name of its tool."""
    return [
        (tool.name, tool.binding)
        for agent in _agents(spec)
        for tool in agent.tools
        if isinstance(tool.binding, CallableBinding)
    ]
