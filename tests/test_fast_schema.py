"""The quick argument check answers "valid" only where jsonschema does (checked against
jsonschema itself over generated schemas and arguments), and knows the schemas it covers."""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from nex_core.runtime._fast_schema import certainly_valid

TYPES = ["string", "integer", "number", "boolean", "null", "array", "object"]

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=4,
)
property_schemas = st.one_of(
    st.just({}),
    st.sampled_from(TYPES).map(lambda t: {"type": t, "description": "d"}),
    st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True).map(
        lambda ts: {"type": ts}
    ),
)
names = st.sampled_from(["a", "b", "c"])
schemas = st.builds(
    lambda props, required, extra: {
        "type": "object",
        "properties": props,
        "required": required,
        **({} if extra is None else {"additionalProperties": extra}),
    },
    st.dictionaries(names, property_schemas, max_size=3),
    st.lists(names, max_size=2, unique=True),
    st.none() | st.booleans(),
)


@settings(max_examples=120, deadline=None)
@given(schemas, st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), values, max_size=4))
def test_valid_only_where_jsonschema_says_valid(
    schema: dict[str, Any], arguments: dict[str, Any]
) -> None:
    check = certainly_valid(schema)
    assert check is not None
    assert check(arguments) == jsonschema.Draft202012Validator(schema).is_valid(arguments)


def test_other_shapes_go_to_jsonschema() -> None:
    assert certainly_valid({"type": "object", "properties": {"a": {"enum": [1]}}}) is None
    assert certainly_valid({"type": "object", "properties": {"a": {"type": "date"}}}) is None
    assert certainly_valid({"$schema": "http://json-schema.org/draft-04/schema#"}) is None
    assert certainly_valid({"type": "object", "additionalProperties": {"type": "string"}}) is None
    assert certainly_valid({"type": "array"}) is None
