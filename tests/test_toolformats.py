"""Every tool-invocation format: render → parse round trips, parser robustness, what each family
cannot express, and the pythonic parser's literals (issue 9 item 10)."""

from __future__ import annotations

import contextlib
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nex_core.errors import ToolFormatError
from nex_core.plugins import get_plugin_manager
from nex_core.runtime.tools import SUBAGENT_PARAMETERS
from nex_core.toolformats import (
    BUILTIN_FORMATS,
    FORMAT_CLASSES,
    ToolCallFormat,
    deepseek,
    get_format,
    nexau,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema

FORMATS: dict[str, ToolCallFormat] = {cls.name: BUILTIN_FORMATS[cls.name] for cls in FORMAT_CLASSES}
FAMILY_FORMATS = [n for n in FORMATS if n not in {"native"}]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
identifiers = (
    st.text(string.ascii_letters + "_", min_size=1, max_size=6)
    .flatmap(
        lambda head: st.text(string.ascii_letters + string.digits + "_", max_size=8).map(
            lambda t: head + t
        )
    )
    .filter(lambda s: s not in {"None", "True", "False"} and not __import__("keyword").iskeyword(s))
)
arguments = st.dictionaries(identifiers, json_values, max_size=4)
prose = st.one_of(
    st.none(),
    st.text(string.ascii_letters + string.digits + " .,?!'é😀", min_size=1, max_size=30).filter(
        lambda t: t.strip() == t and t != ""
    ),
)


def _schema_of(value: Any) -> dict[str, Any]:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    kind |= {dict: "object", type(None): "null"}
    return {"type": kind[type(value)]}


def _tools(specs: list[tuple[str, dict[str, Any]]]) -> list[ToolSchema]:
    """Schemas typed from the values, as the runtime passes the agent's real schemas."""
    seen: dict[str, ToolSchema] = {}
    for name, args in specs:
        props = {k: _schema_of(v) for k, v in args.items()}
        seen.setdefault(
            name, ToolSchema(name=name, parameters={"type": "object", "properties": props})
        )
    return list(seen.values())


def _calls(specs: list[tuple[str, dict[str, Any]]]) -> list[ToolCall]:
    return [
        ToolCall.make(f"call{i}abcd", name, json.dumps(args, ensure_ascii=False))
        for i, (name, args) in enumerate(specs)
    ]


def _consistent(specs: list[tuple[str, dict[str, Any]]]) -> bool:
    """One tool name, one schema: the same argument keeps one type across calls of a tool."""
    types: dict[tuple[str, str], str] = {}
    for name, args in specs:
        for k, v in args.items():
            if types.setdefault((name, k), _schema_of(v)["type"]) != _schema_of(v)["type"]:
                return False
    return True


def _round_trip(
    fmt: ToolCallFormat, text: str | None, specs: list[tuple[str, dict[str, Any]]]
) -> bool:
    calls = _calls(specs)
    tools = _tools(specs)
    try:
        rendered = fmt.render_calls(text, calls, tools)
    except ToolFormatError as exc:
        assert str(exc).startswith("cannot express:"), exc
        return False
    parsed_text, parsed = fmt.parse(rendered, tools)
    assert [p.name for p in parsed] == [c.function.name for c in calls], rendered
    assert [json.loads(p.arguments) for p in parsed] == [
        json.loads(c.function.arguments) for c in calls
    ], rendered
    assert parsed_text == (text or "").strip(), rendered
    return True


@pytest.mark.parametrize("name", sorted(FORMATS))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=prose,
    specs=st.lists(st.tuples(identifiers, arguments), min_size=1, max_size=3).filter(_consistent),
)
def test_render_then_parse_gives_back_text_and_calls(
    name: str, text: str | None, specs: list[tuple[str, dict[str, Any]]]
) -> None:
    fmt = FORMATS[name]
    if not fmt.parallel:
        specs = specs[:1]
    _round_trip(fmt, text, specs)


SAMPLE = [
    (
        "search",
        {"q": 'naïve 😀 "quoted" \\ back', "tags": ["a", "ü"], "opts": {"k": [1, {"x": None}]}},
    ),
    ("noop", {}),
    ("add", {"a": 1, "b": 2.5, "flag": True}),
]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_unicode_nested_and_empty_arguments_round_trip(name: str) -> None:
    """The deterministic core of the property above: every format holds these."""
    fmt = FORMATS[name]
    batches = [SAMPLE] if fmt.parallel else [[s] for s in SAMPLE]
    for batch in batches:
        text = None if name in {"llama3_json", "mistral"} else "Let me check é."
        assert _round_trip(fmt, text, batch), name


