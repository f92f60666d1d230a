"""The conformance kit's recording shapes, built as LangChain's and LangGraph's docs build them.

``kit_shape_app(shape, model)`` is the optional adapter hook of ``nex_conformance.shapes``: the
kit records what it returns through this adapter's zero-change path (``arecord``), so the apps
must be the framework's own objects, nothing of nex in them but the bridged model. Imported only
when the kit asks (it imports the kit's toolkit, which the adapter does not depend on).
"""

from __future__ import annotations

from typing import Any, TypedDict

from langchain.agents import create_agent
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph

from nex_langgraph._bridge import bridge_model


def kit_shape_app(shape: str, model: Any) -> Any:
    """The app of ``shape`` driven by the nex ``model``, or ``None`` for a shape not known."""
    builders = {"unnamed_agent_as_tool": unnamed_agent_as_tool, "non_message_state": rag_workflow}
    build = builders.get(shape)
    return None if build is None else build(model)


def unnamed_agent_as_tool(model: Any) -> Any:
    """LangChain's "subagents" pattern: a ``create_agent`` agent called from a ``@tool`` of
    another ``create_agent`` agent, neither given a ``name``."""
    from nex_conformance.toolkit import country_of

    llm = bridge_model(model)
    researcher = create_agent(
        llm, [tool(country_of)], system_prompt="Look up the city and report its country."
    )

    @tool("research", description="Research a question about a city and answer it.")
    def call_research_agent(query: str) -> str:
        result = researcher.invoke({"messages": [{"role": "user", "content": query}]})
        return str(result["messages"][-1].content)

    return create_agent(
        llm, [call_research_agent], system_prompt="Delegate city questions to research."
    )


class RagState(TypedDict, total=False):
    question: str
    docs: list[str]
    answer: str


def rag_workflow(model: Any) -> Any:
    """A ``StateGraph`` over ``{question, docs, answer}`` (LangGraph's RAG tutorials): the
    model is called directly inside the plain nodes ``rewrite`` and ``generate``."""
    from nex_conformance.toolkit import search_docs

    llm = bridge_model(model)

    def rewrite(state: RagState) -> dict[str, Any]:
        reply = llm.invoke(
            [("system", "Rewrite the question as a search query."), ("user", state["question"])]
        )
        return {"question": str(reply.content)}

    def retrieve(state: RagState) -> dict[str, Any]:
        return {"docs": search_docs(state["question"])}

    def generate(state: RagState) -> dict[str, Any]:
        context = "\n".join(state["docs"])
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
