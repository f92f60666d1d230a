"""GLM-4.5 / GLM-4.6: ``<tool_call>NAME`` then ``<arg_key>K</arg_key><arg_value>V</arg_value>``.

As the GLM-4.5 (``glm4moe``) template writes it: tools as ``tojson`` lines in ``<tools>`` in the
system turn; after the prose, each call is ``\\n<tool_call>NAME\\n`` then one key/value pair per
line and ``</tool_call>``; strings bare, anything else as JSON. Results are one tool message each,
which the template writes after ``<|observation|>`` in ``<tool_response>`` tags. A value cannot
contain ``</arg_value>``; values are read back by the tool's schema, as vLLM's ``glm45`` parser.
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
    scan,
    typed_value,
    until,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema


class GLM45ToolFormat(ToolCallFormat):
    name = "glm45"
    family = "GLM-4.5, GLM-4.5-Air, GLM-4.6"
    result_role = "tool"
    template_result_role = "observation (<|observation|>, <tool_response> tags)"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        listed = "".join(f"{dumps(t.openai())}\n" for t in tools)
        return (
            "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n"
            f"<tools>\n{listed}</tools>\n\n"
            "For each function call, output the function name and arguments within the "
            "following XML format:\n<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n"
            "<arg_value>{arg-value-1}</arg_value>\n<arg_key>{arg-key-2}</arg_key>\n"
            "<arg_value>{arg-value-2}</arg_value>\n...\n</tool_call>"
        )

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        blocks = []
        for c in calls:
            name = c.function.name
            if "\n" in name or "<" in name:
                raise ToolFormatError(f"cannot express: tool name {name!r}")
            pairs = []
            for key, value in args_object(c).items():
                if "</arg_key>" in key:
                    raise ToolFormatError(f"cannot express: argument name {key!r}")
                body = bare_value(value, "</arg_value>", "an argument")
                pairs.append(f"<arg_key>{key}</arg_key>\n<arg_value>{body}</arg_value>\n")
            blocks.append(f"<tool_call>{name}\n{''.join(pairs)}</tool_call>")
        prose = (text or "").strip()
        return "\n".join([prose, *blocks] if prose else blocks)

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        def read(source: str, pos: int) -> tuple[ParsedCall, int]:
            return _read_call(source, pos, tools)

        return scan(text, "<tool_call>", read)

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"<tool_response>\n{result}\n</tool_response>"

    def render_results(self, results: Sequence[tuple[str, str, str]]) -> str:
        return "<|observation|>" + "".join(
            "\n" + self.render_result(n, i, r) for n, i, r in results
        )


def _read_call(text: str, pos: int, tools: Sequence[ToolSchema]) -> tuple[ParsedCall, int]:
    end = min((i for i in (text.find("\n", pos), text.find("<", pos)) if i >= 0), default=len(text))
    name = text[pos:end].strip()
    if not name:
        raise ToolFormatError("<tool_call> without a tool name", position=pos)
    types = param_types(tools, name)
    arguments: dict[str, object] = {}
    pos = end
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if not text.startswith("<arg_key>", pos):
            break
        key, pos = until(text, pos + len("<arg_key>"), "</arg_key>", "<arg_key>")
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        pos = expect(text, pos, "<arg_value>", f"after <arg_key>{key}</arg_key>")
        raw, pos = until(text, pos, "</arg_value>", f"<arg_value> of {key!r}")
        arguments[key] = typed_value(raw, types.get(key))
    pos = expect(text, pos, "</tool_call>", "after the arguments")
    return ParsedCall(name, dumps(arguments)), pos
