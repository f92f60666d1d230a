"""Graphs written the way LangGraph's documentation writes them, driven by nex's ScriptedModel.

Each builder takes the nex model and returns the graph a user would have: a ReAct agent with tools
(``create_agent`` and the deprecated ``create_react_agent``), a hand-written ``StateGraph`` with a
``ToolNode``, a supervisor with two workers, an agent used as a tool, a swarm, and agents as
subgraph nodes.
"""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent, tools_condition
from langgraph_supervisor import create_supervisor
from langgraph_swarm import create_handoff_tool, create_swarm
from nex_langgraph import bridge_model


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


def web_search(query: str) -> str:
    """Search the web (a canned answer, offline)."""
    return f"Results for {query}: the FAANG headcount in 2024 was 1,977,000."


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    return a / b


def react_agent(model: Any) -> Any:
    return create_agent(
        bridge_model(model, agent="calculator"),
        [add, multiply, divide],
        system_prompt="You are a careful calculator.",
        name="calculator",
    )


def legacy_react_agent(model: Any) -> Any:
    return create_react_agent(
        bridge_model(model, agent="calculator"),
        [add, multiply],
        prompt="You are a careful calculator.",
        name="calculator",
    )


def hand_written(model: Any) -> Any:
    llm = bridge_model(model, agent="assistant").bind_tools([add, multiply])

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", call_model)
    builder.add_node("tools", ToolNode([add, multiply]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=InMemorySaver(), name="assistant")


def supervisor(model: Any) -> Any:
    math_agent = create_agent(
        bridge_model(model, agent="math_expert"),
        [add, multiply],
        system_prompt="You are a math expert. Always use one tool at a time.",
        name="math_expert",
    )
    research_agent = create_agent(
        bridge_model(model, agent="research_expert"),
        [web_search],
        system_prompt=(
            "You are a world class researcher with access to web search. Do not do any math."
        ),
        name="research_expert",
    )
    workflow = create_supervisor(
        [research_agent, math_agent],
        model=bridge_model(model, agent="supervisor"),
        prompt="You are a team supervisor managing a research expert and a math expert.",
    )
    return workflow.compile()


def _research_agent(model: Any) -> Any:
    return create_agent(
        bridge_model(model, agent="researcher"),
        [web_search],
        system_prompt="You research facts.",
        name="researcher",
    )


def agent_as_tool(model: Any) -> Any:
    researcher = _research_agent(model)

    @tool("research", description="Research a question and answer it.")
    def call_researcher(query: str) -> str:
        result = researcher.invoke({"messages": [{"role": "user", "content": query}]})
        return str(result["messages"][-1].content)

    return create_agent(
        bridge_model(model, agent="lead"),
        [call_researcher, add],
        system_prompt="You lead; delegate research.",
        name="lead",
    )


def swarm(model: Any) -> Any:
    alice = create_agent(
        bridge_model(model, agent="Alice"),
        [add, create_handoff_tool(agent_name="Bob", description="Transfer to Bob")],
        system_prompt="You are Alice, an addition expert.",
        name="Alice",
    )
    bob = create_agent(
        bridge_model(model, agent="Bob"),
        [
            create_handoff_tool(
                agent_name="Alice", description="Transfer to Alice, she can help with math"
            )
        ],
        system_prompt="You are Bob, you speak like a pirate.",
        name="Bob",
    )
    return create_swarm([alice, bob], default_active_agent="Alice").compile(
        checkpointer=InMemorySaver()
    )


def subgraph_nodes(model: Any) -> Any:
    researcher = _research_agent(model)
    writer = create_agent(
        bridge_model(model, agent="writer"), [], system_prompt="You write.", name="writer"
    )
    builder = StateGraph(MessagesState)
    builder.add_node("researcher", researcher)
    builder.add_node("writer", writer)
    builder.add_edge(START, "researcher")
    builder.add_edge("researcher", "writer")
    return builder.compile(name="pipeline")
