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


# --------------------------------------------------------------------------- the program's end
#
# Every generated program ends the same way: ``converse(system, turns)`` (the framework's own
# multi-turn loop, which each writer gives), ``run(turns, model_ref, record_to)`` that builds the
# system and answers or records, and ``main()`` parsing ``--task`` (repeatable), ``--model`` and
# ``--record``. What is the same is written here once.

MCP_OPEN = "async with mcp_servers(MCP_SERVERS, schemas=MCP_SCHEMAS) as mcp:"
"""The line a program's ``run`` opens its MCP servers with (nex's MCP pool, as ``nex run``)."""

_OUTCOME = """\
    outcome = trajectory.outcome
    assert outcome is not None
    if outcome.status.value != "completed":
        error = f": {outcome.error.type}: {outcome.error.message}" if outcome.error else ""
        print(f"{outcome.status.value}{error}", file=sys.stderr)
        return 1
    print(outcome.final_output)
    return 0"""

_MAIN = """

def main() -> None:
    parser = {parser}
    parser.add_argument(
        "--task", action="append", required=True, help="user message; repeat for more turns"
    )
    {model_arg}
    parser.add_argument("--record", metavar="FILE", help="append the trajectory to this JSONL")
    args = parser.parse_args()
    # Tool bindings are import paths resolved from the current folder, as `nex run` does.
    sys.path.insert(0, os.getcwd())
    try:
        code = asyncio.run(run(args.task, args.model, args.record))
    except NexError as exc:
        print(f"error: {{exc}}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
"""


def indent(text: str, by: int) -> str:
    """``text`` with every non-empty line indented by ``by`` more spaces."""
    pad = " " * by
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def mcp_constants(spec: Any) -> str:
    """``MCP_SERVERS`` (every server ``spec``'s agents declare) and ``MCP_SCHEMAS`` (the tools
    whose schemas are asked of them at start: those the spec gives none) as module constants."""
    from nex_core.protocol.spec import MCPBinding

    servers: dict[str, Any] = {}
    schemas: dict[str, list[str]] = {}
    for each in spec.walk():
        for key, server in each.mcp_servers.items():
            servers.setdefault(key, server)
        for tool in each.tools:
            binding = tool.binding
            if isinstance(binding, MCPBinding) and tool.parameters is None:
                names = schemas.setdefault(binding.server, [])
                if (binding.tool or tool.name) not in names:
                    names.append(binding.tool or tool.name)
    data = {k: s.model_dump(mode="json", exclude_defaults=True) for k, s in servers.items()}
    prefix = len("MCP_SERVERS: dict[str, Any] = ")
    return (
        "\n# MCP servers, started by nex's MCP pool as `nex run` starts them, and the tools whose\n"
        "# schemas are asked of them when the program starts.\n"
        f"MCP_SERVERS: dict[str, Any] = {py_literal(data, 0, prefix=prefix)}\n"
        f"MCP_SCHEMAS: dict[str, list[str]] = {py_literal(schemas, 0, prefix=prefix + 6)}\n"
    )


def build_function(root: str, returns: str, doc: str, *, mcp: bool) -> str:
    """``build(model=None[, mcp=None])``: the program's system, from the writer's ``root``."""
    params = "model: ChatModel | None = None" + (", mcp: MCPServers | None = None" if mcp else "")
    out = f"def build({params}) -> {returns}:\n    {docstring(doc, 4)}\n"
    if mcp:
        out += (
            "    if mcp is None:\n"
            '        raise ValueError("MCP tools need the servers: build inside mcp_servers()")\n'
        )
    return out + f"    return {root}({'model, mcp' if mcp else 'model'})\n"


def run_body(system: str, record: Expr, *, opens: str | None = None, built: bool = False) -> str:
    """The body of ``run(turns, model_ref, record_to)`` after ``model`` is made: build the
    system (``system = build(model[, mcp])``, inside ``opens`` when given: an ``async with``
    line), print ``converse``'s answer, or record with ``record`` (an expression of ``system``,
    ``task`` and ``sink``) and print the outcome. ``built``: ``opens`` binds ``system`` itself."""
    pad = " " * (8 if opens else 4)
    lines = [f"    {opens}"] if opens else []
    if not built:
        lines.append(f"{pad}{system} = build({'model, mcp' if opens == MCP_OPEN else 'model'})")
    lines += [
        f"{pad}if record_to is None:",
        f"{pad}    print(await converse({system}, turns))",
        f"{pad}    return 0",
        f"{pad}with JSONLSink(record_to) as sink:",
        f"{pad}    task = TaskInfo(turns=turns)",
        f"{pad}    trajectory = {record(len(pad) + 4, len('trajectory = '))}",
    ]
    body = "\n".join(lines)
    return f"{body}\n{_OUTCOME}"


def program_main(converse: str, body: str, *, description: str, model_help: str) -> str:
    """The end of a generated program: the "running it" section with ``converse`` (its source,
    the framework's turn loop), ``run`` with ``body`` (see :func:`run_body`) and ``main()``.
    The program imports argparse, asyncio, os and sys, and JSONLSink, NexError, TaskInfo and
    make_model from nex_core."""
    parser = call("argparse.ArgumentParser", [], [("description", description)])
    model_arg = _model_argument(model_help)
    run = (
        "async def run(turns: list[str], model_ref: str | None, record_to: str | None) -> int:\n"
        "    model = make_model(model_ref) if model_ref else None\n"
        f"{body}"
    )
    main = _MAIN.format(parser=parser(4, len("parser = ")), model_arg=model_arg)
    return (
        "\n\n# --------------------------------------------------------------------------- "
        f"running it\n\n\n{converse.strip()}\n\n\n{run}\n{main}"
    )


def _model_argument(model_help: str) -> str:
    """``parser.add_argument("--model", help=...)`` at indent 4: on one line, or its two
    arguments on one line of their own, or one a line."""
    args = f'"--model", help={_string(model_help)}'
    if 4 + len(f"parser.add_argument({args})") <= LINE:
        return f"parser.add_argument({args})"
    if 8 + len(args) <= LINE:
        return f"parser.add_argument(\n        {args}\n    )"
    return call("parser.add_argument", ["--model"], [("help", model_help)])(4)
