"""``parse_arguments`` reads ``{...}`` with the JSON scanner directly: the same result as
``json.loads`` (and the same fall-back to the raw text) for any text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nex_core.trajectory._values import parse_arguments

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def _by_loads(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """What parse_arguments returned before the scanner path: json.loads, raw text on failure."""
    if text == "{}":
        return {}, None
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return None, text
    if not isinstance(value, dict):
        return None, text
    return value, None


def _same(text: str) -> None:
    got, expected = parse_arguments(text), _by_loads(text)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True), text
    if got[0] is not None:
        assert type(got[0]) is dict


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), _json, max_size=4), st.sampled_from([None, 0, 2]),
       st.booleans())
def test_objects_written_any_way(value: dict[str, Any], indent: int | None, ascii: bool) -> None:
    _same(json.dumps(value, indent=indent, ensure_ascii=ascii))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_between_braces(inner: str) -> None:
    _same("{" + inner + "}")
    _same(inner)


def test_edge_cases() -> None:
    for text in [
        "{}", '{"a": 1}', ' {"a": 1}', '{"a": 1} ', '{"a": 1}}', '{"a": 1}{}', "{bad}", "{",
        "}", "{}}", '{"a": NaN}', '{"a": Infinity}', '{"a": 1, "a": 2}', '{"a": "\\ud800"}',
        "[1]", '"{}"', "", "   ", '{"a": {"b": [1, 2, {"c": null}]}}',
    ]:
        _same(text)
    assert parse_arguments('{"a": 1} x}') == (None, '{"a": 1} x}')
