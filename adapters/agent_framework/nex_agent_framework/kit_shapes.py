"""The conformance kit's recording shapes, built as Agent Framework's documentation builds them.

``kit_shape_app(shape, model)`` is the optional adapter hook of ``nex_conformance.shapes``; the
kit records what it returns through ``arecord``, this adapter's path for agents and workflows
the user built. Imported only when the kit asks: it imports the kit's toolkit, which the
adapter does not depend on.
"""

from __future__ import annotations

from typing import Any

from agent_framework import (
    Agent,
    Message,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
)

from nex_agent_framework.bridge import bridge_model


def kit_shape_app(shape: str, model: Any) -> Any:
    """The app of ``shape`` driven by the nex ``model``, or ``None`` for a shape not known."""
    if shape == "unnamed_agent_as_tool":
        return unnamed_agent_as_tool(model)
    if shape == "non_message_state":
        return rag_workflow(model)
    return None


def unnamed_agent_as_tool(model: Any) -> Any:
    """``agent.as_tool()`` with neither agent named. ``as_tool`` takes the tool's name from
    the agent's and refuses an agent without one, so the tool is named, the agents are not."""
    from nex_conformance.toolkit import country_of

    client = bridge_model(model)
    researcher = Agent(client, "Look up the city and report its country.", tools=[country_of])
    research = researcher.as_tool(
        name="research", description="Research a question about a city and answer it."
    )
    return Agent(client, "Delegate city questions to research.", tools=[research])


RagState = dict[str, Any]
"""The workflow's state, ``{question, docs, answer}``: what its executors pass along, not chat
messages (a mapping, so the workflow takes its input as the kit gives it)."""


def rag_workflow(model: Any) -> Workflow:
    """Function executors ``rewrite`` → ``retrieve`` → ``generate`` passing the state; the
    two that need the model call the chat client directly; ``generate`` yields the final
    state as the workflow's output."""
    from nex_conformance.toolkit import search_docs

    client = bridge_model(model)

    @executor(id="rewrite")
    async def rewrite(state: RagState, ctx: WorkflowContext[RagState]) -> None:
        reply = await client.get_response(
            [
                Message("system", ["Rewrite the question as a search query."]),
                Message("user", [state["question"]]),
            ]
        )
        await ctx.send_message({**state, "question": reply.text})

    @executor(id="retrieve")
    async def retrieve(state: RagState, ctx: WorkflowContext[RagState]) -> None:
        await ctx.send_message({**state, "docs": search_docs(state["question"])})

    @executor(id="generate")
    async def generate(state: RagState, ctx: WorkflowContext[Any, RagState]) -> None:
        context = "\n".join(state["docs"])
        reply = await client.get_response(
            [
                Message("system", [f"Answer from the context.\n{context}"]),
                Message("user", [state["question"]]),
            ]
        )
        await ctx.yield_output({**state, "answer": reply.text})

    return (
        WorkflowBuilder(start_executor=rewrite)
        .add_edge(rewrite, retrieve)
        .add_edge(retrieve, generate)
        .build()
    )
