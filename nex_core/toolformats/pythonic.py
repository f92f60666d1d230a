"""Pythonic calls: a Python list of keyword calls, ``[get_weather(city="Paris"), add(a=1)]``.

The style of Llama 4 (and Llama 3.2 served through vLLM's ``pythonic`` tool parser), not the JSON
form of the official Llama 3.1/3.2 templates (that is ``llama3_json``). No template for it ships
in a package here, so it follows vLLM's parser: the call list is the reply's last line, arguments
are Python literals, results come back as text in a user turn.
"""

from __future__ import annotations

import ast
import keyword
import math
import unicodedata
from collections.abc import Sequence
from typing import Any

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_value,
    dumps,
    tool_json_lines,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema


def _py_literal(value: Any) -> str:
    """JSON value as Python source that ``ast.literal_eval`` reads back equal."""
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{_py_literal(str(k))}: {_py_literal(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_py_literal(v) for v in value) + "]"
    return repr(value)


def _plain_name(name: str) -> bool:
    """A name Python reads back unchanged: an identifier, not a keyword, and already in NFKC
    form (Python normalizes identifiers, so ``º=1`` would come back as ``o=1``)."""
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and unicodedata.normalize("NFKC", name) == name
    )


def _jsonish(value: Any, where: str) -> Any:
    """A literal as a JSON value; what JSON has no value for (complex, set, bytes, NaN, an
    Ellipsis) is a format error, not a crash further on."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolFormatError(f"argument of {where} is not a finite number: {value!r}")
        return value
    if isinstance(value, tuple | list):
        return [_jsonish(v, where) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ToolFormatError(f"argument of {where} has a non-string key {k!r}")
            out[k] = _jsonish(v, where)
        return out
    raise ToolFormatError(
        f"argument of {where} is a Python {type(value).__name__}, which JSON cannot hold"
    )


def _literal(node: ast.AST, where: str) -> Any:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ToolFormatError(f"argument of {where} is not a literal: {exc}") from None
    return _jsonish(value, where)


class PythonicToolFormat(ToolCallFormat):
    name = "pythonic"
    family = "Llama 4, Llama 3.2 through vLLM's pythonic parser (ToolACE, etc.)"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return (
            "You can call functions. To call them, end your reply with one line holding a Python "
            'list of calls with keyword arguments, for example [get_weather(city="Paris")].\n'
            f"Functions (JSON Schema):\n{tool_json_lines(tools)}"
        )

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        rendered = []
        for c in calls:
            name = c.function.name
            if not _plain_name(name):
                raise ToolFormatError(f"cannot express: tool name '{name}' is not an identifier")
            value = args_value(c)
            if not isinstance(value, dict):
                raise ToolFormatError(f"cannot express: arguments of '{name}' are not an object")
            plain = [k for k in value if _plain_name(k)]
            odd = {k: v for k, v in value.items() if k not in plain}
            args = [f"{k}={_py_literal(value[k])}" for k in plain]
            if odd:
                args.append(f"**{_py_literal(odd)}")
            rendered.append(f"{name}({', '.join(args)})")
        line = "[" + ", ".join(rendered) + "]"
        return f"{text}\n{line}" if text else line

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        cut = text.rfind("\n[")
        start = cut + 1 if cut >= 0 else (0 if text.startswith("[") else -1)
        if start < 0:
            return text.strip(), []
        try:
            tree = ast.parse(text[start:].strip(), mode="eval").body
        except UnicodeEncodeError:
            raise ToolFormatError("the call list is not valid Unicode", position=start) from None
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return text.strip(), []  # not Python: an answer that happens to start with "["
        if (
            not isinstance(tree, ast.List)
            or not tree.elts
            or not all(isinstance(e, ast.Call) for e in tree.elts)
        ):
            return text.strip(), []
        calls = []
        for call in tree.elts:
            assert isinstance(call, ast.Call)
            if not isinstance(call.func, ast.Name) or call.args:
                raise ToolFormatError("a call must be name(keyword=value, ...)", position=start)
            where = call.func.id
            arguments: dict[str, Any] = {}
            for kw in call.keywords:
                value = _literal(kw.value, where)
                if kw.arg is not None:
                    arguments[kw.arg] = value
                elif isinstance(value, dict):
                    arguments.update(value)
                else:
                    raise ToolFormatError(f"** argument of {where} is not a dict")
            calls.append(ParsedCall(where, dumps(arguments)))
        return text[:start].strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"Output of {name}:\n{result}"