@pytest.mark.parametrize("name", sorted(n for n, f in FORMATS.items() if not f.parallel))
def test_one_call_families_refuse_a_batch_as_cannot_express(name: str) -> None:
    with pytest.raises(ToolFormatError, match=r"^cannot express: 2 calls in one turn"):
        FORMATS[name].render_calls(None, _calls(SAMPLE[:2]))


@pytest.mark.parametrize(
    ("name", "text", "args"),
    [
        ("llama3_json", "prose the template drops", {"a": 1}),
        ("mistral", "pre-v11 turns hold prose or calls", {"a": 1}),
        ("qwen3_coder", None, {"v": "a </parameter> inside"}),
        ("glm45", None, {"v": "a </arg_value> inside"}),
        ("minimax_m2", None, {"v": "a </parameter> inside"}),
        ("nexau", None, {"v": " padded "}),
        ("nexau", None, {"not a tag": 1}),
        ("pythonic", None, None),
    ],
)
def test_what_a_family_cannot_express_is_a_counted_error(
    name: str, text: str | None, args: dict[str, Any] | None
) -> None:
    call = ToolCall.make("c1", "f", "[1, 2]" if args is None else json.dumps(args))
    with pytest.raises(ToolFormatError, match=r"^cannot express:"):
        FORMATS[name].render_calls(text, [call])


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_plain_text_has_no_calls(name: str) -> None:
    text, calls = FORMATS[name].parse("The answer is 42.")
    assert calls == [] and text == "The answer is 42."


MARKERS = [
    "<tool_call>",
    "</tool_call>",
    "<function=",
    "<parameter=",
    "</parameter>",
    "<arg_key>",
    "<arg_value>",
    "[TOOL_CALLS]",
    "[ARGS]",
    "[",
    '{"name"',
    "<|python_tag|>",
    "to=functions.",
    "<|message|>",
    "<|call|>",
    "<|tool_calls_section_begin|>",
    "<|tool_call_begin|>",
    "<|tool_call_argument_begin|>",
    "<minimax:tool_call>",
    '<invoke name="',
    "<tool_use>",
    "<tool_name>",
    "<parameter>",
    "<use_parallel_tool_calls>",
    "<parallel_tool>",
    "<sub-agent>",
    "Action: ",
    "\nAction Input: ",
    "```json\n",
    '"tool_calls"',
    "\n[",
    "f(",
    "**",
    "\ud800",
    "\x00",
    "1j",
    "{1, 2}",
    "b'x'",
    "</function>",
    "```",
    "\n",
]
markers = st.sampled_from(MARKERS) | st.sampled_from(
    [deepseek.CALLS_BEGIN, deepseek.CALL_BEGIN, deepseek.SEP, deepseek.CALL_END, deepseek.CALLS_END]
)
fragments = st.lists(
    st.one_of(markers, st.text(max_size=6), json_values.map(json.dumps)), max_size=12
)


@pytest.mark.parametrize("name", sorted(FORMATS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=fragments)
def test_parsers_raise_only_tool_format_errors(name: str, parts: list[str]) -> None:
    try:
        text, calls = FORMATS[name].parse("".join(parts), _tools([("f", {"a": 1})]))
    except ToolFormatError:
        return
    assert isinstance(text, str)
    for call in calls:
        assert isinstance(call.name, str) and isinstance(call.arguments, str)


@pytest.mark.parametrize("name", sorted(FORMATS))
@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_parsers_on_arbitrary_unicode(name: str, text: str) -> None:
    with contextlib.suppress(ToolFormatError):
        FORMATS[name].parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "[f(a=1j)]",
        "[f(a={1, 2})]",
        "[f(a=b'x')]",
        '[f(a="\ud800")]',
        "[f(a=1e999)]",
        "[f(**[1])]",
        "[f(a={1: 2})]",
        "[f(a=...)]",
    ],
)
def test_pythonic_literals_json_cannot_hold_are_tool_format_errors(text: str) -> None:
    """Issue 9 item 10: these raised TypeError / UnicodeEncodeError before."""
    with pytest.raises(ToolFormatError):
        FORMATS["pythonic"].parse(text)


