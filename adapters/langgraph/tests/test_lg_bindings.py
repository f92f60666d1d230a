"""Tool bindings through the real ``create_agent``, as on every backend: resolved before the run
(a module import is never a tool call's latency), an unresolvable binding a failed run recorded
before the first model call (never an exception out of ``run``), and ``run`` usable inside a
running event loop (a notebook, an async app)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from nex_langgraph import LangGraphAdapter, arun, run

from nex_core import AgentSpec, ScriptedModel, TaskInfo, ToolBindingError, ToolSpec, bind
from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.schema import LLMRequest, LLMResponse, OutcomeStatus, ToolStep

MODES = ["invoke", "stream", "ainvoke", "astream"]
TASK = TaskInfo(id="t", turns=["ping it"])
SCRIPT: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "ping", "arguments": {}}]},
    {"text": "pong received"},
]


def pong() -> str:
    return "pong"


def ping_agent(binding: Any) -> AgentSpec:
    return AgentSpec(
        name="pinger",
        tools=[
            ToolSpec(
                name="ping",
                description="Answers pong.",
                parameters={"type": "object", "properties": {}},
                binding=binding,
            )
        ],
    )


class WatchingModel(ScriptedModel):
    """Records, at each model call, whether ``module`` had been imported."""

    def __init__(self, script: list[dict[str, Any]], module: str | None = None) -> None:
        super().__init__(script)
        self.module = module
        self.imported_at_call: list[bool] = []

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        self.imported_at_call.append(self.module is not None and self.module in sys.modules)
        return await super().acomplete(request, agent=agent, tool_format=tool_format)


UNRESOLVABLE = [
    ("nex_no_such_module_xyz:ping", "cannot import module 'nex_no_such_module_xyz'"),
    ({"kind": "callable", "ref": "ping"}, "callable 'ping' was not supplied"),
    ({"server": "nowhere"}, "MCP server 'nowhere' is not declared"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("binding, reason", UNRESOLVABLE)
def test_an_unresolvable_binding_fails_the_run_before_the_first_model_call(
    binding: Any, reason: str, mode: str
) -> None:
    for entry in ("run", "arun"):
        model = ScriptedModel(SCRIPT)
        if entry == "run":
            traj = run(ping_agent(binding), TASK, model=model, mode=mode)  # type: ignore[arg-type]
        else:
            traj = asyncio.run(arun(ping_agent(binding), TASK, model=model, mode=mode))  # type: ignore[arg-type]
        assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR, entry
        assert traj.outcome.error is not None and traj.outcome.error.type == "ToolBindingError"
        assert reason in traj.outcome.error.message
        assert traj.steps == [] and model.calls == []
        assert traj.provenance.adapter == "langgraph"


def test_building_a_graph_with_an_unresolvable_binding_raises_the_binding_error() -> None:
    with pytest.raises(ToolBindingError, match="callable 'ping' was not supplied"):
        LangGraphAdapter().from_spec(ping_agent({"ref": "ping"}), model=ScriptedModel(SCRIPT))


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_tool_modules_are_imported_before_the_first_model_call(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"nex_fresh_lg_tools_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text('def ping() -> str:\n    return "pong"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    model = WatchingModel(SCRIPT, module)
    traj = run(ping_agent(f"{module}:ping"), TASK, model=model, mode=mode)  # type: ignore[arg-type]
    assert model.imported_at_call == [True, True]
    assert [s.result for s in traj.steps if isinstance(s, ToolStep)] == ["pong"]


def test_a_reloaded_spec_runs_once_its_functions_are_bound() -> None:
    import yaml

    from nex_core import dump_spec
    from nex_core.protocol.loader import spec_from_data

    reloaded = spec_from_data(yaml.safe_load(dump_spec(ping_agent(pong))))
    traj = run(bind(reloaded, {"pong": pong}), TASK, model=ScriptedModel(SCRIPT))
    assert traj.outcome is not None and traj.outcome.final_output == "pong received"


@pytest.mark.parametrize("mode", MODES)
def test_run_works_inside_a_running_event_loop(mode: str) -> None:
    adapter = LangGraphAdapter()

    async def app() -> list[Any]:
        # the adapter's run and the module's run, each called from inside the app's loop
        return [
            adapter.run(ping_agent(pong), TASK, model=ScriptedModel(SCRIPT), mode=mode),
            run(ping_agent(pong), TASK, model=ScriptedModel(SCRIPT), mode=mode),  # type: ignore[arg-type]
        ]

    for traj in asyncio.run(app()):
        assert traj.outcome.final_output == "pong received"
        assert [s.result for s in traj.steps if isinstance(s, ToolStep)] == ["pong"]
