"""One ``create_agent`` middleware that gives a built agent the protocol's loop semantics.

LangGraph's defaults differ from the native runtime in ways a trajectory shows: a failing tool
aborts the run, an unknown tool is answered without a tool call, there is no per-invocation step
limit and no retry of a failed model call. This middleware closes those gaps, and only those:
errors go back to the model as ``describe_error`` text, unknown tools fail as ``UnknownTool``,
``limits.max_steps`` model calls end the agent, retryable model errors are retried
``limits.max_model_retries`` times, and an agent with ``parallel_tool_calls: false`` runs the
calls of one reply one at a time, in order (see ``_order``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.errors import GraphBubbleUp

from nex_core.errors import ModelError
from nex_core.runtime.tools import UnknownTool, describe_error
from nex_core.trajectory.recorder import error_info
from nex_langgraph._errors import MaxStepsExceeded
from nex_langgraph._order import CallOrder, batch_of


class ProtocolMiddleware(AgentMiddleware):
    """Native-runtime semantics for one agent built from a nex spec."""

    def __init__(
        self,
        agent: str,
        *,
        max_steps: int,
        max_model_retries: int,
        tool_names: list[str],
        sequential_tools: bool = False,
    ) -> None:
        super().__init__()
        self.agent = agent
        self.max_steps = max_steps
        self.max_model_retries = max_model_retries
        self.tool_names = sorted(tool_names)
        self.order = CallOrder() if sequential_tools else None

    # ------------------------------------------------------------------ step limit

    def _steps_taken(self, messages: list[Any]) -> int:
        count = 0
        for message in reversed(messages):
            if isinstance(message, HumanMessage):
                break
            if isinstance(message, AIMessage) and message.name == self.agent:
                count += 1
        return count

    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        if self._steps_taken(list(state.get("messages") or [])) >= self.max_steps:
            raise MaxStepsExceeded(self.agent, self.max_steps)
        return None

    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self.before_model(state, runtime)

    # ------------------------------------------------------------------ model retries

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        for attempt in range(self.max_model_retries + 1):
            try:
                return handler(request)
            except ModelError as exc:
                if not exc.retryable or attempt == self.max_model_retries:
                    raise
        raise AssertionError("unreachable")

    async def awrap_model_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        for attempt in range(self.max_model_retries + 1):
            try:
                return await handler(request)
            except ModelError as exc:
                if not exc.retryable or attempt == self.max_model_retries:
                    raise
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ tool errors

    def _unknown(self, request: Any) -> Any:
        name = request.tool_call["name"]
        known = ", ".join(self.tool_names) or "none"

        def fail(**_: Any) -> str:
            raise UnknownTool(f"unknown tool '{name}'; available tools: {known}")

        stand_in = StructuredTool.from_function(
            func=fail,
            name=name,
            description="",
            args_schema={"type": "object", "properties": {}},
            infer_schema=False,
        )
        return request.override(tool=stand_in)

    def _error_message(self, request: Any, exc: Exception) -> ToolMessage:
        call = request.tool_call
        return ToolMessage(
            content=describe_error(error_info(exc)),
            tool_call_id=call["id"],
            name=call["name"],
            status="error",
        )

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        turn = self._turn(request)
        if turn is None:
            return self._call(request, handler)
        key, before = turn
        assert self.order is not None
        try:
            self.order.wait(key, before)
            return self._call(request, handler)
        finally:
            self.order.finish(key, request.tool_call["id"])

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        turn = self._turn(request)
        if turn is None:
            return await self._acall(request, handler)
        key, before = turn
        assert self.order is not None
        try:
            await self.order.await_turn(key, before)
            return await self._acall(request, handler)
        finally:
            self.order.finish(key, request.tool_call["id"])

    def _turn(self, request: Any) -> tuple[tuple[str, ...], list[str]] | None:
        """Where this call stands in its reply, when calls must run one at a time."""
        if self.order is None:
            return None
        return batch_of(request.state, request.tool_call.get("id") or "")

    def _call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        if request.tool is None:
            request = self._unknown(request)
        try:
            return handler(request)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._error_message(request, exc)

    async def _acall(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        if request.tool is None:
            request = self._unknown(request)
        try:
            return await handler(request)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._error_message(request, exc)
