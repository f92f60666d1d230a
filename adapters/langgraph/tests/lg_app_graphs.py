"""Apps written the way LangGraph's and LangChain's documentation writes them, for the shapes
the first recorder got wrong: unnamed agents used as tools, a workflow whose state is not
messages, structured output, human-in-the-loop, agents as subgraph nodes. Each builder takes
nex's model (bridged, so one script drives everything) and returns what the app would hold."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.agents.structured_output import ToolStrategy
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from nex_langgraph import bridge_model
from pydantic import BaseModel


def web_search(query: str) -> str:
    """Search the web (a canned answer, offline)."""
    return f"Results for {query}: Paris is the capital of France."


def send_email(to: str, body: str) -> str:
    """Send an email."""
    return f"sent to {to}"


def unnamed_agent_as_tool(model: Any) -> Any:
    """The docs' "agent as a tool": neither agent is given a name."""
    researcher = create_agent(
        bridge_model(model, agent="researcher"), [web_search], system_prompt="You research."
    )

    @tool("research", description="Research a question and answer it.")
    def call_researcher(query: str) -> str:
        result = researcher.invoke({"messages": [{"role": "user", "content": query}]})
        return str(result["messages"][-1].content)

    return create_agent(
        bridge_model(model, agent="lead"), [call_researcher], system_prompt="You lead."
    )


class RagState(TypedDict, total=False):
    question: str
    query: str
    documents: list[str]
    answer: str


def rag_workflow(model: Any) -> Any:
    """A custom workflow whose state is not messages: rewrite → retrieve → generate, the model
    called directly inside two plain nodes."""
    llm = bridge_model(model, agent="llm")

    def rewrite(state: RagState) -> dict[str, Any]:
        reply = llm.invoke(
            [("system", "Rewrite the question as a search query."), ("user", state["question"])]
        )
        return {"query": str(reply.content)}

    def retrieve(state: RagState) -> dict[str, Any]:
        return {"documents": [web_search.__call__(state["query"])]}

    def generate(state: RagState) -> dict[str, Any]:
        context = "\n".join(state["documents"])
        reply = llm.invoke(
            [("system", f"Answer from the context.\n{context}"), ("user", state["question"])]
        )
        return {"answer": str(reply.content)}

    builder = StateGraph(RagState)
    builder.add_node("rewrite", rewrite)
    builder.add_node("retrieve", retrieve)
    builder.add_node("generate", generate)
    builder.add_edge(START, "rewrite")
    builder.add_edge("rewrite", "retrieve")
    builder.add_edge("retrieve", "generate")
    builder.add_edge("generate", END)
    return builder.compile()


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    temperature_c: float


def structured_agent(model: Any) -> Any:
    return create_agent(
        bridge_model(model, agent="forecaster"),
        [web_search],
        system_prompt="You report the weather.",
        response_format=ToolStrategy(Weather),
        name="forecaster",
    )


def approval_agent(model: Any) -> Any:
    """``HumanInTheLoopMiddleware`` pausing before ``send_email``, on a checkpointer."""
    return create_agent(
        bridge_model(model, agent="mailer"),
        [send_email],
        system_prompt="You send emails.",
        middleware=[HumanInTheLoopMiddleware(interrupt_on={"send_email": True})],
        checkpointer=InMemorySaver(),
        name="mailer",
    )


class ReviewState(TypedDict, total=False):
    draft: str
    verdict: str


def review_workflow() -> Any:
    """A plain node that asks a human with ``interrupt()``."""

    def review(state: ReviewState) -> dict[str, Any]:
        verdict = interrupt({"question": "Approve this draft?", "draft": state["draft"]})
        return {"verdict": str(verdict)}

    builder = StateGraph(ReviewState)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=InMemorySaver())
