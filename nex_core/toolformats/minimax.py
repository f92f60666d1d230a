"""MiniMax-M2: ``<minimax:tool_call>`` holding ``<invoke name=...>`` with ``<parameter name=...>``.

As MiniMax documents it (no copy of the template ships in a package here, so this follows the
form in the project's ecosystem notes)::

    PROSE
    <minimax:tool_call>
    <invoke name="NAME">
    <parameter name="KEY">VALUE</parameter>
    </invoke>
    </minimax:tool_call>

One block holds the whole batch; strings are bare, anything else JSON, read back by the tool's
schema. Tools are declared as ``<tool>{json}</tool>`` lines in ``<tools>``; results are one tool
message each, which the template writes in ``<response>`` tags.
"""

from __future__ import annotations

from collections.abc import Sequence

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_object,
    bare_value,
    dumps,
    expect,
    param_types,
    typed_value,
    until,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema

BLOCK_BEGIN = "<minimax:tool_call>"
BLOCK_END = "</minimax:tool_call>"


class MiniMaxM2ToolFormat(ToolCallFormat):
    name = "minimax_m2"
    family = "MiniMax-M2, MiniMax-M2.1"
    result_role = "tool"
    template_result_role = "tool (<response> tags)"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        listed = "\n".join(f"<tool>{dumps(t.openai()['function'])}</tool>" for t in tools)
        return (
            "# Tools\nYou may call one or more tools to assist with the user query.\n"
            f"Here are the tools available in JSONSchema format:\n\n<tools>\n{listed}\n</tools>\n\n"
            "When making tool calls, use XML format to invoke tools and pass parameters:\n\n"
            f'{BLOCK_BEGIN}\n<invoke name="tool-name-1">\n'
            '<parameter name="param-key-1">param-value-1</parameter>\n'
            '<parameter name="param-key-2">param-value-2</parameter>\n...\n</invoke>\n'
            f"{BLOCK_END}"
        )

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        invokes = []
        for c in calls:
            if '"' in c.function.name:
                raise ToolFormatError(f"cannot express: tool name {c.function.name!r}")
            params = []
            for key, value in args_object(c).items():
                if '"' in key:
                    raise ToolFormatError(f"cannot express: argument name {key!r}")
                body = bare_value(value, "</parameter>", "an argument")
                params.append(f'<parameter name="{key}">{body}</parameter>\n')
            invokes.append(f'<invoke name="{c.function.name}">\n{"".join(params)}</invoke>\n')
        block = f"{BLOCK_BEGIN}\n{''.join(invokes)}{BLOCK_END}"
        return f"{text}\n{block}" if text else block

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        prose: list[str] = []
        calls: list[ParsedCall] = []
        pos = 0
        while (start := text.find(BLOCK_BEGIN, pos)) >= 0:
            prose.append(text[pos:start])
            body, pos = until(text, start + len(BLOCK_BEGIN), BLOCK_END, BLOCK_BEGIN)
            calls += _read_invokes(body, start + len(BLOCK_BEGIN), tools)
        prose.append(text[pos:])
        return "".join(prose).strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"<response>{result}</response>"


def _read_invokes(body: str, offset: int, tools: Sequence[ToolSchema]) -> list[ParsedCall]:
    calls: list[ParsedCall] = []
    pos = 0
    while True:
        while pos < len(body) and body[pos] in " \t\r\n":
            pos += 1
        if pos >= len(body):
            return calls
        try:
            pos = expect(body, pos, '<invoke name="', f"inside {BLOCK_BEGIN}")
            name, pos = until(body, pos, '">', "<invoke name=")
            types = param_types(tools, name)
            arguments: dict[str, object] = {}
            while True:
                while pos < len(body) and body[pos] in " \t\r\n":
                    pos += 1
                if not body.startswith('<parameter name="', pos):
                    break
                key, pos = until(body, pos + len('<parameter name="'), '">', "<parameter name=")
                raw, pos = until(body, pos, "</parameter>", f"parameter {key!r}")
                arguments[key] = typed_value(raw, types.get(key))
            pos = expect(body, pos, "</invoke>", "after the parameters")
        except ToolFormatError as exc:
            where = offset + (exc.position or 0)
            raise ToolFormatError(str(exc).rsplit(" (at offset", 1)[0], position=where) from None
        calls.append(ParsedCall(name, dumps(arguments)))
