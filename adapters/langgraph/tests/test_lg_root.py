"""The top graph call of a hooked session is recorded by its wrapper (``_root``): no callback
manager in the config LangGraph gets, and the same record the callbacks make."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

import nex_langgraph._run as run_module
import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.channels.ephemeral_value import EphemeralValue
from langgraph.graph import START, StateGraph
from nex_langgraph import _capture, _hooks, _root, bridge_model, record, recording
from nex_langgraph._run import Mode
from typing_extensions import TypedDict

from nex_core import ScriptedModel, normalize

SCRIPT: dict[str, Any] = {
    "agents": {
        "lead": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]},
            {"tool_calls": [{"name": "checker", "arguments": {"query": "check 5"}}]},
            {"text": "5, checked."},
        ],
        "checker": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 5, "b": 0}}]},
            {"text": "ok"},
        ],
    }
}
TURN = {"messages": [{"role": "user", "content": "Go."}]}


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def make_graph(script: dict[str, Any] | None = None) -> Any:
    model = ScriptedModel(script or SCRIPT)
    checker_agent = create_agent(
        bridge_model(model, agent="checker"), [add], system_prompt="You check.", name="checker"
    )

    async def acheck(query: str) -> str:
        result = await checker_agent.ainvoke({"messages": [{"role": "user", "content": query}]})
        return str(result["messages"][-1].content)

    def check(query: str) -> str:
        result = checker_agent.invoke({"messages": [{"role": "user", "content": query}]})
        return str(result["messages"][-1].content)

    from langchain_core.tools import StructuredTool

    checker = StructuredTool.from_function(
        func=check, coroutine=acheck, name="checker", description="Checks sums."
    )
    return create_agent(
        bridge_model(model, agent="lead"),
        [add, checker],
        system_prompt="Compute, then check.",
        name="lead",
    )


class _Seen:
    """The configs LangGraph's own graph methods were given, and the local handlers made."""

    def __init__(self) -> None:
        self.configs: list[Any] = []
        self.local: list[Any] = []


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Seen]:
    _capture._install()  # the wrappers stay installed (inert) once installed
    _capture._uninstall()
    found = _Seen()
    originals = _capture._originals
    assert originals is not None

    def spy(original: Any) -> Any:
        def call(graph: Any, value: Any, config: Any = None, **kwargs: Any) -> Any:
            found.configs.append(config)
            return original(graph, value, config, **kwargs)

        return call

    monkeypatch.setattr(_capture, "_originals", tuple(spy(o) for o in originals))
    made = _hooks._GraphRun.__init__

    def local(self: Any, hooked: Any, run_id: Any) -> None:
        found.local.append(hooked.parent)
        made(self, hooked, run_id)

    monkeypatch.setattr(_hooks._GraphRun, "__init__", local)
    yield found


def _callbacks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "hookable", lambda *args: False)


