"""Model calls a workflow's own executors make (``record_executors``): recorded under the
executor's id, once, beside an agent that uses the same client."""

from __future__ import annotations

import asyncio
from typing import Any

from agent_framework import (
    Agent,
    AgentExecutor,
    AgentExecutorRequest,
    AgentExecutorResponse,
    Message,
    WorkflowBuilder,
    WorkflowContext,
    executor,
)
from nex_agent_framework import AgentFrameworkAdapter
from nex_agent_framework.bridge import bridge_model
from nex_agent_framework.record_executors import ExecutorChatRecorder

from nex_core import ScriptedModel
from nex_core.trajectory.schema import LLMStep

CLIENT: Any = None
"""A module-level client, as many examples keep one (the executor names it as a global)."""


@executor(id="ask")
async def ask(question: str, ctx: WorkflowContext[AgentExecutorRequest]) -> None:
    reply = await CLIENT.get_response([Message("user", [question])])
    request = AgentExecutorRequest(messages=[Message("user", [reply.text])], should_respond=True)
    await ctx.send_message(request)


@executor(id="done")
async def done(response: AgentExecutorResponse, ctx: WorkflowContext[Any, str]) -> None:
    await ctx.yield_output(response.agent_response.text)


def test_an_executor_and_an_agent_on_one_client_are_each_recorded_once() -> None:
    global CLIENT
    CLIENT = bridge_model(ScriptedModel([{"text": "about Lagos"}, {"text": "In Nigeria."}]))
    writer = AgentExecutor(Agent(CLIENT, "Answer.", name="writer"), id="writer")
    workflow = WorkflowBuilder(start_executor=ask).add_edge(ask, writer).add_edge(writer, done)
    traj = asyncio.run(AgentFrameworkAdapter().arecord(workflow.build(), "Where is Lagos?"))
    calls = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert [s.agent for s in calls] == ["ask", "writer"]
    assert calls[0].request.messages[-1].text() == "Where is Lagos?"
    assert calls[0].parent_id is None  # not inside the writer's turn
    assert traj.outcome.final_output == "In Nigeria."
    assert not any(isinstance(m, ExecutorChatRecorder) for m in CLIENT.chat_middleware)
