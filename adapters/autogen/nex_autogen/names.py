"""One unique, stable name per distinct agent of an AutoGen object tree.

AgentChat requires a name but not a unique one, and its examples call nearly every agent
``assistant``: an ``AgentTool`` over one such agent inside another gives two agents of one name,
which a trajectory (steps keyed by agent) and a spec (agents keyed by name) cannot tell apart.
The rule is LangGraph's (decisions.md, *Recording apps as their authors wrote them*), for
names that clash rather than are missing: an agent keeps its name while no other agent has it;
the root's is never taken, and a team's participants get theirs before anything they run (a
team already makes its participants' names unique, and a Swarm hands off by name). An agent
used as a tool whose name is taken is named after its tool (``AgentTool``'s name is the
agent's), with ``_2``, ``_3`` until free. Names are compared without regard to case and handed
out walking the tree breadth first in declaration order, so every run and every conversion of
one tree gives the same names; the recorder and the conversion both call :func:`agent_names`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from autogen_agentchat.teams import BaseGroupChat
from autogen_agentchat.tools._task_runner_tool import TaskRunnerTool


class AgentNames:
    """The names given to the agents and teams of one tree, by object identity."""

    def __init__(self) -> None:
        # id → (the object, so its id is not reused; its name; the name it asked for)
        self._given: dict[int, tuple[Any, str, str]] = {}
        self._taken: set[str] = set()

    def of(self, obj: Any, hint: str | None = None) -> str:
        """The name of ``obj``, given now if it has none yet: its own when no other agent has
        that, else ``hint`` (the tool that runs it) or its own, with ``_2``, ``_3`` until
        free. An object the walk did not reach (made during the run) still gets one."""
        known = self._given.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        own = str(getattr(obj, "name", "") or type(obj).__name__)
        # Without regard to case: 'Helper' and 'helper' would be told apart by nothing else.
        name = own
        if own.lower() in self._taken:
            base = hint or own
            name, n = base, 2
            while name.lower() in self._taken:
                name, n = f"{base}_{n}", n + 1
        self._given[id(obj)] = (obj, name, own)
        self._taken.add(name.lower())
        return name

    def alias(self, copy: Any, template: Any) -> None:
        """Name ``copy`` (a child a protocol agent-tool built afresh for one call) and what it
        runs as ``template`` and what that runs: a fresh copy is the same agent of the spec."""
        known = self._given.get(id(template))
        if known is None or known[0] is not template or id(copy) in self._given:
            return
        self._given[id(copy)] = (copy, known[1], known[2])
        for (child, _), (model, _) in zip(_children(copy), _children(template), strict=False):
            self.alias(child, model)

    def clash(self, obj: Any) -> str | None:
        """For an agent whose name was shared with another agent, a sentence saying so (for an
        ``info`` item of the conversion report); ``None`` when it was not."""
        name = self.of(obj)
        wanted = self._given[id(obj)][2]
        others = [
            n for o, n, w in self._given.values() if w.lower() == wanted.lower() and o is not obj
        ]
        if not others:
            return None
        if name == wanted:
            return (
                f"{len(others) + 1} agents are named '{wanted}': this one keeps its name, the "
                f"others are recorded and converted as {', '.join(repr(n) for n in others)}"
            )
        return (
            f"the name '{wanted}' is another agent's: recorded and converted as '{name}' "
            "(the name of the tool that runs it, made unique)"
        )


def _runners(obj: Any) -> Iterator[tuple[Any, str]]:
    """The agents and teams ``obj`` runs as tools, with their tools' names, in order."""
    for workbench in getattr(obj, "_workbench", None) or []:
        for tool in getattr(workbench, "_tools", []):
            tool = getattr(tool, "inner", tool)  # a recording proxy, once instrumented
            if isinstance(tool, TaskRunnerTool):
                yield tool._task_runner, tool.name


def _children(obj: Any) -> list[tuple[Any, str]]:
    """What ``obj`` runs, each with the name to fall back on: a team's participants (their
    own), else the agents and teams its tools run (the tool's)."""
    if isinstance(obj, BaseGroupChat):
        return [(member, member.name) for member in obj._participants]
    return list(_runners(obj))


def agent_names(root: Any) -> AgentNames:
    """Names for every agent and team under ``root``: the root's own first, then, level by
    level, a team's participants before anything they run (so they keep theirs)."""
    names = AgentNames()
    names.of(root)
    queue, seen = [root], {id(root)}
    while queue:
        obj = queue.pop(0)
        for child, hint in _children(obj):
            if id(child) not in seen:  # one agent reached twice keeps its first name
                seen.add(id(child))
                names.of(child, hint)
                queue.append(child)
    return names
