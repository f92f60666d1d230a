"""One unique, stable name per distinct agent an Agents SDK agent reaches.

``Agent`` requires a name but not a unique one, and the SDK's quickstart names its agent
``Assistant``: an agent of that name used through ``as_tool()`` inside another gives two agents
of one name, which a trajectory (steps keyed by agent) and a spec (agents keyed by name) cannot
tell apart. The rule is LangGraph's (decisions.md, *Recording apps as their authors wrote
them*), for names that clash rather than are missing: an agent keeps its name while no other
agent has it (the root's is never taken); an agent used as a tool whose name is taken is named
after its tool, a handoff target after its own name, with ``_2``, ``_3`` until free (compared
without regard to case: the SDK's default tool name is the agent's in lower case). The target of
a handoff built from a spec keeps the spec's name: the spec writes a handoff cycle as copies of
one agent. Names are handed out walking the tree breadth first in declaration order, so every
run and every conversion of one agent gives the same names; the recorder (from the agent a run
starts with) and the conversion both call :func:`agent_names`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class AgentNames:
    """The names given to the agents of one tree, by object identity."""

    def __init__(self) -> None:
        # id → (the object, so its id is not reused; its name; its own name)
        self._given: dict[int, tuple[Any, str, str]] = {}
        self._taken: set[str] = set()

    def of(self, agent: Any, hint: str | None = None, *, keep: bool = False) -> str:
        """The name of ``agent``, given now if it has none yet: its own when free (or when
        ``keep``), else ``hint`` or its own with ``_2``, ``_3`` until free. An agent the walk
        did not reach (made during the run) still gets one."""
        known = self._given.get(id(agent))
        if known is not None and known[0] is agent:
            return known[1]
        own = str(getattr(agent, "name", "") or "agent")
        name = own
        if own.lower() in self._taken and not keep:
            base = hint or own
            name, n = base, 2
            while name.lower() in self._taken:
                name, n = f"{base}_{n}", n + 1
        self._given[id(agent)] = (agent, name, own)
        self._taken.add(name.lower())
        return name

    def clash(self, agent: Any) -> str | None:
        """For an agent whose name another agent shares, a sentence saying so (for an ``info``
        item of the conversion report); ``None`` when none does."""
        name = self.of(agent)
        own = self._given[id(agent)][2]
        others = [
            n
            for o, n, w in self._given.values()
            if w.lower() == own.lower() and o is not agent and n != own
        ]
        if name != own:
            return (
                f"the name '{own}' is another agent's: recorded and converted as '{name}' "
                "(the name of the tool that runs it, made unique)"
            )
        if not others:
            return None
        return (
            f"{len(others) + 1} agents are named '{own}': this one keeps its name, the others "
            f"are recorded and converted as {', '.join(repr(n) for n in others)}"
        )


def _children(agent: Any) -> Iterator[tuple[Any, str | None, bool]]:
    """The agents ``agent`` runs as tools (with the tools' names) and hands off to, in order,
    each with whether it keeps its own name."""
    from agents import Agent, FunctionTool

    from nex_openai_agents.build import ProtocolHandoff

    for tool in getattr(agent, "tools", None) or ():
        if isinstance(tool, FunctionTool) and getattr(tool, "_is_agent_tool", False):
            child = getattr(tool, "_agent_instance", None)
            if child is not None:
                yield child, tool.name, False
    for item in getattr(agent, "handoffs", None) or ():
        if isinstance(item, Agent):
            yield item, None, False
            continue
        ref = getattr(item, "_agent_ref", None)
        child = ref() if ref is not None else None
        if isinstance(child, Agent):
            yield child, None, isinstance(item, ProtocolHandoff)


def agent_names(root: Any) -> AgentNames:
    """Names for ``root`` and every agent it reaches."""
    names = AgentNames()
    names.of(root)
    queue, seen = [root], {id(root)}
    while queue:
        for child, hint, keep in _children(queue.pop(0)):
            if id(child) not in seen:  # one agent reached twice keeps its first name
                seen.add(id(child))
                names.of(child, hint, keep=keep)
                queue.append(child)
    return names


def recorded_name(recording: Any, agent: Any) -> str:
    """The name ``agent``'s model calls are recorded under in ``recording`` (a
    ``RunRecording``): the names are given from the first agent whose model the run asks for,
    the agent the run starts with."""
    names: AgentNames | None = getattr(recording, "names", None)
    if names is None:
        names = recording.names = agent_names(agent)
    return names.of(agent)
