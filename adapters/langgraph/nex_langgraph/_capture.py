"""Zero-change capture: every graph run of a block of code, or of a whole process, recorded.

Every way of running a compiled graph — ``invoke``, ``ainvoke``, ``stream`` and ``astream`` in any
stream mode, ``astream_events``/``stream_events``, a resume with ``Command(resume=...)`` — goes
through ``Pregel.stream`` or ``Pregel.astream``. While a capture is on, both are wrapped: a call
made outside any recorded run opens a session (one trajectory per top-level run), adds the
session's callback handler to the caller's config, and passes every chunk through unchanged;
calls made inside a recorded run (a subgraph, an agent used as a tool) belong to that run and
only get the name conversion gave them when their graph has none.

The wrappers (and the model and tool hooks of ``_hooks``) are installed by the first capture or
recording and then stay: each does nothing but read a context variable unless a session or a
capture is active in the calling context, so a graph, model or tool used outside one runs as
unhooked. Putting the originals back after every ``record()`` would set attributes on
``Pregel``, ``BaseChatModel`` and ``BaseTool`` twice a run, and each such write invalidates the
interpreter's type caches of every subclass (measured: 1-2 % of a bare run right after).
:func:`restore` puts the originals back when nothing is using them.

The session a call belongs to lives in a context variable set only while the wrapped stream
computes its next chunk, so the app's own code between chunks runs outside it, and work the
graph hands to threads or tasks (which copy the context) stays inside.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from langgraph.pregel import Pregel

from nex_core.trajectory.schema import Outcome, OutcomeStatus, Trajectory
from nex_core.trajectory.sinks import TrajectorySink
from nex_langgraph import _hooks, _root

if TYPE_CHECKING:
    from nex_langgraph._run import _Session

_current: ContextVar[_Session | None] = ContextVar("nex_langgraph_session", default=None)
_scoped: ContextVar[Recording | None] = ContextVar("nex_langgraph_recording", default=None)
_process: Recording | None = None
_lock = threading.Lock()
_users = 0
_originals: tuple[Callable[..., Any], ...] | None = None
"""``Pregel.stream``, ``astream``, ``invoke`` and ``ainvoke`` as LangGraph defines them."""
_direct: ContextVar[Any] = ContextVar("nex_langgraph_direct", default=None)
"""The graph whose hooked ``invoke``/``ainvoke`` is on its way into its own stream call.

