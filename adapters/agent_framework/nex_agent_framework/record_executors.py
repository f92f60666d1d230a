"""The model calls a workflow's own executors make, recorded under the executor's id.

A workflow whose state is not messages (the documentation's function executors passing a dict
along) calls the chat client itself from inside an executor: no agent runs, so no agent
middleware sees the call. The clients an executor holds (closed over or named as globals by an
``@executor`` function, or attributes of an ``Executor`` subclass) get one chat middleware for
the run, which records a call only while one of those executors runs (a context variable set
around the executor's ``execute``), under that executor's id: one client shared by two
executors, as in the documentation, is told apart, and the calls an agent makes on the same
client are left to the agent's own recorder.
"""

from __future__ import annotations

import contextvars
import types
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from agent_framework import ChatContext

from nex_agent_framework.record import ChatRecorder

_RUNNING: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nex_af_running_executor", default=None
)
"""The id of the client-holding executor running now, if any."""


def _clients_in(values: Any) -> list[Any]:
    from agent_framework import BaseChatClient

    return [v for v in values if isinstance(v, BaseChatClient) and hasattr(v, "chat_middleware")]


def _code_names(code: Any) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:  # nested functions and comprehensions
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def _held_by(func: Any) -> list[Any]:
    """What a function can reach by name: its closure, and the globals its code names (a
    module-level client, as many examples keep it)."""
    out = []
    for cell in getattr(func, "__closure__", None) or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:
            continue
    code, scope = getattr(func, "__code__", None), getattr(func, "__globals__", None) or {}
    if code is not None:
        out.extend(scope[name] for name in set(_code_names(code)) if name in scope)
    return out


def executor_clients(workflow: Any) -> list[tuple[Any, list[Any]]]:
    """Each executor of ``workflow`` that is not an agent's or an orchestrator's and holds a
    chat client, with its clients, in the workflow's order."""
    from agent_framework import AgentExecutor, FunctionExecutor

    out: list[tuple[Any, list[Any]]] = []
    for executor in (getattr(workflow, "executors", None) or {}).values():
        if isinstance(executor, AgentExecutor):
            continue
        if isinstance(executor, FunctionExecutor):
            held = _held_by(getattr(executor, "_original_func", None))
        elif type(executor).__module__.startswith("agent_framework"):
            continue  # the framework's own (orchestrators ...): their calls are recorded apart
        else:
            held = list(vars(executor).values())
        clients = _clients_in(held)
        if clients:
            out.append((executor, clients))
    return out


class ExecutorChatRecorder(ChatRecorder):
    """A client's recorder that records only inside a client-holding executor, under its id."""

    async def process(self, context: ChatContext, call_next: Callable[[], Awaitable[None]]) -> None:
        running = _RUNNING.get()
        if running is None:
            await call_next()
            return
        self.agent = running  # read by begin() before the first await: calls do not mix
        await super().process(context, call_next)


class ExecutorCalls:
    """The executors' and clients' wrappers of one recorded run, and their removal."""

    def __init__(self) -> None:
        self._executors: list[Any] = []
        self._clients: list[tuple[Any, Any]] = []

    def instrument(self, workflow: Any, shared: Any) -> None:
        done: set[int] = set()
        for executor, clients in executor_clients(workflow):
            name = shared.names.of(executor, executor.id, own=executor.id)
            self._wrap(executor, name)
            for client in clients:
                if id(client) not in done:
                    done.add(id(client))
                    recorder = ExecutorChatRecorder(name, shared)
                    client.chat_middleware.insert(0, recorder)
                    self._clients.append((client, recorder))

    def _wrap(self, executor: Any, name: str) -> None:
        original = executor.execute

        async def execute(*args: Any, **kwargs: Any) -> Any:
            token = _RUNNING.set(name)
            try:
                return await original(*args, **kwargs)
            finally:
                _RUNNING.reset(token)

        executor.execute = execute  # an instance attribute, deleted again by restore()
        self._executors.append(executor)

    def restore(self) -> None:
        for executor in self._executors:
            vars(executor).pop("execute", None)
        self._executors.clear()
        for client, recorder in self._clients:
            client.chat_middleware[:] = [m for m in client.chat_middleware if m is not recorder]
        self._clients.clear()