def _no_manager(config: Any) -> bool:
    return not (config or {}).get("callbacks")


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_the_top_run_gets_no_callback_manager_and_records_as_the_callbacks(
    mode: Mode, seen: _Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked = record(make_graph(), "Go.", mode=mode)
    assert _no_manager(seen.configs[0])  # the top call's config, as the app's
    assert None not in seen.local  # only the agent called from the tool got a local handler
    assert len(seen.local) == 1
    with monkeypatch.context() as patch:
        _callbacks_only(patch)
        called = record(make_graph(), "Go.", mode=mode)
    assert normalize(hooked) == normalize(called)
    sub = next(s for s in hooked.steps if s.kind == "subagent")
    assert sub.output == "ok" and hooked.outcome is not None
    assert hooked.outcome.final_output == "5, checked."


async def _collect(stream: Any) -> list[Any]:
    return [chunk async for chunk in stream]


CALLS: dict[str, Any] = {
    "invoke": lambda g: g.invoke(TURN),
    "ainvoke": lambda g: asyncio.run(g.ainvoke(TURN)),
    "stream values": lambda g: list(g.stream(TURN, stream_mode="values", output_keys=["messages"])),
    "astream modes": lambda g: asyncio.run(
        _collect(g.astream(TURN, stream_mode=["messages", "values"], output_keys=["messages"]))
    ),
    "invoke output_keys": lambda g: g.invoke(TURN, output_keys=["messages"]),
}
"""App calls whose top run the wrapper records."""
KEPT: dict[str, Any] = {
    "stream updates": lambda g: list(g.stream(TURN, stream_mode="updates")),
    "astream jump_to": lambda g: asyncio.run(_collect(g.astream(TURN, stream_mode="values"))),
    "stream subgraphs": lambda g: list(g.stream(TURN, stream_mode="values", subgraphs=True)),
    "invoke updates": lambda g: g.invoke(TURN, stream_mode="updates"),
    "invoke v2": lambda g: g.invoke(TURN, version="v2"),
}
"""App calls whose output the wrapper cannot read exactly: the top run keeps a local handler
(``create_agent``'s stream channels include ``jump_to``, an ``EphemeralValue``)."""


@pytest.mark.parametrize("how", [*CALLS, *KEPT])
def test_captured_calls_record_as_the_callbacks(
    how: str, seen: _Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = {**CALLS, **KEPT}[how]
    with recording() as rec:
        call(make_graph())
    top = seen.configs[0] if how.startswith("stream") or how.startswith("astream") else None
    if how in CALLS:
        assert None not in seen.local and len(seen.local) == 1
        assert top is None or _no_manager(top)
    else:
        assert seen.local.count(None) == 1  # the top run's local handler
    with monkeypatch.context() as patch:
        _callbacks_only(patch)
        with recording() as plain:
            call(make_graph())
    assert len(rec.trajectories) == len(plain.trajectories) == 1
    assert normalize(rec.trajectories[0]) == normalize(plain.trajectories[0])
    outcome = rec.trajectories[0].outcome
    assert outcome is not None and outcome.final_output == "5, checked."


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_a_failed_top_run_records_as_the_callbacks(
    mode: Mode, seen: _Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = {"agents": {"lead": SCRIPT["agents"]["lead"][:1], "checker": []}}
    hooked = record(make_graph(short), "Go.", mode=mode)
    assert None not in seen.local
    with monkeypatch.context() as patch:
        _callbacks_only(patch)
        called = record(make_graph(short), "Go.", mode=mode)
    assert hooked.outcome is not None and hooked.outcome.status.value == "error"
    assert normalize(hooked) == normalize(called)


def test_a_stream_closed_early_records_as_the_callbacks(
    seen: _Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    def two(graph: Any) -> None:
        stream = graph.stream(TURN, stream_mode="values", output_keys=["messages"])
        for i, _ in enumerate(stream):
            if i == 2:
                break
        stream.close()

    with recording() as rec:
        two(make_graph())
    assert None not in seen.local
    with monkeypatch.context() as patch:
        _callbacks_only(patch)
        with recording() as plain:
            two(make_graph())
    outcome = rec.trajectories[0].outcome
    assert outcome is not None and outcome.stop_reason == "stream_closed"
    assert normalize(rec.trajectories[0]) == normalize(plain.trajectories[0])


class _Top(BaseCallbackHandler):
    """What LangGraph tells a handler of the top run: its name and its output."""

    def __init__(self) -> None:
        self.names: list[Any] = []
        self.outputs: list[Any] = []
        self.top: Any = None

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, **kw: Any) -> None:
        if kw.get("parent_run_id") is None:
            self.top = run_id
            self.names.append(kw.get("name"))

    def on_chain_end(self, outputs: Any, *, run_id: Any, **kw: Any) -> None:
        if run_id == self.top:
            self.outputs.append(outputs)


class Flow(TypedDict):
    text: str


def _flow() -> Any:
    builder = StateGraph(Flow)
    builder.add_node("step", lambda state: {"text": state["text"] + "!"})
    builder.add_edge(START, "step")
    return builder.compile(name="flow")


@pytest.mark.parametrize("where", ["none", "call", "bound", "ambient", "ambient and call"])
def test_the_run_name_is_the_one_langgraph_gives_the_run(where: str) -> None:
    graph = _flow()
    config: dict[str, Any] = {}
    if where == "bound":
        graph = graph.with_config(run_name="bound")
    if where in ("call", "ambient and call"):
        config["run_name"] = "given"
    top = _Top()
    token = var_child_runnable_config.set(
        {"run_name": "ambient", "callbacks": [top]} if where.startswith("ambient") else None
    )
    try:
        expected = _root._run_name(graph, config)
        graph.invoke(
            {"text": "a"}, config if where.startswith("ambient") else {**config, "callbacks": [top]}
        )
    finally:
        var_child_runnable_config.reset(token)
    names = {"none": "flow", "call": "given", "bound": "bound", "ambient": "ambient"}
    assert top.names == [expected] == [names.get(where, "given")]


def test_the_output_is_the_one_langgraph_reports() -> None:
    graph = make_graph()
    top = _Top()
    result = graph.invoke(TURN, {"callbacks": [top]})
    assert _root._output(result) == top.outputs[0]
    assert _root._output(result) is result  # nothing to take out: the very dict
    assert _root._output(None) == {}
    assert _root._output({"a": 1, "__interrupt__": ()}) == {"a": 1}


class Marked(TypedDict):
    text: str
    mark: Annotated[str, EphemeralValue]


def _marked() -> Any:
    builder = StateGraph(Marked)
    builder.add_node("first", lambda state: {"text": state["text"] + "!", "mark": "x"})
    builder.add_node("second", lambda state: {})
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    return builder.compile(name="marked")


def test_an_ephemeral_output_channel_keeps_the_local_handler() -> None:
    """Why the wrapper checks the channels: a step that writes nothing clears an ephemeral
    channel without a chunk, so the last chunk is not what LangGraph reports at the end."""
    graph = _marked()
    top = _Top()
    chunks = list(graph.stream({"text": "a"}, {"callbacks": [top]}, stream_mode="values"))
    assert chunks[-1] == {"text": "a!", "mark": "x"}
    assert top.outputs == [{"text": "a!"}]
    assert _root.streamed(graph, None, {"stream_mode": "values"}) is None
    assert _root.streamed(graph, None, {"stream_mode": "values", "output_keys": ["text"]})
    assert _root.invoked(None, graph, {}, None, {}) is None  # type: ignore[arg-type]
