"""Every tool-invocation renderer parses back what it rendered (hypothesis round trips)."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nex_core.gap.export.formats import training_formats
from nex_core.plugins import get_plugin_manager
from nex_core.toolformats import ToolCallFormat, XMLToolFormat, builtin_formats
from nex_core.trajectory.schema import ToolCall

FORMATS: dict[str, ToolCallFormat] = {"xml": XMLToolFormat(), **training_formats()}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
identifiers = (
    st.text(string.ascii_letters + "_", min_size=1, max_size=6)
    .flatmap(
        lambda head: st.text(string.ascii_letters + string.digits + "_", max_size=10).map(
            lambda t: head + t
        )
    )
    .filter(lambda s: s not in {"None", "True", "False"} and not __import__("keyword").iskeyword(s))
)
arguments = st.dictionaries(st.one_of(identifiers, st.text(max_size=8)), json_values, max_size=4)
markers = (
    "<tool_call",
    "</tool_call",
    "Action:",
    "Action Input:",
    "Thought:",
    "```",
    "Final Answer:",
    "\n[",
    "tool_calls",
    "<tool_response",
)
prose = st.one_of(
    st.none(),
    st.text(string.ascii_letters + string.digits + " .,?!'", min_size=1, max_size=40).filter(
        lambda t: t.strip() == t and t.strip() != ""
    ),
).filter(lambda t: t is None or not any(m in t for m in markers))


def _calls(specs: list[tuple[str, dict[str, Any]]]) -> list[ToolCall]:
    return [ToolCall.make(f"call_{i}", name, args) for i, (name, args) in enumerate(specs)]


@pytest.mark.parametrize("name", sorted(FORMATS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=prose, specs=st.lists(st.tuples(identifiers, arguments), min_size=1, max_size=3))
def test_render_then_parse_gives_back_the_calls(
    name: str, text: str | None, specs: list[tuple[str, dict[str, Any]]]
) -> None:
    fmt = FORMATS[name]
    calls = _calls(specs)
    rendered = fmt.render_calls(text, calls)
    parsed_text, parsed = fmt.parse(rendered)
    assert [p.name for p in parsed] == [c.function.name for c in calls]
    assert [json.loads(p.arguments) for p in parsed] == [
        json.loads(c.function.arguments) for c in calls
    ]
    assert parsed_text == (text or "")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_plain_text_has_no_calls(name: str) -> None:
    text, calls = FORMATS[name].parse("The answer is 42.")
    assert calls == [] and text == "The answer is 42."


def test_every_renderer_is_registered_through_the_tool_format_hook() -> None:
    registered = get_plugin_manager().merged("nex_tool_formats")
    assert {"native", "xml", "hermes", "react", "pythonic", "json"} <= set(registered)


def test_examples_look_like_their_conventions() -> None:
    call = _calls([("add", {"a": 1, "b": 2})])
    assert FORMATS["hermes"].render_calls(None, call) == (
        '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'
    )
    assert FORMATS["react"].render_calls("adding", call) == (
        'Thought: adding\nAction: add\nAction Input: {"a": 1, "b": 2}'
    )
    assert FORMATS["pythonic"].render_calls(None, call) == "[add(a=1, b=2)]"
    odd = _calls([("f", {"not an identifier": [1, None], "class": True})])
    assert (
        FORMATS["pythonic"].render_calls(None, odd)
        == "[f(**{'not an identifier': [1, None], 'class': True})]"
    )


# --------------------------------------------------------------------------- formats at run time


def test_a_gap_config_crosses_agents_with_formats(tmp_path: Any) -> None:
    import yaml

    from nex_core.errors import SpecError
    from nex_core.gap.config import parse_config
    from nex_core.gap.plan import applicable_pairs, check_config, load_specs

    (tmp_path / "agent.yaml").write_text(
        "name: calc\nsub_agents:\n  - agent: {name: helper}\n", encoding="utf-8"
    )
    (tmp_path / "tasks.jsonl").write_text('{"id": "t1", "prompt": "hi"}\n', encoding="utf-8")
    data = {
        "tasks": ["tasks.jsonl"],
        "agents": [{"spec": "agent.yaml"}],
        "models": [{"name": "m", "ref": "scripted:x.yaml"}],
        "output": "out",
        "formats": ["native", "hermes", "gpt_oss"],
    }
    config = parse_config(yaml.safe_dump(data), "gap.yaml", tmp_path)
    specs = load_specs(config)
    assert list(specs) == ["calc/native", "calc/hermes", "calc/gpt_oss"]
    for name, spec in specs.items():
        assert {a.tool_format.value for a in spec.walk()} == {name.split("/")[1]}
    pairs, skipped = applicable_pairs(config, specs)
    assert ("calc/gpt_oss", "native") in pairs and skipped == {}

    bad = parse_config(
        yaml.safe_dump({**data, "formats": ["hermes", "nope"]}), "gap.yaml", tmp_path
    )
    with pytest.raises(SpecError) as info:
        check_config(bad)
    assert "gap.yaml" in str(info.value) and "unknown tool format 'nope'" in str(info.value)


def _one_call_sample() -> Any:
    from nex_core.gap.export.samples import Sample
    from nex_core.trajectory.schema import Message, ToolSchema

    add = ToolSchema(
        name="add",
        description="Add two numbers.",
        parameters={"type": "object", "properties": {"a": {"type": "number"}}},
    )
    call = ToolCall.make("c1", "add", {"a": 1})
    messages = [
        Message.system("Be exact."),
        Message.user("1?"),
        Message.assistant(None, [call]),
        Message.tool("c1", "1"),
        Message.assistant("1"),
    ]
    return Sample(messages, [add], "calc", "root")


@pytest.mark.parametrize("name", sorted(builtin_formats()))
def test_exported_results_sit_in_the_role_the_family_reads(name: str) -> None:
    """Families whose template wraps results (ipython, observation, [TOOL_RESULTS]) get one
    tool turn per result with its call id; the others one user turn of rendered text."""
    from nex_core.gap.export.render import render

    fmt = builtin_formats()[name]
    if fmt.structured:
        return
    conversation = render(_one_call_sample(), fmt)
    result_turns = conversation.turns[3:-1]
    if fmt.result_role == "tool":
        assert [(t.role, t.tool_call_id, t.name, t.content) for t in result_turns] == [
            ("tool", "c1", "add", "1")
        ]
    else:
        assert [t.role for t in result_turns] == ["user"]
        assert "1" in result_turns[0].content
