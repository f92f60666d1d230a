"""Helpers for adapters that write Python source (``nex convert SPEC --to FRAMEWORK``).

Generated modules are meant to be read and kept, so values are written as Python literals that
fit the project's line length (100) when indented where they are used: short values on one line,
longer dicts and lists one item a line, long strings split at spaces into implicitly
concatenated pieces. The output passes ``ruff check`` with the project's rules.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Callable, Sequence
from typing import Any

LINE = 100
"""Line length generated code keeps to."""


def identifier(name: str) -> str:
    """``name`` as a Python identifier (non-word characters become ``_``)."""
    text = re.sub(r"\W", "_", name)
    if not text or text[0].isdigit() or keyword.iskeyword(text):
        text = f"_{text}"
    return text


def sorted_names(names: set[str] | list[str]) -> list[str]:
    """Imported names in the order isort (and ruff's ``I`` rules) keep them: constants, classes,
    then functions."""

    def key(name: str) -> tuple[int, str]:
        kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
        return kind, name

    return sorted(names, key=key)


def docstring(text: str, indent: int) -> str:
    """``text`` as a triple-quoted docstring for a body indented by ``indent``, wrapped to fit."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if indent + len(text) + 6 <= LINE:
        return f'"""{text}"""'
    pad = " " * indent
    lines = wrap(text, LINE - indent)
    return '"""' + lines[0] + "\n" + "".join(f"{pad}{line}\n" for line in lines[1:]) + pad + '"""'


def wrap(text: str, width: int) -> list[str]:
    """``text`` split at spaces into lines of at most ``width`` characters (where it can be)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current]


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _split_string(text: str, indent: int, width: int) -> str:
    room = max(20, width - indent - 8)
    pieces: list[str] = []
    current = ""
    for word in re.split(r"(?<= )", text):
        if current and len(_string(current + word)) > room:
            pieces.append(current)
            current = ""
        current += word
    if current:
        pieces.append(current)
    if not pieces:  # "" (the parentheses alone would be an empty tuple)
        return _string(text)
    pad = " " * (indent + 4)
    body = "\n".join(pad + _string(p) for p in pieces)
    return "(\n" + body + "\n" + " " * indent + ")"


def py_literal(value: Any, indent: int = 0, width: int = LINE, prefix: int = 0) -> str:
    """``value`` (JSON-like data) as Python source that starts after ``prefix`` characters on a
    line indented by ``indent`` and keeps every line within ``width``."""
    flat = _flat(value)
    if indent + prefix + len(flat) + 1 <= width:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, str):
        return _split_string(value, indent, width)
    if isinstance(value, dict) and value:
        items = [
            f"{pad}{_string(str(k))}: "
            f"{py_literal(v, indent + 4, width, prefix=len(_string(str(k))) + 3)},"
            for k, v in value.items()
        ]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list | tuple) and value:
        items = [f"{pad}{py_literal(v, indent + 4, width, prefix=1)}," for v in value]
        opening, closing = "[]" if isinstance(value, list) else "()"
        return opening + "\n" + "\n".join(items) + "\n" + " " * indent + closing
    return flat


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(str(k))}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


Expr = Callable[..., str]
"""Source of an expression: ``expr(indent, prefix=0)`` writes it to start after ``prefix``
characters of a line indented by ``indent``."""


class Source(str):
    """Text that is already Python source (a one-line expression), written as it is."""


def _render(value: Any, indent: int, prefix: int) -> str:
    if callable(value):
        return str(value(indent, prefix))
    if isinstance(value, Source):
        return str(value)
    return py_literal(value, indent, LINE, prefix)


def call(func: str, args: Sequence[Any] = (), kwargs: Sequence[tuple[str, Any]] = ()) -> Expr:
    """``func(args..., key=value, ...)`` on one line when it fits, else one argument a line.

    ``args`` and ``kwargs`` values are :class:`Source`, nested :data:`Expr` (other calls), or
    data written with :func:`py_literal`.
    """

    def render(indent: int, prefix: int = 0) -> str:
        flat_parts = [_render(a, 0, 0) for a in args]
        flat_parts += [f"{k}={_render(v, 0, 0)}" for k, v in kwargs]
        flat = f"{func}({', '.join(flat_parts)})"
        if indent + prefix + len(flat) <= LINE and "\n" not in flat:
            return flat
        pad = " " * (indent + 4)
        # Each argument ends with a comma: one character more on its last line.
        lines = [f"{pad}{_render(a, indent + 4, 1)}," for a in args]
        lines += [f"{pad}{k}={_render(v, indent + 4, len(k) + 2)}," for k, v in kwargs]
        return f"{func}(\n" + "\n".join(lines) + "\n" + " " * indent + ")"

    return render


def seq(items: Sequence[Any], brackets: str = "[]") -> Expr:
    """A list (or other bracketed sequence) of expressions, one a line when it does not fit."""

    def render(indent: int, prefix: int = 0) -> str:
        flat = brackets[0] + ", ".join(_render(i, 0, 0) for i in items) + brackets[1]
        if indent + prefix + len(flat) <= LINE and "\n" not in flat:
            return flat
        pad = " " * (indent + 4)
        body = "\n".join(f"{pad}{_render(i, indent + 4, 1)}," for i in items)
        return brackets[0] + "\n" + body + "\n" + " " * indent + brackets[1]

    return render