A hooked graph call computes each chunk with the session's ``_hooks.active`` set. ``invoke``
and ``ainvoke`` consume their stream themselves, with no app code between two chunks, so for
them the hooked context is set once around the whole call and the stream they open runs as
given: no wrapper generator and no context-variable set and reset per chunk (a 10-round agent
streams ≈ 90 chunks a run)."""


class Recording:
    """What a capture records: each top-level graph run becomes one trajectory, written to
    ``sinks`` when the run ends (and kept in :attr:`trajectories` when ``keep``)."""

    def __init__(
        self, sinks: Sequence[TrajectorySink] = (), *, session_id: str | None = None, keep: bool
    ) -> None:
        self.sinks = list(sinks)
        self.session_id = session_id
        """Session of runs that have no checkpointer thread (a thread's id is its session)."""
        self.keep = keep
        self.trajectories: list[Trajectory] = []
        self._lock = threading.Lock()

    def _done(self, trajectory: Trajectory) -> None:
        if self.keep:
            with self._lock:
                self.trajectories.append(trajectory)

    def _open(self, graph: Any, value: Any, config: Any) -> _Session:
        from nex_langgraph._run import session_for_graph

        return session_for_graph(
            graph,
            [value],
            self.sinks,
            None,
            config=dict(config or {}),
            session_id=self.session_id,
            drive=False,
        )


@contextlib.contextmanager
def recording(
    sinks: Sequence[TrajectorySink] = (), *, session_id: str | None = None
) -> Iterator[Recording]:
    """Record every graph run the block makes, however it makes it, changing nothing it does::

        with nex_langgraph.recording([JSONLSink("runs/app.jsonl")]) as rec:
            app.invoke({"messages": [("user", "hi")]}, config)
        rec.trajectories  # one per top-level run

    Runs on one checkpointer thread share its ``thread_id`` as their ``session_id``; other runs
    get ``session_id`` when given. Code the block runs in other threads it starts itself (not
    through LangGraph) is outside it: :func:`instrument` covers a whole process.
    """
    capture = Recording(sinks, session_id=session_id, keep=True)
    _install()
    token = _scoped.set(capture)
    try:
        yield capture
    finally:
        _scoped.reset(token)
        _uninstall()


def instrument(
    sinks: Sequence[TrajectorySink] = (), *, session_id: str | None = None, keep: bool = False
) -> Recording:
    """Record every graph run of this process, in any thread, until :func:`uninstrument`.

    Trajectories go to ``sinks`` (kept in memory too only when ``keep``: a long-lived process
    would otherwise grow). Calling it again replaces the previous process-wide recording."""
    global _process
    capture = Recording(sinks, session_id=session_id, keep=keep)
    with _lock:
        previous, _process = _process, capture
    if previous is None:
        _install()
    return capture


def uninstrument() -> None:
    """Stop the process-wide recording :func:`instrument` started (runs in flight finish)."""
    global _process
    with _lock:
        previous, _process = _process, None
    if previous is not None:
        _uninstall()


@contextlib.contextmanager
def bound(session: _Session) -> Iterator[None]:
    """Graph calls inside the block belong to ``session`` (``record()`` drives its graph so)."""
    _install()
    token = _current.set(session)
    try:
        yield
    finally:
        _current.reset(token)
        _uninstall()


# --------------------------------------------------------------------------- the wrappers


def _install() -> None:
    global _users, _originals
    with _lock:
        _users += 1
        if _originals is None:
            _originals = (Pregel.stream, Pregel.astream, Pregel.invoke, Pregel.ainvoke)
            Pregel.stream = functools.wraps(_originals[0])(_stream)  # type: ignore[method-assign,assignment]
            Pregel.astream = functools.wraps(_originals[1])(_astream)  # type: ignore[method-assign,assignment]
            Pregel.invoke = functools.wraps(_originals[2])(_invoke)  # type: ignore[method-assign,assignment]
            Pregel.ainvoke = functools.wraps(_originals[3])(_ainvoke)  # type: ignore[method-assign,assignment]
            _hooks.install()


def _uninstall() -> None:
    """One user fewer; the wrappers stay installed (inert without a user: see the module)."""
    global _users
    with _lock:
        _users -= 1


def restore() -> bool:
    """Put LangGraph's and LangChain's own methods back if no capture or recording is running
    (for code that checks the classes are untouched); whether they were put back."""
    global _originals
    with _lock:
        if _users or _originals is None:
            return _originals is None
        Pregel.stream, Pregel.astream, Pregel.invoke, Pregel.ainvoke = _originals  # type: ignore[method-assign]
        _originals = None
        _hooks.uninstall()
        return True


def _original(index: int) -> Callable[..., Any]:
    originals = _originals
    if originals is None:  # uninstalled while this call was on its way in
        return (Pregel.stream, Pregel.astream, Pregel.invoke, Pregel.ainvoke)[index]
    return originals[index]


def _named(session: _Session, graph: Any, config: Any) -> Any:
    """The config of a nested call, naming the run after its graph's given name."""
    name = session.names.get(id(graph))
    if name is None or (config or {}).get("run_name") is not None:
        return config
    return {**(config or {}), "run_name": name}


def _capture() -> Recording | None:
    return _scoped.get() or _process


def _stream(graph: Any, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:
    session = _current.get()
    if session is not None and not session.handler.finished:
        return _inner(session, graph, input, _named(session, graph, config), kwargs)
    capture = _capture()
    if capture is None:
        return _original(0)(graph, input, config, **kwargs)
    return _captured(capture, graph, input, config, kwargs)


def _astream(graph: Any, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:
    session = _current.get()
    if session is not None and not session.handler.finished:
        return _ainner(session, graph, input, _named(session, graph, config), kwargs)
    capture = _capture()
    if capture is None:
        return _original(1)(graph, input, config, **kwargs)
    return _acaptured(capture, graph, input, config, kwargs)


def _invoke(graph: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
    session = _current.get()
    if session is None or not session.hooked or session.handler.finished:
        return _original(2)(graph, input, config, **kwargs)
    config = _named(session, graph, config)
    root = _root.invoked(session.handler, graph, input, config, kwargs)
    if root is None:
        hooked, config = _hooks.graph_call(session.handler, config)
    else:
        hooked = root
    token, mark = _hooks.active.set(hooked), _direct.set(graph)
    try:
        result = _original(2)(graph, input, config, **kwargs)
    except BaseException as exc:
        if root is not None:
            _root.failed(root, exc)
        raise
    finally:
        _direct.reset(mark)
        _hooks.active.reset(token)
    if root is not None:
        _root.ended(root, result)
    return result


async def _ainvoke(graph: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
    session = _current.get()
    if session is None or not session.hooked or session.handler.finished:
        return await _original(3)(graph, input, config, **kwargs)
    config = _named(session, graph, config)
    root = _root.invoked(session.handler, graph, input, config, kwargs)
    if root is None:
        hooked, config = _hooks.graph_call(session.handler, config)
    else:
        hooked = root
    token, mark = _hooks.active.set(hooked), _direct.set(graph)
    try:
        result = await _original(3)(graph, input, config, **kwargs)
    except BaseException as exc:
        if root is not None:
            _root.failed(root, exc)
        raise
    finally:
        _direct.reset(mark)
        _hooks.active.reset(token)
    if root is not None:
        _root.ended(root, result)
    return result


def _own_stream(graph: Any) -> bool:
    """This stream call is the one the graph's hooked ``invoke`` makes (see ``_direct``): it
    runs as given, and graph calls made inside it are hooked calls of their own."""
    if _direct.get() is not graph:
        return False
    _direct.set(None)  # reset by the invoke when it returns
    return True


def _inner(session: _Session, graph: Any, value: Any, config: Any, kwargs: dict[str, Any]) -> Any:
    """A graph call of ``session``: as given (its callbacks record it), or hooked."""
    if not session.hooked or _own_stream(graph):
        return _original(0)(graph, value, config, **kwargs)
    single = _root.streamed(graph, config, kwargs)
    if single is not None:
        inner = _original(0)(graph, value, config, **kwargs)
        return _root.stream(inner, session.handler, graph, value, config, single)
    hooked, config = _hooks.graph_call(session.handler, config)
    return _hooks.stream(_original(0)(graph, value, config, **kwargs), hooked)


def _ainner(session: _Session, graph: Any, value: Any, config: Any, kwargs: dict[str, Any]) -> Any:
    if not session.hooked or _own_stream(graph):
        return _original(1)(graph, value, config, **kwargs)
    single = _root.streamed(graph, config, kwargs)
    if single is not None:
        inner = _original(1)(graph, value, config, **kwargs)
        return _root.astream(inner, session.handler, graph, value, config, single)
    hooked, config = _hooks.graph_call(session.handler, config)
    return _hooks.astream(_original(1)(graph, value, config, **kwargs), hooked)


def _closed(session: _Session) -> Trajectory:
    """The caller stopped reading the stream before the run ended."""
    session.flush()
    session.handler.close_chains(None)
    return session.recorder.finish(
        Outcome(status=OutcomeStatus.CANCELLED, stop_reason="stream_closed")
    )


def _captured(
    capture: Recording, graph: Any, value: Any, config: Any, kwargs: dict[str, Any]
) -> Iterator[Any]:
    session = capture._open(graph, value, config)
    session.given_input(value)
    inner = _inner(session, graph, value, session.config, kwargs)
    try:
        while True:
            token = _current.set(session)
            try:
                chunk = next(inner)
            except StopIteration:
                break
            finally:
                _current.reset(token)
            yield chunk
    except GeneratorExit:
        inner.close()
        capture._done(_closed(session))
        raise
    except BaseException as exc:
        capture._done(session.finish(exc))
        raise
    capture._done(session.finish(None))


async def _acaptured(
    capture: Recording, graph: Any, value: Any, config: Any, kwargs: dict[str, Any]
) -> AsyncIterator[Any]:
    session = capture._open(graph, value, config)
    session.given_input(value)
    inner = _ainner(session, graph, value, session.config, kwargs)
    try:
        while True:
            token = _current.set(session)
            try:
                chunk = await inner.__anext__()
            except StopAsyncIteration:
                break
            finally:
                _current.reset(token)
            yield chunk
    except GeneratorExit:
        await inner.aclose()
        capture._done(_closed(session))
        raise
    except BaseException as exc:
        capture._done(session.finish(exc))
        raise
    capture._done(session.finish(None))