def test_pythonic_keeps_names_python_would_normalize() -> None:
    """``º`` is an identifier Python reads as ``o``: it goes through ``**{...}`` instead."""
    call = ToolCall.make("c1", "f", json.dumps({"º": 1, "ﬁle": 2, "ok": 3}))
    text = FORMATS["pythonic"].render_calls(None, [call])
    assert json.loads(FORMATS["pythonic"].parse(text)[1][0].arguments) == {
        "º": 1,
        "ﬁle": 2,
        "ok": 3,
    }
    with pytest.raises(ToolFormatError, match=r"^cannot express"):
        FORMATS["pythonic"].render_calls(None, [ToolCall.make("c2", "ﬁnd", "{}")])


def test_pythonic_is_named_for_what_it_is() -> None:
    assert "Llama 4" in FORMATS["pythonic"].family
    assert "Llama 3.1" in FORMATS["llama3_json"].family


def test_every_format_is_registered_through_the_hook_with_aliases() -> None:
    registered = get_plugin_manager().merged("nex_tool_formats")
    assert set(FORMATS) <= set(registered)
    assert registered["xml"] is registered["nex_xml"]
    with pytest.raises(ToolFormatError, match=r"unknown tool format 'nope' \(known: .*hermes"):
        get_format("nope")


def test_results_come_back_in_each_familys_roles() -> None:
    results = [("add", "call_1", "3"), ("add", "call_2", "7")]
    hermes = FORMATS["hermes"].result_messages(results)
    assert [m.role for m in hermes] == ["user"]
    assert hermes[0].text() == (
        "<tool_response>\n3\n</tool_response>\n<tool_response>\n7\n</tool_response>"
    )
    llama = FORMATS["llama3_json"].result_messages(results[:1])
    assert [(m.role, m.tool_call_id, m.text()) for m in llama] == [("tool", "call_1", "3")]
    assert FORMATS["llama3_json"].template_result_role == "ipython"
    assert FORMATS["glm45"].render_results(results).startswith("<|observation|>\n<tool_response>")


def test_ids_where_the_family_writes_them() -> None:
    calls = _calls([("add", {"a": 1}), ("add", {"a": 2})])
    _, parsed = FORMATS["kimi_k2"].parse(FORMATS["kimi_k2"].render_calls(None, calls))
    assert [p.call_id for p in parsed] == ["functions.add:0", "functions.add:1"]
    _, parsed = FORMATS["mistral"].parse(FORMATS["mistral"].render_calls(None, calls))
    assert [p.call_id for p in parsed] == ["call0abcd", "call1abcd"]


def test_nexau_sub_agents_use_the_delegation_form_and_parse_back() -> None:
    assert nexau._SUBAGENT_PARAMETERS == SUBAGENT_PARAMETERS  # the runtime's agent-as-tool schema
    tools = [ToolSchema(name="researcher", parameters=SUBAGENT_PARAMETERS)]
    call = ToolCall.make("c1", "researcher", json.dumps({"task": "find 42"}))
    text = FORMATS["nexau"].render_calls(None, [call], tools)
    assert (
        "<tool_name>Agent</tool_name>" in text
        and "<sub_agent_name>researcher</sub_agent_name>" in text
    )
    assert FORMATS["nexau"].parse(text, tools)[1][0].name == "researcher"
    legacy = (
        "Delegating.\n<sub-agent>\n  <agent_name>researcher</agent_name>\n"
        "  <message>find 42</message>\n</sub-agent>"
    )
    prose, calls = FORMATS["nexau"].parse(legacy)
    assert prose == "Delegating." and [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("researcher", {"task": "find 42"})
    ]


def test_bare_value_families_read_values_by_schema() -> None:
    """``"1"`` and ``1`` are written alike; the tool's schema tells them apart, as vLLM does."""
    call = ToolCall.make("c1", "f", json.dumps({"s": "1", "n": 1}))
    typed = [
        ToolSchema(
            name="f",
            parameters={
                "type": "object",
                "properties": {"s": {"type": "string"}, "n": {"type": "integer"}},
            },
        )
    ]
    for name in ("qwen3_coder", "glm45", "minimax_m2", "nexau"):
        text = FORMATS[name].render_calls(None, [call], typed)
        assert json.loads(FORMATS[name].parse(text, typed)[1][0].arguments) == {"s": "1", "n": 1}
        assert json.loads(FORMATS[name].parse(text)[1][0].arguments) == {"s": 1, "n": 1}
