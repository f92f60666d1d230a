"""Qwen3-Coder / Qwen3.5 / Qwen3.6: XML-ish calls with one ``<parameter=K>`` block per argument.

As the Qwen3.5/3.6 templates write it::

    <tool_call>
    <function=NAME>
    <parameter=KEY>
    VALUE
    </parameter>
    </function>
    </tool_call>

Strings are written bare and anything else as JSON (Qwen3.6; Qwen3.5 writes booleans and null
with Python's ``str``, ``True``/``None``); prose is trimmed and followed by a blank line; calls
are joined by newlines; results come back in a user turn in ``<tool_response>`` tags, as Hermes.
A value cannot contain ``</parameter>``; the parser reads values back by the tool's schema, as
vLLM's ``qwen3_coder`` parser does.
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
    tool_json_lines,
    typed_value,
    until,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema

_INSTRUCTIONS = (
    "\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
    "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n"
    "</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\n"
    "that can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\n"
    "Reminder:\n- Function calls MUST follow the specified format: an inner "
    "<function=...></function> block must be nested within <tool_call></tool_call> XML tags\n"
    "- Required parameters MUST be specified\n- You may provide optional reasoning for your "
    "function call in natural language BEFORE the function call, but NOT after\n- If there is "
    "no function call available, answer the question like normal with your current knowledge "
    "and do not tell the user about function calls\n</IMPORTANT>"
)


class Qwen3CoderToolFormat(ToolCallFormat):
    name = "qwen3_coder"
    family = "Qwen3-Coder, Qwen3.5, Qwen3.6 (also Nemotron 3)"
    template_result_role = "user (<tool_response> tags)"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return (
            "# Tools\n\nYou have access to the following functions:\n\n"
            f"<tools>\n{tool_json_lines(tools)}\n</tools>{_INSTRUCTIONS}"
        )

    def system_prompt(self, system: str, tools: Sequence[ToolSchema]) -> str:
        # The Qwen3.5/3.6 templates write the tools section first, then the system prompt.
        section = self.render_tools(tools) if tools else ""
        return "\n\n".join(p for p in (section, system.strip()) if p)

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        blocks = []
        for c in calls:
            name = c.function.name
            if ">" in name or "\n" in name:
                raise ToolFormatError(f"cannot express: tool name {name!r} inside <function=...>")
            params = []
            for key, value in args_object(c).items():
                if ">" in key or "\n" in key:
                    raise ToolFormatError(f"cannot express: argument name {key!r}")
                body = bare_value(value, "</parameter>", "an argument")
                params.append(f"<parameter={key}>\n{body}\n</parameter>\n")
            blocks.append(
                f"<tool_call>\n<function={name}>\n{''.join(params)}</function>\n</tool_call>"
            )
        prose = (text or "").strip()
        head = f"{prose}\n\n" if prose else ""
        return head + "\n".join(blocks)

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        def read(source: str, pos: int) -> tuple[ParsedCall, int]:
            return _read_call(source, pos, tools)

        return scan(text, "<tool_call>", read)

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"<tool_response>\n{result}\n</tool_response>"


def _read_call(text: str, pos: int, tools: Sequence[ToolSchema]) -> tuple[ParsedCall, int]:
    pos = _skip_newlines(text, pos)
    pos = expect(text, pos, "<function=", "inside <tool_call>")
    name, pos = until(text, pos, ">", "<function=")
    types = param_types(tools, name)
    arguments: dict[str, object] = {}
    while True:
        pos = _skip_newlines(text, pos)
        if not text.startswith("<parameter=", pos):
            break
        key, pos = until(text, pos + len("<parameter="), ">", "<parameter=")
        raw, pos = until(text, pos, "</parameter>", f"parameter {key!r}")
        # The template writes one newline either side of the value.
        raw = raw[1:] if raw.startswith("\n") else raw
        raw = raw[:-1] if raw.endswith("\n") else raw
        arguments[key] = typed_value(raw, types.get(key))
    pos = expect(text, pos, "</function>", "after the parameters")
    pos = _skip_newlines(text, pos)
    pos = expect(text, pos, "</tool_call>", "after </function>")
    return ParsedCall(name.strip(), dumps(arguments)), pos


def _skip_newlines(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
