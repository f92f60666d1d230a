"""Recording plain agents without Agent Framework's middleware pipeline.

Installing any middleware makes Agent Framework build and run its middleware pipelines on every
model and tool call (about 15 % of a scripted run's time with no-op middleware). An agent tree
whose agents carry no middleware and no MCP tools, each with its own chat client and its own tool
objects, is recorded instead by wrapping, on the instances, the two calls the framework makes
anyway: the client's ``_inner_get_response`` (once per model request, below the function loop
and the client's chat middleware: the messages and options the model receives) and each
``FunctionTool.invoke`` (once per tool call, with the call id). The same :class:`ChatRecorder`
and :class:`FunctionRecorder` bookkeeping records both, so the trajectory is the one the
middleware path writes. Anything else (the user's middleware, shared clients or tools, agents
built from a spec, workflows) is recorded through the middleware.

The wrappers are instance attributes installed for the length of a recorded run and act only
inside it (a context variable names the run, so an unrecorded run of the same object, in another
task or thread, passes straight through); the same object recorded by two runs at once is
wrapped once and unwrapped when the last run ends.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

from agent_framework import BaseChatClient, FunctionTool

from nex_agent_framework.bridge import NexChatClient
from nex_agent_framework.messages import result_text
from nex_agent_framework.tools import agent_of_tool

_LOCK = threading.Lock()
_WRAPPED: dict[int, list[Any]] = {}
"""id(object) → [object, attribute name, count of runs using the wrapper]."""


class LightRun:
    """The recorders of one recorded run, by the client or tool they record."""

    def __init__(self) -> None:
        self.chat: dict[int, Any] = {}
        self.tools: dict[int, tuple[Any, Any]] = {}
        """id(tool) → (its recorder, the agent it calls or ``None``)."""
        self._objects: list[tuple[Any, str]] = []

    def add_client(self, client: Any, recorder: Any) -> None:
        self.chat[id(client)] = recorder
        self._wrap(client, "_inner_get_response", _chat_wrapper)

    def add_tool(self, tool: Any, recorder: Any) -> None:
        # Whether the tool runs an agent (a scan of its function's closure) is looked up once
        # a run, not once a call.
        self.tools[id(tool)] = (recorder, agent_of_tool(tool))
        self._wrap(tool, "invoke", _tool_wrapper)

    def _wrap(self, obj: Any, attribute: str, make: Callable[[Any, Any], Any]) -> None:
        with _LOCK:
            entry = _WRAPPED.get(id(obj))
            if entry is None:
                original = getattr(obj, attribute)
                setattr(obj, attribute, make(obj, original))
                _WRAPPED[id(obj)] = [obj, attribute, 1]
            else:
                entry[2] += 1
        self._objects.append((obj, attribute))

    def active(self) -> _Active:
        return _Active(self)

    def restore(self) -> None:
        with _LOCK:
            for obj, attribute in self._objects:
                entry = _WRAPPED.get(id(obj))
                if entry is None:
                    continue
                entry[2] -= 1
                if entry[2] == 0:
                    # The wrapper is an instance attribute over the class's method: removing
                    # it gives the object back exactly as it was.
                    vars(obj).pop(attribute, None)
                    del _WRAPPED[id(obj)]
        self._objects.clear()


_NO_RUN = LightRun()
"""Outside a recorded run: no recorders (never added to), so the wrappers look up their object
in it and find nothing, as inside a run that does not record that object."""
_CURRENT: contextvars.ContextVar[LightRun] = contextvars.ContextVar(
    "nex_af_light_run", default=_NO_RUN
)


class _Active:
    """The run's extent for the wrappers (a small class, not a generator context manager:
    entered once per recorded run, beside the recorder's own)."""

    __slots__ = ("run", "token")

    def __init__(self, run: LightRun) -> None:
        self.run = run

    def __enter__(self) -> None:
        self.token = _CURRENT.set(self.run)

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self.token)


def eligible(agents: list[Any]) -> bool:
    """Whether an agent tree can be recorded without middleware (see the module docstring)."""
    clients: set[int] = set()
    tools: set[int] = set()
    for agent in agents:
        client = getattr(agent, "client", None)
        # MCP tools' functions are made when the server connects, out of reach of the wrapper.
        if getattr(agent, "middleware", None) or getattr(agent, "mcp_tools", None):
            return False
        if not isinstance(client, BaseChatClient):
            return False
        if id(client) in clients or "_inner_get_response" in vars(client):
            return False
        clients.add(id(client))
        for tool in (getattr(agent, "default_options", None) or {}).get("tools") or ():
            if not isinstance(tool, FunctionTool) or id(tool) in tools or "invoke" in vars(tool):
                return False
            tools.add(id(tool))
    return True


def _chat_wrapper(client: Any, original: Any) -> Any:
    key = id(client)
    # nex's own bridge is handed the request the recording converted (one conversion serves
    # the model and the trajectory) and hands back the nex answer it got (``settle`` keeps it).
    bridged = isinstance(client, NexChatClient)

    # Keyword arguments only, passed on as they came (the framework calls it with keywords:
    # ``messages``, ``stream``, ``options`` and the client's own).
    def _inner_get_response(**kw: Any) -> Any:
        recorder = _CURRENT.get().chat.get(key)
        if recorder is None:
            return original(**kw)
        step = recorder.begin(kw["messages"], kw["options"], client)
        if bridged:
            kw["nex_request"] = step.request
        try:
            result = original(**kw)
        except BaseException as exc:
            recorder._end(step, None, exc)
            raise
        if kw["stream"]:
            recorder.settle(step, result)
            return result
        return _complete(recorder, step, result, bridged)

    return _inner_get_response


async def _complete(recorder: Any, step: Any, result: Any, bridged: bool) -> Any:
    """The awaited answer of a recorded model call, settled on its step."""
    try:
        response = await result
    except BaseException as exc:
        recorder._end(step, None, exc)
        raise
    recorder.settle(step, response, bridged=bridged)
    return response


def _tool_wrapper(tool: Any, original: Any) -> Any:
    key = id(tool)

    # ``invoke`` takes keywords only (``arguments``, ``context``, ``tool_call_id`` from the
    # function loop): passed on as they came.
    async def invoke(**kw: Any) -> Any:
        entry = _CURRENT.get().tools.get(key)
        if entry is None:
            return await original(**kw)
        recorder, child = entry
        call_id = kw.get("tool_call_id")
        arguments = kw.get("arguments")
        step = recorder.open(tool, call_id, arguments)
        if child is not None:
            return await recorder.around_child(
                step, child, call_id, arguments, lambda: original(**kw)
            )
        rec = recorder.shared.recorder
        # A plain tool is awaited here, not through a helper coroutine (once per tool call).
        try:
            with rec.under(step.id):
                result = await original(**kw)
        except BaseException as exc:
            rec.end_tool(step, error=exc)
            raise
        rec.end_tool(step, result_text(result))
        return result

    return invoke
