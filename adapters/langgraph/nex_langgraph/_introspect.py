"""Looking inside compiled LangGraph graphs.

Prebuilt agents keep their model and system prompt only in closures of their model node, and an
agent wrapped as a tool is only reachable through the names its function uses. These helpers walk
closures, referenced globals and runnable compositions (bounded, cycle-safe) to find them. They
read; they never call anything.
"""

from __future__ import annotations

import functools
import importlib
import types
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langchain_core.runnables import RunnableBinding, RunnableSequence
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.pregel import Pregel

MAX_DEPTH = 6


def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def _children(obj: Any) -> Iterator[Any]:
    """Objects ``obj`` holds that may hold what we look for."""
    if isinstance(obj, functools.partial):
        yield obj.func
        yield from obj.args
        yield from obj.keywords.values()
        return
    if isinstance(obj, types.MethodType):
        yield obj.__func__
        return
    if isinstance(obj, types.FunctionType):
        for cell in obj.__closure__ or ():
            try:
                yield cell.cell_contents
            except ValueError:  # empty cell
                continue
        module_globals = obj.__globals__
        for name in _code_names(obj.__code__):
            if name in module_globals:
                value = module_globals[name]
                if not isinstance(value, types.ModuleType | type):
                    yield value
        return
    if isinstance(obj, RunnableSequence):
        yield from obj.steps
        return
    if isinstance(obj, RunnableBinding):
        yield obj.bound
        return
    for attr in ("func", "afunc", "coroutine"):
        value = getattr(obj, attr, None)
        if value is not None and not isinstance(obj, Pregel):
            yield value
    if isinstance(obj, list | tuple):
        yield from obj


def search(root: Any, match: Callable[[Any], bool], *, into_graphs: bool = False) -> list[Any]:
    """Objects reachable from ``root`` for which ``match`` holds, breadth first, each once."""
    found: list[Any] = []
    seen: set[int] = {id(root)}
    frontier = [root]
    for _ in range(MAX_DEPTH):
        following: list[Any] = []
        for obj in frontier:
            for child in _children(obj):
                if id(child) in seen or isinstance(child, str | int | float | bool | type(None)):
                    continue
                seen.add(id(child))
                if match(child):
                    found.append(child)
                    continue
                if isinstance(child, Pregel) and not into_graphs:
                    continue
                following.append(child)
        frontier = following
        if not frontier:
            break
    return found


def node_runnable(graph: Any, node: str) -> Any:
    spec = graph.nodes.get(node)
    return getattr(spec, "bound", None) if spec is not None else None


def tool_node(graph: Any) -> ToolNode | None:
    """The graph's ``ToolNode``, whatever its node is called."""
    for name in graph.nodes:
        runnable = node_runnable(graph, name)
        if isinstance(runnable, ToolNode):
            return runnable
    return None


MODEL_NODES = ("model", "agent")
"""Model-node names: ``model`` (``create_agent``), ``agent`` (deprecated ``create_react_agent``)."""


PREBUILT_FACTORIES = ("create_agent.", "create_react_agent.")
"""Qualname prefixes of the model-node functions the prebuilt agent factories define."""


def model_node(graph: Any) -> tuple[str, Any] | None:
    for name in MODEL_NODES:
        runnable = node_runnable(graph, name)
        if runnable is not None and not isinstance(runnable, Pregel):
            func = getattr(runnable, "func", None)
            qualname = getattr(func, "__qualname__", "")
            if qualname.startswith(PREBUILT_FACTORIES):
                return name, runnable
    return None


def is_agent_graph(obj: Any) -> bool:
    """A prebuilt agent: ``create_agent`` or ``create_react_agent`` output."""
    return isinstance(obj, CompiledStateGraph) and model_node(obj) is not None


def system_prompt(graph: Any) -> str | None:
    found = model_node(graph)
    if found is None:
        return None
    hits = search(found[1].func, lambda o: isinstance(o, SystemMessage))
    if not hits:
        return None
    content = hits[0].content
    return content if isinstance(content, str) else str(content)


def response_format(graph: Any) -> Any:
    """The ``response_format`` a ``create_agent`` agent answers in (a ``ToolStrategy``,
    ``ProviderStrategy`` or schema), or ``None``."""
    found = model_node(graph)
    if found is None or "structured_response" not in getattr(graph.builder, "channels", {}):
        return None
    from langchain.agents.structured_output import AutoStrategy, ProviderStrategy, ToolStrategy

    kinds = (AutoStrategy, ToolStrategy, ProviderStrategy)  # AutoStrategy first: what was given
    hits = search(found[1].func, lambda o: isinstance(o, kinds))
    for kind in kinds:
        for hit in hits:
            if isinstance(hit, kind):
                return hit
    return hits[0] if hits else None


def chat_model(graph: Any) -> BaseChatModel | None:
    found = model_node(graph)
    if found is None:
        return None
    hits = search(found[1].func, lambda o: isinstance(o, BaseChatModel))
    return hits[0] if hits else None


def referenced_graphs(func: Any) -> list[Pregel]:
    """Compiled graphs a callable uses (through its closure or the globals it names)."""
    return [g for g in search(func, lambda o: isinstance(o, Pregel)) if isinstance(g, Pregel)]


def import_path(func: Any) -> str | None:
    """``module:qualname`` if importing it gives back ``func`` (or a tool whose ``.func`` it is)."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    if obj is func:
        return f"{module}:{qualname}"
    for attr in ("func", "coroutine"):
        if getattr(obj, attr, None) is func:
            return f"{module}:{qualname}.{attr}"
    return None
