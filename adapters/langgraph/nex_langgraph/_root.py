"""The top graph call of a hooked session, recorded by its wrapper, not by a callback handler.

Every hooked graph call reports its start, output and error to the session's handler (its
callbacks would have). A nested call does so through a handler local to its run
(``_hooks._GraphRun``) in its config. For the session's top call that costs: LangGraph merges
the run's config into every task's config, and a callback manager there is copied each time
(``merge_configs``; ≈ 23 copies in a 10-round agent run) only to be replaced by the task's own
child manager; a bare top call's config has none. So the wrapper (``_capture``'s ``invoke``,
``ainvoke``, ``stream`` and ``astream``) logs the very events the handler would have logged —
the run's start (the name LangGraph gives the run, its input), its end with the graph's output,
or its error — and passes the config on as given.

The output LangGraph reports at a run's end is its output channels read when the run exits
(``loop.output``). The wrapper sees the last ``values`` chunk instead: what ``invoke`` returns,
the last ``("values", state)`` of a stream. The two are equal when every output channel changes
only when written (``LastValue``, ``BinaryOperatorAggregate``: a step that writes no output
channel leaves them as the last chunk read them; an ``EphemeralValue`` is cleared by a step
that does not write it, with no chunk emitted), once the interrupts a chunk carries are taken
out. The call runs the wrapper's way only then: a top-level run (not inside another graph's
task), of such channels, with the stream modes and options whose chunks are known here.
Anything else (``subgraphs``, ``version="v2"``, a tuple of stream modes, an ephemeral output
channel such as ``create_agent``'s ``jump_to`` among a stream's channels) keeps the local handler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.utils.uuid import uuid7 as _new_id

# LangGraph's own names for the config key a task's config carries and the interrupts' key in
# a chunk: private, so a version that moves them fails at import, in the adapter's tests.
from langgraph._internal._constants import CONFIG_KEY_TASK_ID, INTERRUPT
from langgraph.channels.binop import BinaryOperatorAggregate
from langgraph.channels.last_value import LastValue

from nex_langgraph._hooks import (
    _BEGIN,
    Hooked,
    _chain_ended,
    _chain_failed,
    _chain_started,
    _event,
    active,
)
from nex_langgraph._recording import NexCallbackHandler

_STABLE = (LastValue, BinaryOperatorAggregate)
"""Channels whose value changes only when a step writes them (exact types)."""
_OPTIONS = frozenset({"output_keys", "context", "durability", "control"})
"""Keywords of ``invoke`` and ``stream`` whose values leave a run's output its last ``values``
chunk (``output_keys`` picks the channels both read)."""
_DEFAULTS: dict[str, Any] = {
    "print_mode": (),
    "interrupt_before": None,
    "interrupt_after": None,
    "subgraphs": False,
    "version": "v1",
    "debug": None,
}
"""Other keywords, as if not given when they have LangGraph's default (``invoke`` passes them
on to its stream so)."""
_INVOKE_DEFAULTS = {**_DEFAULTS, "stream_mode": "values"}
_STREAM_OPTIONS = _OPTIONS | {"stream_mode"}
"""A stream's modes are read by :func:`streamed`."""


def _plain(kwargs: dict[str, Any], options: frozenset[str], defaults: dict[str, Any]) -> bool:
    for key, value in kwargs.items():
        if key in options:
            continue
        if key not in defaults or (value is not defaults[key] and value != defaults[key]):
            return False
    return True


def _top_level(config: Any) -> bool:
    """Not run as another graph's task (whose checkpoint, namespace and output differ)."""
    for source in (config, var_child_runnable_config.get()):
        if source and CONFIG_KEY_TASK_ID in (source.get("configurable") or ()):
            return False
    return True


def _stable(graph: Any, keys: Any) -> bool:
    if isinstance(keys, str) or not keys:
        return False  # one channel's value as output (its emptiness reads differently)
    channels = graph.channels
    return all(type(channels.get(key)) in _STABLE for key in keys)


def _run_name(graph: Any, config: Any) -> str:
    """``config.get("run_name", graph.get_name())`` of the config LangGraph's stream makes
    (``ensure_config(graph.config, config)`` over the context's config: later ones win)."""
    for source in (config, graph.config, var_child_runnable_config.get()):
        if source:
            name = source.get("run_name")
            if name is not None:
                return str(name)
    return str(graph.get_name())


