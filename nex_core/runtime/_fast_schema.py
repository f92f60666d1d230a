"""A quick "certainly valid" for the argument schemas most tools have.

Validating a call's arguments with jsonschema is a Python walk of the schema's keywords on every
call (a fifth of the native runtime's time per step). Most function tools declare a flat object
of typed properties; for exactly that shape the verdict takes a few dictionary lookups. The
check only ever answers "valid" where jsonschema (draft 2020-12, the default) would; any other
case (another keyword, another draft, a value it is unsure of) goes to jsonschema, which also
writes the error message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "deprecated"})
_OBJECT_KEYS = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}
_PROPERTY_KEYS = _ANNOTATIONS | {"type"}


def _integer(value: Any) -> bool:
    kind = type(value)
    return kind is int or (kind is float and value.is_integer())


_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: type(v) is str,
    "integer": _integer,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "array": lambda v: type(v) is list,
    "object": lambda v: type(v) is dict,
}


def _property_check(schema: Any) -> Callable[[Any], bool] | None:
    if not isinstance(schema, dict) or not set(schema) <= _PROPERTY_KEYS:
        return None
    declared = schema.get("type")
    if declared is None:
        return lambda v: True
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not names or not all(n in _TYPES for n in names):
        return None
    checks = [_TYPES[n] for n in names]
    if len(checks) == 1:
        return checks[0]
    return lambda v: any(check(v) for check in checks)


def certainly_valid(schema: dict[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    """A check that returns True only for arguments ``schema`` accepts, or None when the
    schema is not of the flat shape it knows."""
    if not set(schema) <= _OBJECT_KEYS or schema.get("type", "object") != "object":
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, dict) or not isinstance(required, list):
        return None
    if not all(isinstance(name, str) for name in required) or type(extra) is not bool:
        return None
    checks: dict[str, Callable[[Any], bool]] = {}
    for name, sub in properties.items():
        check = _property_check(sub)
        if check is None:
            return None
        checks[name] = check

    def valid(arguments: dict[str, Any]) -> bool:
        for name in required:
            if name not in arguments:
                return False
        for name, value in arguments.items():
            check = checks.get(name)
            if check is None:
                if not extra:
                    return False
            elif not check(value):
                return False
        return True

    return valid
