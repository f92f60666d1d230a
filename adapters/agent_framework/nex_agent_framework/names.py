"""One unique, stable name per distinct agent of an Agent Framework agent or workflow.

An ``Agent`` needs no name (its documentation builds most without one) and two agents may share
one, but a trajectory keys steps by agent and a spec keys agents by name. The rule is
LangGraph's (decisions.md, *Recording apps as their authors wrote them*): an agent keeps its
own name while no other agent has it; an unnamed one, or one whose name is taken, is named
after what holds it — the root agent ``agent``, an agent used as a tool its tool's name, a
workflow's agent its executor's id — with ``_2``, ``_3`` until free (compared without regard
to case); an agent built from a spec keeps the spec's name. A workflow's executors that call a
model themselves keep their ids (their calls are recorded under them), so agents do not take
those. Names are handed out walking the tree breadth first in declaration order, so every run
and every conversion of one object gives the same names; the recorder and the conversion both
call :func:`agent_names`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# At the top, not in the functions that use them: an import statement costs 5 to 9 k instructions
# each time it runs, even with the module loaded (`afcut`), and these run every recorded run.
from agent_framework import AgentExecutor, Workflow

from nex_agent_framework.tools import ProtocolMiddleware, agent_of_tool

ROOT_AGENT = "agent"
"""The name of an unnamed agent run or converted on its own."""

ROOT_WORKFLOW = "workflow"
"""The name of an unnamed workflow."""


class AgentNames:
    """The names given to the agents (and executors) of one tree, by object identity."""

    def __init__(self) -> None:
        # id → (the object, so its id is not reused; its name; whether its own was kept)
        self._given: dict[int, tuple[Any, str, bool]] = {}
        self._taken: set[str] = set()

    def of(
        self, obj: Any, hint: str | None = None, *, own: str | None = None, reserve: bool = True
    ) -> str:
        """The name of ``obj``, given now if it has none yet: its own (``own``, else its
        ``name``) when free, else ``hint`` or its own with ``_2``, ``_3`` until free. An
        object the walk did not reach still gets one. ``reserve=False`` names ``obj`` without
        taking the name from the others (a workflow: it is the trajectory's root, not an agent
        of its steps, and a handoff workflow is commonly named after its first agent)."""
        known = self._given.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        mine = own if own is not None else own_name(obj)
        if mine and (mine.lower() not in self._taken or _from_spec(obj)):
            name, kept = mine, True
        else:
            base = hint or mine or ROOT_AGENT
            name, n, kept = base, 2, False
            while name.lower() in self._taken:
                name, n = f"{base}_{n}", n + 1
        self._given[id(obj)] = (obj, name, kept)
        if reserve:
            self._taken.add(name.lower())
        return name

    def made_up(self, agent: Any) -> str | None:
        """For an agent not recorded under a name of its own, a sentence saying why (for an
        ``info`` item of the conversion report); ``None`` when it keeps its own."""
        name = self.of(agent)
        if self._given[id(agent)][2]:
            return None
        if not own_name(agent):
            return f"the agent has no name: recorded and converted as '{name}'"
        return f"the name '{agent.name}' is another agent's: recorded and converted as '{name}'"


_DEFAULT_WORKFLOW_NAME = re.compile(r"^WorkflowBuilder-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
"""What ``WorkflowBuilder`` names a workflow built without a name: a new one on every build."""


def own_name(obj: Any) -> str | None:
    """The name ``obj`` was given, ``None`` for none (a workflow's random default included)."""
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name or _DEFAULT_WORKFLOW_NAME.match(name):
        return None
    return name


def _from_spec(agent: Any) -> bool:
    """An agent built from a spec keeps the spec's name: the spec writes a handoff cycle as
    copies of one agent (Alice → Bob → Alice), which are one agent to it, not a clash."""
    return any(isinstance(m, ProtocolMiddleware) for m in getattr(agent, "middleware", None) or ())


def _tool_agents(agent: Any) -> Iterator[tuple[Any, str]]:
    """The agents ``agent``'s ``as_tool`` tools run, with the tools' names, and the agents its
    protocol handoffs reach (with their own names), in order."""
    for tool in (getattr(agent, "default_options", None) or {}).get("tools") or ():
        child = agent_of_tool(tool)
        if child is not None:
            yield child, str(getattr(tool, "name", "") or "")
    for middleware in getattr(agent, "middleware", None) or ():
        if isinstance(middleware, ProtocolMiddleware):
            for target in middleware.handoffs.values():
                yield target, str(target.name or "")


def _executors(workflow: Any) -> list[Any]:
    return list((getattr(workflow, "executors", None) or {}).values())


def agent_names(root: Any) -> AgentNames:
    """Names for ``root`` (an agent or a workflow) and every agent it reaches."""
    names = AgentNames()
    queue: list[Any] = []
    seen: set[int] = set()

    def reach(obj: Any, hint: str) -> None:
        if id(obj) not in seen:  # one agent reached twice keeps its first name
            seen.add(id(obj))
            names.of(obj, hint)
            queue.append(obj)

    if isinstance(root, Workflow):
        from nex_agent_framework.record_executors import executor_clients

        names.of(root, ROOT_WORKFLOW, reserve=False)
        for executor, _ in executor_clients(root):  # their model calls are kept under their ids
            names.of(executor, executor.id, own=executor.id)
        for executor in _executors(root):
            if isinstance(executor, AgentExecutor):
                reach(executor.agent, executor_hint(executor))
    else:
        reach(root, ROOT_AGENT)
    while queue:
        for child, hint in _tool_agents(queue.pop(0)):
            reach(child, hint)
    return names


def executor_hint(executor: Any) -> str:
    """What an unnamed agent of a workflow is named after: its executor's id, unless that id is
    the agent's own random one."""
    agent = executor.agent
    return ROOT_AGENT if executor.id == getattr(agent, "id", None) else str(executor.id)
