"""Recording without LangChain's callback manager: hooks at the model, tool and graph boundary.

A LangChain callback handler is called for every run of a graph — each node, each channel write,
each internal runnable — and LangChain's dispatch to it costs about as much as the recording
itself. A recorded run needs only three kinds of events: a model call, a tool call and an agent's
graph starting and ending. While a capture is installed (see ``_capture``), these are hooked:

* ``BaseChatModel.generate``/``agenerate`` (every ``invoke``, ``ainvoke``, ``batch`` and stream
  mode of a chat model goes through one of them) and ``BaseTool.run``/``arun``;
* every graph call (``Pregel.stream``/``astream``, wrapped by ``_capture``) gets a handler local
  to its own run (not inherited by its nodes), which reports the graph's start, output and error.

The hooks feed the session's :class:`~nex_langgraph._recording.NexCallbackHandler` the very
events, with the very arguments, its callbacks would have had, so both paths record alike. The
run tree (which agent a call belongs to, under which step it nests) comes from a context
variable the hooks set around what runs inside them, instead of LangChain's ``parent_run_id``.
A hook does nothing unless that context variable holds a session's handler, so models and tools
used outside a hooked session (or by another thread) run exactly as before.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextvars import ContextVar
from time import perf_counter
from typing import Any, NamedTuple
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager, CallbackManager
from langchain_core.language_models import BaseChatModel

# What on_chat_model_start is given (image and file blocks in the OpenAI shape): private to
# langchain-core, so a version that moves it fails at import, in the adapter's tests.
from langchain_core.language_models.chat_models import _format_for_tracing
from langchain_core.runnables.config import ensure_config
from langchain_core.tools import BaseTool
from langchain_core.utils.uuid import uuid7 as _new_id  # LangChain's (time-ordered) run ids

from nex_core.trajectory.schema import ToolStep, utcnow
from nex_langgraph._recording import HANDOFF_DESTINATION, NexCallbackHandler


class Hooked(NamedTuple):
    """Who records the calls made here, and the run (LangChain's id space) they nest under."""

    handler: NexCallbackHandler
    parent: Hashable | None
    """A LangChain run id (a model call's, a graph's) or a hooked tool run's key."""


active: ContextVar[Hooked | None] = ContextVar("nex_langgraph_hooked", default=None)

_GENERATE_OPTIONS = frozenset(
    {
        "tags",
        "metadata",
        "run_name",
        "run_id",
        "ls_structured_output_format",
        "structured_output_format",
    }
)
"""``generate`` keywords that are not invocation parameters (as ``generate`` pops them)."""


class _Result(NamedTuple):
    """The part of an ``LLMResult`` the handler reads: one prompt's generations."""

    generations: list[list[Any]]


# --------------------------------------------------------------------------- the event log

_BEGIN: Any = object()
"""The ``run`` of an event that opens a run (every other event names the run it ends)."""


def _event(handler: NexCallbackHandler, run: Any, record: Callable[..., None], args: Any) -> None:
    """``record(*args)`` now, or, while the handler defers (a hooked session), later.

    Recording a step costs several times more between two pieces of the framework's work (the
    processor's caches hold the framework's code and data then) than in a loop over a run's
    steps. A hooked session's handler keeps each event — references to what the framework
    passed, the wall and monotonic clocks at the event — and :func:`flush` replays them in order
    through the very same handler methods, before anything else reads or writes the run's
    steps. Only the clocks are the event's own: the steps get the times the events had."""
    log = handler.deferred
    if log is None:
        record(*args)
    else:
        log.append((record, args, run, utcnow(), perf_counter()))


def flush(handler: NexCallbackHandler) -> None:
    """Record the events ``handler`` deferred, in order, with the times they had."""
    log = handler.deferred
    if not log:
        return
    handler.deferred = []
    steps = handler.recorder.trajectory.steps
    runs = handler.open_runs()
    began = handler.began
    # The recorder has set every field written here (``started_at`` when it began the step,
    # ``ended_at`` and a tool's ``latency_ms`` when it ended it), so each is only overwritten
    # in the record's dict: its fields-set already holds the name.
    for record, args, run, at, perf in log:
        if run is _BEGIN:
            count = len(steps)
            record(*args)
            if len(steps) > count:  # the run opened a step (one at most)
                step = steps[count]
                step.__dict__["started_at"] = at
                began[step.id] = perf
            continue
        opened = runs.get(run)
        closing = opened.step if opened is not None else None
        record(*args)
        if closing is not None and closing.ended_at is not None:
            fields = closing.__dict__
            fields["ended_at"] = at
            start = began.pop(closing.id, None)
            if start is not None and type(closing) is ToolStep:
                fields["latency_ms"] = (perf - start) * 1e3


# --------------------------------------------------------------------------- models


def _model_starts(
    hooked: Hooked, model: BaseChatModel, messages: list[list[Any]], stop: Any, kwargs: Any
) -> list[UUID]:
    handler = hooked.handler
    ids = []
    for i, prompt in enumerate(messages):
        # The caller's run id names the first prompt's run, as LangChain names it.
        given = kwargs.get("run_id") if i == 0 else None
        run_id = given if isinstance(given, UUID) else _new_id()
        _event(
            handler,
            _BEGIN,
            _model_started,
            (handler, run_id, hooked.parent, model, prompt, stop, kwargs),
        )
        ids.append(run_id)
    return ids


def _model_started(
    handler: NexCallbackHandler,
    run_id: UUID,
    parent: Hashable | None,
    model: BaseChatModel,
    prompt: list[Any],
    stop: Any,
    kwargs: dict[str, Any],
) -> None:
    params = handler.model_params(model, stop, kwargs, _GENERATE_OPTIONS)
    # Formatted for tracing as the callbacks get it, once per message (not once per call).
    handler.llm_started(run_id, parent, prompt, params, _format_for_tracing)


def _model_ends(hooked: Hooked, ids: list[UUID], result: Any) -> None:
    handler = hooked.handler
    for run_id, generations in zip(ids, result.generations, strict=False):
        # create_agent renames the answer once the call is over: the name it has now is the
        # one recorded, whenever the event is replayed.
        name = generations[0].message.name if generations else None
        _event(handler, run_id, _model_ended, (handler, run_id, generations, name))


def _model_ended(
    handler: NexCallbackHandler, run_id: UUID, generations: list[Any], name: str | None
) -> None:
    handler.llm_ended(run_id, _Result([generations]), name)


def _model_failed(hooked: Hooked, ids: list[UUID], error: BaseException) -> None:
    handler = hooked.handler
    for run_id in ids:
        _event(handler, run_id, _llm_failed, (handler, run_id, error))


def _llm_failed(handler: NexCallbackHandler, run_id: UUID, error: BaseException) -> None:
    handler.on_llm_error(error, run_id=run_id)


def _generate(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def generate(
        self: BaseChatModel, messages: Any, stop: Any = None, *args: Any, **kw: Any
    ) -> Any:
        hooked = active.get()
        if hooked is None or hooked.handler.finished:
            return original(self, messages, stop, *args, **kw)
        ids = _model_starts(hooked, self, messages, stop, kw)
        if len(ids) == 1:
            kw["run_id"] = ids[0]
        try:
            result = original(self, messages, stop, *args, **kw)
        except BaseException as exc:
            _model_failed(hooked, ids, exc)
            raise
        _model_ends(hooked, ids, result)
        return result

    return generate


def _agenerate(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def agenerate(
        self: BaseChatModel, messages: Any, stop: Any = None, *args: Any, **kw: Any
    ) -> Any:
        hooked = active.get()
        if hooked is None or hooked.handler.finished:
            return await original(self, messages, stop, *args, **kw)
        ids = _model_starts(hooked, self, messages, stop, kw)
        if len(ids) == 1:
            kw["run_id"] = ids[0]
        try:
            result = await original(self, messages, stop, *args, **kw)
        except BaseException as exc:
            _model_failed(hooked, ids, exc)
            raise
        _model_ends(hooked, ids, result)
        return result

    return agenerate


# --------------------------------------------------------------------------- tools


_tool_keys = itertools.count()
"""Keys of hooked tool runs in the handler's run tree. A tool's LangChain run id is recorded
nowhere, so the hook leaves LangChain to name the run as it does unhooked and keys its own record
of the run with a counter (``next`` on it is atomic), not a second UUID."""


def _tool_start(hooked: Hooked, tool: BaseTool, tool_input: Any, kw: dict[str, Any]) -> int:
    """Open the tool's run (as ``on_tool_start`` would see it); what runs inside nests under it."""
    key = next(_tool_keys)
    handler = hooked.handler
    # A dict input is the model's tool call's arguments: copied, so that a tool changing its
    # own arguments changes nothing recorded when the event is replayed.
    given = dict(tool_input) if type(tool_input) is dict else tool_input
    _event(handler, _BEGIN, _tool_started, (handler, key, hooked.parent, tool, given, kw))
    return key


def _tool_started(
    handler: NexCallbackHandler,
    key: int,
    parent: Hashable | None,
    tool: BaseTool,
    tool_input: Any,
    kw: dict[str, Any],
) -> None:
    call_id = kw.get("tool_call_id")
    if handler.knows_call(call_id):
        # The arguments are the model's tool call's (the handler reads them from there): the
        # tool's own view of its input, costly to compute, would not be used.
        inputs, given = None, ""
    else:
        inputs = tool._filter_injected_args(tool_input) if isinstance(tool_input, dict) else None
        given = tool_input if isinstance(tool_input, str) else str(inputs or tool_input)
    # The handoff destination, as the callbacks read it from the run's metadata (the tool's
    # own metadata over the call's), without merging the two.
    destination = (tool.metadata or {}).get(HANDOFF_DESTINATION)
    if destination is None:
        destination = (kw.get("metadata") or {}).get(HANDOFF_DESTINATION)
    handler.tool_started(
        key,
        parent,
        kw.get("run_name") or tool.name,
        call_id,
        inputs,
        given,
        str(destination) if destination else None,
    )


def _tool_ends(hooked: Hooked, key: int, output: Any) -> None:
    handler = hooked.handler
    _event(handler, key, handler.tool_ended, (key, output))


def _tool_fails(hooked: Hooked, key: int, error: BaseException) -> None:
    handler = hooked.handler
    _event(handler, key, handler.tool_failed, (key, error))


def _run(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def run(self: BaseTool, tool_input: Any, *args: Any, **kw: Any) -> Any:
        hooked = active.get()
        if hooked is None or hooked.handler.finished:
            return original(self, tool_input, *args, **kw)
        key = _tool_start(hooked, self, tool_input, kw)
        token = active.set(Hooked(hooked.handler, key))
        try:
            output = original(self, tool_input, *args, **kw)
        except BaseException as exc:
            _tool_fails(hooked, key, exc)
            raise
        finally:
            active.reset(token)
        _tool_ends(hooked, key, output)
        return output

    return run


def _arun(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def arun(self: BaseTool, tool_input: Any, *args: Any, **kw: Any) -> Any:
        hooked = active.get()
        if hooked is None or hooked.handler.finished:
            return await original(self, tool_input, *args, **kw)
        key = _tool_start(hooked, self, tool_input, kw)
        token = active.set(Hooked(hooked.handler, key))
        try:
            output = await original(self, tool_input, *args, **kw)
        except BaseException as exc:
            _tool_fails(hooked, key, exc)
            raise
        finally:
            active.reset(token)
        _tool_ends(hooked, key, output)
        return output

    return arun


# --------------------------------------------------------------------------- graphs


class _GraphRun(BaseCallbackHandler):
    """A handler local to one graph call: its start, end and error, re-addressed into the
    hooked run tree (its id ``run_id``, its parent the hooked run it was called from)."""

    run_inline = True
    raise_error = False

    def __init__(self, hooked: Hooked, run_id: UUID) -> None:
        self.handler = hooked.handler
        self.parent = hooked.parent
        self.run_id = run_id
        self.own: UUID | None = None

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
        if self.own is None:
            self.own = run_id
            kw["parent_run_id"] = self.parent
            _event(
                self.handler,
                _BEGIN,
                _chain_started,
                (self.handler, serialized, inputs, self.run_id, kw),
            )

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        if run_id == self.own:
            _event(self.handler, self.run_id, _chain_ended, (self.handler, outputs, self.run_id))

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        if run_id == self.own:
            _event(self.handler, self.run_id, _chain_failed, (self.handler, error, self.run_id))


def _chain_started(
    handler: NexCallbackHandler, serialized: Any, inputs: Any, run_id: UUID, kw: dict[str, Any]
) -> None:
    handler.on_chain_start(serialized, inputs, run_id=run_id, **kw)


def _chain_ended(handler: NexCallbackHandler, outputs: Any, run_id: UUID) -> None:
    handler.on_chain_end(outputs, run_id=run_id)


def _chain_failed(handler: NexCallbackHandler, error: BaseException, run_id: UUID) -> None:
    handler.on_chain_error(error, run_id=run_id)


def _with_local(config: Any, handler: BaseCallbackHandler) -> dict[str, Any]:
    """The call's config with ``handler`` for this run only (its nodes do not inherit it)."""
    out = dict(config or {})
    callbacks = out["callbacks"] if "callbacks" in out else ensure_config(None).get("callbacks")
    if isinstance(callbacks, BaseCallbackManager):
        manager = callbacks.copy()
        manager.add_handler(handler, inherit=False)
    else:
        inherited = list(callbacks or ())
        manager = CallbackManager(handlers=[*inherited, handler], inheritable_handlers=inherited)
    out["callbacks"] = manager
    return out


def graph_call(handler: NexCallbackHandler, config: Any) -> tuple[Hooked, dict[str, Any]]:
    """A graph call's hooked run (what runs inside it nests under) and its config."""
    outer = active.get()
    hooked = Hooked(handler, outer.parent if outer is not None else None)
    run_id = _new_id()
    return Hooked(handler, run_id), _with_local(config, _GraphRun(hooked, run_id))


def stream(inner: Iterator[Any], hooked: Hooked) -> Iterator[Any]:
    """``inner`` with every chunk computed inside ``hooked``."""
    try:
        while True:
            token = active.set(hooked)
            try:
                chunk = next(inner)
            except StopIteration:
                return
            finally:
                active.reset(token)
            yield chunk
    finally:
        close = getattr(inner, "close", None)
        if close is not None:
            close()


async def astream(inner: AsyncIterator[Any], hooked: Hooked) -> AsyncIterator[Any]:
    """``inner`` with every chunk computed inside ``hooked``."""
    try:
        while True:
            token = active.set(hooked)
            try:
                chunk = await inner.__anext__()
            except StopAsyncIteration:
                return
            finally:
                active.reset(token)
            yield chunk
    finally:
        close = getattr(inner, "aclose", None)
        if close is not None:
            await close()


# --------------------------------------------------------------------------- installing

_lock = threading.Lock()
_originals: dict[tuple[type, str], Any] = {}
_WRAPPERS: tuple[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]], ...] = (
    (BaseChatModel, "generate", _generate),
    (BaseChatModel, "agenerate", _agenerate),
    (BaseTool, "run", _run),
    (BaseTool, "arun", _arun),
)


def install() -> None:
    """Put the hooks in place (``_capture`` counts its users and calls this once)."""
    with _lock:
        if _originals:
            return
        for owner, name, wrap in _WRAPPERS:
            original = owner.__dict__[name]
            _originals[(owner, name)] = original
            setattr(owner, name, wrap(original))


def uninstall() -> None:
    with _lock:
        for (owner, name), original in _originals.items():
            setattr(owner, name, original)
        _originals.clear()
