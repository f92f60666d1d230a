"""Values as the recorder stores them: errors, tool results and tool-call arguments."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from pydantic import BaseModel

from nex_core.trajectory.schema import ErrorInfo


def error_info(error: BaseException | ErrorInfo | str) -> ErrorInfo:
    if isinstance(error, ErrorInfo):
        return error
    if isinstance(error, str):
        return ErrorInfo(type="Error", message=error)
    return ErrorInfo(type=type(error).__name__, message=str(error) or type(error).__name__)


_TEXT = frozenset({str})
_SCALARS = frozenset({str, int, float, bool, type(None)})
_PLAIN = (str, int, float, bool)  # a tuple: ``str | int ...`` would build a union per call


def to_jsonable(value: Any) -> Any:
    """A JSON-compatible form of a tool result (strings, numbers, lists, dicts stay as they are)."""
    if type(value) in _SCALARS or isinstance(value, _PLAIN):
        return value
    if type(value) is dict:
        if set(map(type, value)) <= _TEXT and set(map(type, value.values())) <= _SCALARS:
            # Tool arguments mostly: string keys, plain values; copied in C, not item by item.
            return dict(value)
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    return str(value)


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # not in typeshed
"""The decoder's C scanner, called directly for an object written ``{...}``: ``json.loads``
reaches it through two Python frames and a whitespace regex, twice its cost on a short text.
It takes the text and a start index and returns the value and where it ended."""


def parse_arguments(
    arguments: dict[str, Any] | str | None,
) -> tuple[dict[str, Any] | None, str | None]:
    """(parsed, raw): raw is kept only when parsing fails."""
    if type(arguments) is str and arguments[:1] == "{" and arguments[-1:] == "}":
        # Arguments as models write them. Anything else (spaces around the object, a value
        # that is not an object, malformed text) takes the path below, as before.
        try:
            value, end = _scan(arguments, 0)
        except (StopIteration, ValueError):
            pass
        else:
            if end == len(arguments) and type(value) is dict:
                return value, None
    if arguments is None:
        return {}, None
    if isinstance(arguments, dict):
        return to_jsonable(arguments), None
    if arguments == "{}":  # a tool without arguments, called as models call it
        return {}, None
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return None, arguments
    if not isinstance(value, dict):
        return None, arguments
    return value, None


def is_cancellation(error: BaseException) -> bool:
    import asyncio  # here, not at the top: importing the recorder must not import asyncio

    return isinstance(error, asyncio.CancelledError | KeyboardInterrupt)
