"""The native runtime runs an agent in every registered text tool format: the tools section goes
into the system prompt, the model writes the family's text, nex parses and runs the calls, the
results go back in the family's roles, and a malformed call is fed back as an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from native_helpers import agent, call, params, run, tool

from nex_core.errors import SpecError, ToolFormatError
from nex_core.protocol.loader import load_spec
from nex_core.protocol.spec import AgentSpec, ToolFormat
from nex_core.runtime.plugin import NativeAdapter
from nex_core.toolformats import get_format, text_format_names
from nex_core.trajectory.schema import LLMStep, StepStatus, ToolCall, ToolStep

TEXT_FORMATS = sorted(text_format_names())


def _add(a: int, b: int) -> int:
    return a + b


def _malformed(name: str, rendered: str) -> str:
    if name == "pythonic":
        return "[add(a=1j, b=2)]"  # a literal JSON cannot hold
    return rendered[:-4]  # the call cut off before its end


@pytest.mark.parametrize("name", TEXT_FORMATS)
def test_agent_runs_in_the_text_format(name: str) -> None:
    fmt = get_format(name)
    calls = [ToolCall.make("x1", "add", json.dumps({"a": 1, "b": 2}))]
    if fmt.parallel:
        calls.append(ToolCall.make("x2", "add", json.dumps({"a": 3, "b": 4})))
    prose = None if name in {"llama3_json", "mistral"} else "Adding."
    written = fmt.render_calls(prose, calls)
    broken = _malformed(name, written)
    with pytest.raises(ToolFormatError):
        fmt.parse(broken)
    spec = agent("calc", tool(_add, params(a="integer", b="integer"), name="add"), tool_format=name)
    traj, model = run(spec, [{"text": written}, {"text": broken}, {"text": "3 and 7"}])

    first = model.calls[0].request
    assert first.tools == []  # no native schemas: the tools are described in the text
    section = fmt.render_tools(_schemas(spec))
    assert section in first.messages[0].text()
    llm = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert llm[0].response is not None and llm[0].response.message.text() == written
    steps = [s for s in traj.steps if isinstance(s, ToolStep)]
    # The LLM steps record what nex parsed from the text, or the error it fed back.
    parsed = llm[0].metadata["tool_format"]
    assert parsed["name"] == name
    assert [(c["id"], c["name"]) for c in parsed["calls"]] == [(s.call_id, "add") for s in steps]
    assert llm[1].metadata["tool_format"]["error"] == feedback_error(model)
    assert llm[2].metadata["tool_format"] == {"name": name, "calls": []}
    assert [(s.name, s.arguments, s.status, s.result) for s in steps] == [
        ("add", json.loads(c.function.arguments), StepStatus.OK, a + b)
        for c, (a, b) in zip(calls, [(1, 2), (3, 4)], strict=False)
    ]
    results = model.calls[1].request.messages[len(first.messages) + 1 :]
    expected = fmt.result_messages([("add", s.call_id, str(s.result)) for s in steps])
    assert [(m.role, m.text()) for m in results] == [(m.role, m.text()) for m in expected]
    feedback = model.calls[2].request.messages[-1]
    assert feedback.role == "user" and feedback.text().startswith("Error: ToolFormatError: ")
    assert traj.outcome is not None and traj.outcome.final_output == "3 and 7"


def feedback_error(model: object) -> str:
    text = model.calls[2].request.messages[-1].text()  # type: ignore[attr-defined]
    return str(text).removeprefix("Error: ToolFormatError: ")


def _schemas(spec: AgentSpec) -> list:  # type: ignore[type-arg]
    from nex_core.runtime.tools import tool_handles

    return [h.schema for h in tool_handles(spec).values()]


@pytest.mark.parametrize("name", ["hermes", "qwen3_coder", "gpt_oss", "nexau"])
def test_scripted_structured_calls_are_written_in_the_agents_format(name: str) -> None:
    spec = agent("calc", tool(_add, params(a="integer", b="integer"), name="add"), tool_format=name)
    traj, _model = run(spec, [{"tool_calls": [call("add", {"a": 2, "b": 3})]}, {"text": "5"}])
    reply = next(s for s in traj.steps if isinstance(s, LLMStep)).response
    assert reply is not None and reply.message.tool_calls is None
    _, parsed = get_format(name).parse(reply.message.text())
    assert [(p.name, json.loads(p.arguments)) for p in parsed] == [("add", {"a": 2, "b": 3})]
    assert [s.result for s in traj.steps if isinstance(s, ToolStep)] == [5]


def test_qwen3_coder_arguments_are_typed_by_the_tools_schema() -> None:
    """``<parameter=a>\\n1\\n</parameter>`` is the number 1 for an integer parameter and the
    string "1" for a string one: the runtime gives the parser the agent's schemas."""

    def echo(s: str, n: int) -> str:
        return f"{s!r}:{n!r}"

    spec = agent("e", tool(echo, params(s="string", n="integer")), tool_format="qwen3_coder")
    text = (
        "<tool_call>\n<function=echo>\n<parameter=s>\n1\n</parameter>\n"
        "<parameter=n>\n1\n</parameter>\n</function>\n</tool_call>"
    )
    traj, _ = run(spec, [{"text": text}, {"text": "ok"}])
    assert [s.result for s in traj.steps if isinstance(s, ToolStep)] == ["'1':1"]


def test_spec_accepts_every_registered_format_and_names_them_for_an_unknown_one(
    tmp_path: Path,
) -> None:
    for name in TEXT_FORMATS:
        assert AgentSpec(name="a", tool_format=name).tool_format is ToolFormat(name)
    path = tmp_path / "agent.yaml"
    path.write_text("name: a\ntool_format: hermes3\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert "agent.yaml" in message and "unknown tool format 'hermes3'" in message
    assert "qwen3_coder" in message and "llama3_json" in message


def test_native_adapter_declares_every_text_format() -> None:
    assert NativeAdapter().text_formats() == text_format_names()
    spec = agent("a", tool_format="glm45")
    assert NativeAdapter().missing_text_formats(spec) == []


def test_conformance_marks_undeclared_text_formats_not_applicable() -> None:
    nex_conformance = pytest.importorskip("nex_conformance.engine")
    from nex_conformance.scenario import load_scenario

    from nex_core.adapter import Capability

    source = Path(nex_conformance.__file__).parent / "scenarios" / "xml_tool_format.yaml"
    scenario = load_scenario(source)
    hermes = scenario.model_copy(deep=True)
    for member in hermes.system.walk():
        member.tool_format = ToolFormat("hermes")

    class XmlOnly(NativeAdapter):
        name = "xml_only"
        capabilities = NativeAdapter.capabilities

        def text_formats(self) -> frozenset[str]:
            return super(NativeAdapter, self).text_formats()  # the default: xml only

    assert nex_conformance.missing_capabilities(XmlOnly(), scenario) == []
    assert nex_conformance.missing_capabilities(XmlOnly(), hermes) == [
        f"{Capability.TEXT_TOOL_FORMAT.value}:hermes"
    ]
    assert nex_conformance.missing_capabilities(NativeAdapter(), hermes) == []
