"""One tool call at a time, in the model's order, for agents with ``parallel_tool_calls: false``.

``create_agent`` sends every tool call of a model reply to the tool node as its own task, and
LangGraph runs the tasks of a step concurrently (worker threads under ``invoke``/``stream``, one
asyncio task each under ``ainvoke``/``astream``). The native runtime runs such a batch in order,
one call after the other, and with stateful tools the results depend on it. A
:class:`CallOrder` makes each call wait until every call the model wrote before it in the same
reply has finished (failed or not) before the tool runs, so the tool step, its callbacks and its
latency start only when it really starts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

BatchKey = tuple[str, ...]


def batch_of(state: Any, call_id: str) -> tuple[BatchKey, list[str]] | None:
    """The reply holding ``call_id``: its key, and the ids of its calls that run before it.

    Calls already answered by a tool message (a resumed run) do not run again, so they are not
    waited for; every call still pending in one reply sees the same state (a step's writes land
    together at its end), hence the same order.
    """
    messages: Sequence[Any] = (state.get("messages") or []) if isinstance(state, dict) else []
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if not isinstance(message, AIMessage):
            continue
        ids = [c.get("id") or "" for c in message.tool_calls]
        if call_id not in ids:
            continue
        answered = {m.tool_call_id for m in messages[index + 1 :] if isinstance(m, ToolMessage)}
        pending = [i for i in ids if i not in answered]
        key = (str(message.id or id(message)), *ids)
        return key, pending[: pending.index(call_id)] if call_id in pending else []
    return None


class CallOrder:
    """Which calls of each reply have finished; callers wait for their predecessors."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._finished: dict[BatchKey, set[str]] = {}
        self._events: dict[tuple[BatchKey, str], asyncio.Event] = {}
        self._loops: dict[tuple[BatchKey, str], asyncio.AbstractEventLoop] = {}

    def wait(self, key: BatchKey, before: list[str]) -> None:
        """Block until every call in ``before`` has finished (tools driven from threads)."""
        with self._lock:
            self._lock.wait_for(lambda: set(before) <= self._finished.get(key, set()))

    async def await_turn(self, key: BatchKey, before: list[str]) -> None:
        """Wait until every call in ``before`` has finished (tools driven as asyncio tasks)."""
        loop = asyncio.get_running_loop()
        waits = []
        with self._lock:
            done = self._finished.get(key, set())
            for call_id in before:
                if call_id not in done:
                    event = self._events.setdefault((key, call_id), asyncio.Event())
                    self._loops[(key, call_id)] = loop
                    waits.append(event)
        for event in waits:
            await event.wait()

    def finish(self, key: BatchKey, call_id: str) -> None:
        """Mark a call finished and wake whoever waits for it, from any thread."""
        batch_size = len(key) - 1
        with self._lock:
            done = self._finished.setdefault(key, set())
            done.add(call_id)
            event = self._events.pop((key, call_id), None)
            loop = self._loops.pop((key, call_id), None)
            if len(done) >= batch_size and not any(k == key for k, _ in self._events):
                del self._finished[key]  # the whole reply ran: forget it
            self._lock.notify_all()
        if event is not None and loop is not None:
            if _running_loop() is loop:
                event.set()
            else:
                loop.call_soon_threadsafe(event.set)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class SequentialToolNodeCalls:
    """The same turnstile as ``ToolNode`` call wrappers, for a tool node nex builds without its
    middleware: the supervisor pattern's own node, which ``create_supervisor`` runs through
    ``create_react_agent``, where agent middleware cannot reach."""

    def __init__(self) -> None:
        self.order = CallOrder()

    def wrap(self, request: Any, execute: Any) -> Any:
        turn = batch_of(request.state, request.tool_call.get("id") or "")
        if turn is None:
            return execute(request)
        key, before = turn
        try:
            self.order.wait(key, before)
            return execute(request)
        finally:
            self.order.finish(key, request.tool_call["id"])

    async def awrap(self, request: Any, execute: Any) -> Any:
        turn = batch_of(request.state, request.tool_call.get("id") or "")
        if turn is None:
            return await execute(request)
        key, before = turn
        try:
            await self.order.await_turn(key, before)
            return await execute(request)
        finally:
            self.order.finish(key, request.tool_call["id"])
