"""``nex_core.codegen``: values and calls written as Python source that means the same value and
keeps to the line length, whatever the data."""

from __future__ import annotations

import ast
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nex_core.codegen import (
    LINE,
    Source,
    call,
    docstring,
    identifier,
    py_literal,
    seq,
    sorted_names,
)

WORDS = st.text(max_size=12)
TEXT = st.lists(WORDS, max_size=40).map(" ".join)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(TEXT, inner, max_size=6),
    max_leaves=30,
)


def lines_fit(source: str, first: int) -> bool:
    lines = source.split("\n")
    return first + len(lines[0]) <= LINE and all(len(line) <= LINE for line in lines[1:])


@settings(max_examples=100, deadline=None)
@given(JSON, st.integers(0, 40), st.integers(0, 30))
def test_a_literal_reads_back_as_the_value(value: Any, indent: int, prefix: int) -> None:
    source = py_literal(value, indent, prefix=prefix)
    assert ast.literal_eval(source) == value


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefgh"), TEXT, max_size=5), st.integers(0, 24))
def test_a_call_keeps_to_the_line_length(kwargs: dict[str, str], indent: int) -> None:
    expr = call("make_tool", [Source("model"), seq([call("inner", [], list(kwargs.items()))])], [])
    source = expr(indent, 7)
    assert lines_fit(" " * indent + "return " + source, 0) or max(map(len, kwargs.values())) > 60
    tree = ast.parse("x = " + source.replace("\n", "\n    "))
    assert isinstance(tree.body[0], ast.Assign)


def test_long_text_is_split_at_spaces() -> None:
    text = "word " * 60
    source = py_literal(text.strip(), 4, prefix=10)
    assert source.startswith("(\n") and ast.literal_eval(source) == text.strip()
    assert all(len(line) <= LINE for line in source.split("\n"))


def test_docstrings_names_and_import_order() -> None:
    assert docstring("short", 4) == '"""short"""'
    long = docstring("a " * 80, 4)
    assert long.startswith('"""a') and long.endswith('    """')
    assert all(len(line) <= LINE for line in long.split("\n"))
    assert identifier("fact-checker") == "fact_checker" and identifier("class") == "_class"
    assert sorted_names({"agent_tool", "SELECTOR_PROMPT", "MCPServers"}) == [
        "SELECTOR_PROMPT",
        "MCPServers",
        "agent_tool",
    ]
