"""Tool bindings: resolved once before a run (a binding that cannot be resolved fails the run
before the first model call), Python functions bound, dumped, reloaded and re-attached with
``nex_core.bind``, and the README's example of it run exactly as written."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from binding_helpers import PING_SCRIPT, WatchingModel, fresh_tool_module, ping_agent

from nex_core import (
    AgentSpec,
    CallableBinding,
    ImportBinding,
    MCPBinding,
    MCPServerSpec,
    ScriptedModel,
    SubAgentSpec,
    TeamSpec,
    ToolBindingError,
    ToolSpec,
    bind,
    dump_spec,
    get_adapter,
    load_spec,
    run_native,
)
from nex_core.protocol.loader import spec_from_data
from nex_core.runtime.tools import resolve_bindings
from nex_core.trajectory.schema import LLMStep, OutcomeStatus, TaskInfo, ToolStep

README = Path(__file__).resolve().parents[1] / "README.md"
TASK = TaskInfo(id="t", turns=["ping it"])


def pong() -> str:
    return "pong"


# --------------------------------------------------------------------------- resolution


def test_every_unresolvable_binding_is_named_in_one_error() -> None:
    spec = AgentSpec(
        name="broken",
        mcp_servers={"clock": MCPServerSpec(command="python", args=["-m", "mcp_server_time"])},
        tools=[
            ToolSpec(name="a", binding="nex_no_such_module_xyz:run"),
            ToolSpec(name="b", binding="json:no_such_function"),
            ToolSpec(name="c", binding={"kind": "callable", "ref": "c_func"}),
            ToolSpec(name="d", binding={"server": "weather"}),
            ToolSpec(name="e", binding={"server": "clock"}),
            ToolSpec(name="f", binding="json:dumps"),
        ],
    )
    with pytest.raises(ToolBindingError) as caught:
        resolve_bindings(spec)
    text = str(caught.value)
    assert caught.value.summary == "4 tool bindings cannot be resolved"
    assert (
        "agent 'broken', tool 'a': tool binding 'nex_no_such_module_xyz:run': cannot import" in text
    )
    assert "tool 'b': tool binding 'json:no_such_function': 'json' has no attribute" in text
    assert "tool 'c': callable 'c_func' was not supplied" in text and "nex_core.bind" in text
    assert "tool 'd': MCP server 'weather' is not declared in mcp_servers (declared: clock)" in text
    assert "tool 'e'" not in text and "tool 'f'" not in text


def test_a_module_that_fails_on_import_is_a_binding_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nex_exploding_tools.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        ToolBindingError, match="importing module 'nex_exploding_tools' failed: RuntimeError: boom"
    ):
        resolve_bindings(ping_agent("nex_exploding_tools:ping"))


def test_servers_of_an_outside_pool_are_not_second_guessed() -> None:
    resolve_bindings(ping_agent({"server": "from_the_gap_config"}), check_mcp_servers=False)


@pytest.mark.parametrize(
    "binding, reason",
    [
        ("nex_no_such_module_xyz:ping", "cannot import module 'nex_no_such_module_xyz'"),
        ({"kind": "callable", "ref": "ping"}, "callable 'ping' was not supplied"),
        ({"server": "nowhere"}, "MCP server 'nowhere' is not declared"),
    ],
)
def test_native_run_fails_before_the_first_model_call(binding: object, reason: str) -> None:
    model = ScriptedModel(PING_SCRIPT)
    traj = asyncio.run(run_native(ping_agent(binding), TASK, model=model))
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert traj.outcome.error is not None and traj.outcome.error.type == "ToolBindingError"
    assert reason in traj.outcome.error.message
    assert traj.outcome.stop_reason == "ToolBindingError"
    assert traj.steps == [] and model.calls == []


def test_native_run_imports_tool_modules_before_the_first_model_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    module = fresh_tool_module(tmp_path)
    model = WatchingModel(PING_SCRIPT, module)
    traj = asyncio.run(run_native(ping_agent(f"{module}:ping"), TASK, model=model))
    assert model.imported_at_call == [True, True]
    assert [s.result for s in traj.steps if isinstance(s, ToolStep)] == ["pong"]


# --------------------------------------------------------------------------- binding functions


def test_a_function_is_a_binding() -> None:
    tool = ToolSpec(name="ping", binding=pong)
    assert tool.binding == CallableBinding(ref="pong", func=pong)
    assert tool.binding.func is pong  # type: ignore[union-attr]
    assert "func" not in tool.model_dump()


def test_bind_reattaches_functions_after_a_dump_and_reload() -> None:
    spec = ping_agent(pong)
    reloaded = spec_from_data(__import__("yaml").safe_load(dump_spec(spec)))
    assert isinstance(reloaded, AgentSpec)
    binding = reloaded.tools[0].binding
    assert isinstance(binding, CallableBinding) and binding.ref == "pong" and binding.func is None
    bound = bind(reloaded, {"pong": pong})
    assert bound.tools[0].binding.func is pong  # type: ignore[union-attr]
    assert reloaded.tools[0].binding.func is None  # type: ignore[union-attr]  # not changed
    traj = asyncio.run(run_native(bound, TASK, model=ScriptedModel(PING_SCRIPT)))
    assert traj.outcome is not None and traj.outcome.final_output == "pong received"


def test_bind_reaches_sub_agents_and_team_members_by_ref_or_tool_name() -> None:
    child = ping_agent({"kind": "callable", "ref": "ping_impl"}, name="child")
    parent = AgentSpec(name="parent", sub_agents=[SubAgentSpec(agent=child)])
    team = TeamSpec(name="crew", members=[parent, ping_agent({"ref": "other"}, name="member")])
    bound = bind(team, {"ping_impl": pong, "ping": lambda: "by tool name"})
    bindings = [t.binding for a in bound.walk() for t in a.tools]
    assert [b.ref for b in bindings] == ["ping_impl", "other"]  # type: ignore[union-attr]
    assert bindings[0].func is pong  # type: ignore[union-attr]  # the ref wins over the name
    assert bindings[1].func() == "by tool name"  # type: ignore[union-attr,misc]


def test_bind_keeps_functions_and_their_objects_uncopied() -> None:
    class Counter:
        def __init__(self) -> None:
            self.calls = 0

        def ping(self) -> str:
            self.calls += 1
            return "pong"

    counter = Counter()
    spec = AgentSpec(
        name="two",
        tools=[
            ToolSpec(name="ping", binding=counter.ping),
            ToolSpec(name="other", binding={"ref": "o"}),
        ],
    )
    bound = bind(spec, {"o": pong})
    assert bound.tools[0].binding.func.__self__ is counter  # type: ignore[union-attr]
    asyncio.run(run_native(bound, TASK, model=ScriptedModel(PING_SCRIPT)))
    assert counter.calls == 1


def test_bind_refuses_unknown_names_and_values_that_are_not_functions() -> None:
    spec = ping_agent({"ref": "ping"})
    with pytest.raises(
        ToolBindingError,
        match=r"no callable-bound tool is named 'pnig' \(callable bindings and their tools: ping\)",
    ):
        bind(spec, {"pnig": pong})
    with pytest.raises(ToolBindingError, match="str object is not callable"):
        bind(spec, {"ping": "pong"})  # type: ignore[dict-item]
    with pytest.raises(ToolBindingError, match="named 'ping'"):
        bind(ping_agent(ImportBinding(path="json:dumps")), {"ping": pong})


def test_an_mcp_binding_is_left_alone_by_bind() -> None:
    spec = AgentSpec(
        name="a",
        tools=[
            ToolSpec(name="t", binding=MCPBinding(server="s")),
            ToolSpec(name="p", binding=pong),
        ],
    )
    assert bind(spec, {"pong": pong}).tools[0].binding == MCPBinding(server="s")


# --------------------------------------------------------------------------- the README


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, f"the README's '{title}' section should hold one Python example"
    return blocks[0]


def test_the_readme_example_of_binding_functions_runs_as_written(tmp_path: Path) -> None:
    code = readme_section("Binding Python functions")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["5", "ToolBindingError", "5"]
    assert load_spec(tmp_path / "calculator.yaml").tools[0].binding == CallableBinding(ref="add")  # type: ignore[union-attr]


# --------------------------------------------------------------------------- sync run in a loop


def test_native_adapter_run_works_inside_a_running_event_loop() -> None:
    native = get_adapter("native")

    async def app() -> object:
        return native.run(ping_agent(pong), TASK, model=ScriptedModel(PING_SCRIPT))

    traj = asyncio.run(app())
    assert traj.outcome.final_output == "pong received"  # type: ignore[attr-defined]
    assert [type(s) for s in traj.steps] == [LLMStep, ToolStep, LLMStep]  # type: ignore[attr-defined]