def _output(value: Any) -> Any:
    """The run's output from its last ``values`` chunk (none: nothing was written to them)."""
    if value is None:
        return {}
    if type(value) is dict and INTERRUPT in value:
        return {k: v for k, v in value.items() if k != INTERRUPT}
    return value


def invoked(
    handler: NexCallbackHandler, graph: Any, value: Any, config: Any, kwargs: dict[str, Any]
) -> Hooked | None:
    """The hooked run of a top ``invoke``/``ainvoke`` with its start logged, or ``None`` when
    the call is not one the wrapper records (it then gets the local handler)."""
    if active.get() is not None or not _plain(kwargs, _OPTIONS, _INVOKE_DEFAULTS):
        return None
    keys = kwargs.get("output_keys")
    if not _stable(graph, graph.output_channels if keys is None else keys):
        return None
    if not _top_level(config):
        return None
    return _started(handler, graph, value, config)


def _started(handler: NexCallbackHandler, graph: Any, value: Any, config: Any) -> Hooked:
    run_id = _new_id()
    given = {"parent_run_id": None, "name": _run_name(graph, config)}
    _event(handler, _BEGIN, _chain_started, (handler, None, value, run_id, given))
    return Hooked(handler, run_id)


def ended(hooked: Hooked, result: Any) -> None:
    """A top ``invoke`` returned ``result`` (its last ``values`` chunk)."""
    handler = hooked.handler
    _event(handler, hooked.parent, _chain_ended, (handler, _output(result), hooked.parent))


def failed(hooked: Hooked, error: BaseException) -> None:
    handler = hooked.handler
    _event(handler, hooked.parent, _chain_failed, (handler, error, hooked.parent))


def streamed(graph: Any, config: Any, kwargs: dict[str, Any]) -> bool | None:
    """For a top ``stream``/``astream`` the wrapper records: whether its chunks are the values
    themselves (``True``) or ``(mode, payload)`` pairs (``False``); ``None`` if not one."""
    if active.get() is not None or not _plain(kwargs, _STREAM_OPTIONS, _DEFAULTS):
        return None
    if not _top_level(config):
        return None
    mode = kwargs.get("stream_mode")
    if mode is None:
        mode = graph.stream_mode  # a top-level call's default
    if mode == "values":
        single = True
    elif isinstance(mode, list) and "values" in mode:
        single = False  # LangGraph pairs a chunk with its mode for a list of modes only
    else:
        return None  # the output never shows (or shows unpaired, for a tuple of modes)
    keys = kwargs.get("output_keys")
    return single if _stable(graph, graph.stream_channels_asis if keys is None else keys) else None


def _values(chunk: Any, single: bool, last: Any) -> Any:
    if single:
        return chunk
    if type(chunk) is tuple and len(chunk) == 2 and chunk[0] == "values":
        return chunk[1]
    return last


def stream(
    inner: Iterator[Any],
    handler: NexCallbackHandler,
    graph: Any,
    value: Any,
    config: Any,
    single: bool,
) -> Iterator[Any]:
    """``inner`` (the graph's own stream) with every chunk computed inside the run, whose
    start is logged when the first chunk is asked for (as LangGraph's stream starts it), and
    whose end or error when the stream ends."""
    hooked = _started(handler, graph, value, config)
    last: Any = None
    done = False
    try:
        while True:
            token = active.set(hooked)
            try:
                chunk = next(inner)
            except StopIteration:
                done = True
                break
            except BaseException as exc:
                done = True
                failed(hooked, exc)
                raise
            finally:
                active.reset(token)
            last = _values(chunk, single, last)
            yield chunk
    finally:
        if not done:  # closed (or thrown into) between chunks: LangGraph's stream is closed
            close = getattr(inner, "close", None)
            if close is not None:
                close()
            failed(hooked, GeneratorExit())
    ended(hooked, last)


async def astream(
    inner: AsyncIterator[Any],
    handler: NexCallbackHandler,
    graph: Any,
    value: Any,
    config: Any,
    single: bool,
) -> AsyncIterator[Any]:
    hooked = _started(handler, graph, value, config)
    last: Any = None
    done = False
    try:
        while True:
            token = active.set(hooked)
            try:
                chunk = await inner.__anext__()
            except StopAsyncIteration:
                done = True
                break
            except BaseException as exc:
                done = True
                failed(hooked, exc)
                raise
            finally:
                active.reset(token)
            last = _values(chunk, single, last)
            yield chunk
    finally:
        if not done:
            close = getattr(inner, "aclose", None)
            if close is not None:
                await close()
            failed(hooked, GeneratorExit())
    ended(hooked, last)
