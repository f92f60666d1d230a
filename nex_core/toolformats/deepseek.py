"""DeepSeek-V3 and DeepSeek-V3.1 calls inside ``<|tool_calls_begin|>`` ... ``<|tool_calls_end|>``.

In the real tokens the bars are U+FF5C (fullwidth) and the underscores U+2581 (lower one
eighth block); they are written ASCII here for legibility.

``deepseek_v3`` (V3, V3-0324, R1-0528), as the V3 template writes it::

    PROSE<|tool_calls_begin|><|tool_call_begin|>function<|tool_sep|>NAME
    ```json
    {...}
    ```<|tool_call_end|>
    <|tool_call_begin|>...<|tool_call_end|><|tool_calls_end|>

results one tool message each, written ``<|tool_output_begin|>R<|tool_output_end|>`` and the
batch wrapped in ``<|tool_outputs_begin|>``/``<|tool_outputs_end|>``. The V3 template declares
no tools; :meth:`render_tools` writes the declaration DeepSeek's function-calling guide uses.

``deepseek_v31`` (V3.1, V3.2) drops ``function`` and the code fence and chains calls with no
separator: ``<|tool_call_begin|>NAME<|tool_sep|>{...}<|tool_call_end|>``; each result is
``<|tool_output_begin|>R<|tool_output_end|>`` with no batch wrapper.
"""

from __future__ import annotations

from collections.abc import Sequence

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_text,
    args_value,
    dumps,
    expect,
    read_json,
    until,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema


def _token(words: str) -> str:
    """A DeepSeek special token: fullwidth bars, words joined by U+2581."""
    return "<\uff5c" + words.replace(" ", "\u2581") + "\uff5c>"


CALLS_BEGIN = _token("tool calls begin")
CALLS_END = _token("tool calls end")
CALL_BEGIN = _token("tool call begin")
CALL_END = _token("tool call end")
SEP = _token("tool sep")
OUTPUTS_BEGIN = _token("tool outputs begin")
OUTPUTS_END = _token("tool outputs end")
OUTPUT_BEGIN = _token("tool output begin")
OUTPUT_END = _token("tool output end")
_MARKERS = (CALLS_BEGIN, CALLS_END, CALL_BEGIN, CALL_END, SEP)


def _tool_lines(tools: Sequence[ToolSchema]) -> str:
    return "\n\n".join(
        f"### {t.name}\nDescription: {t.description}\n\nParameters: {dumps(t.parameters)}"
        for t in tools
    )


class _DeepSeek(ToolCallFormat):
    result_role = "tool"
    template_result_role = "tool (tool output tokens)"
    _separator = ""

    def _block(self, call: ToolCall) -> str:
        raise NotImplementedError

    def _read(self, text: str, pos: int) -> tuple[ParsedCall, int]:
        raise NotImplementedError

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        for c in calls:
            if "\n" in c.function.name or any(m in c.function.name for m in _MARKERS):
                raise ToolFormatError(f"cannot express: tool name {c.function.name!r}")
        body = self._separator.join(self._block(c) for c in calls)
        return f"{text or ''}{CALLS_BEGIN}{body}{CALLS_END}"

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        start = text.find(CALLS_BEGIN)
        if start < 0:
            if CALL_BEGIN in text:
                raise ToolFormatError(
                    f"{CALL_BEGIN} outside {CALLS_BEGIN}", position=text.find(CALL_BEGIN)
                )
            return text.strip(), []
        pos = start + len(CALLS_BEGIN)
        calls: list[ParsedCall] = []
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if text.startswith(CALLS_END, pos):
                pos += len(CALLS_END)
                break
            pos = expect(text, pos, CALL_BEGIN, f"inside {CALLS_BEGIN}")
            call, pos = self._read(text, pos)
            calls.append(call)
        return (text[:start] + text[pos:]).strip(), calls


class DeepSeekV3ToolFormat(_DeepSeek):
    name = "deepseek_v3"
    family = "DeepSeek-V3, V3-0324, R1-0528"
    _separator = "\n"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return (
            "## Tools\nYou have access to the following tools:\n\n"
            f"{_tool_lines(tools)}\n\n"
            "To call a tool, write:\n"
            f"{CALLS_BEGIN}{CALL_BEGIN}function{SEP}TOOL_NAME\n```json\n"
            f'{{"argument": "value"}}\n```{CALL_END}{CALLS_END}\n'
            "For several calls, put one call per line inside the same calls block."
        )

    def _block(self, call: ToolCall) -> str:
        return (
            f"{CALL_BEGIN}function{SEP}{call.function.name}\n```json\n"
            f"{dumps(args_value(call))}\n```{CALL_END}"
        )

    def _read(self, text: str, pos: int) -> tuple[ParsedCall, int]:
        _, pos = until(text, pos, SEP, "the call type")
        name, pos = until(text, pos, "\n", "the tool name")
        pos = expect(text, pos, "```json", "before the arguments")
        value, pos = read_json(text, pos, "the arguments")
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        pos = expect(text, pos, "```", "after the arguments")
        pos = expect(text, pos, CALL_END, "after the code fence")
        return ParsedCall(name.strip(), args_text(value)), pos

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"{OUTPUT_BEGIN}{result}{OUTPUT_END}"

    def render_results(self, results: Sequence[tuple[str, str, str]]) -> str:
        outputs = "".join(self.render_result(n, i, r) for n, i, r in results)
        return f"{OUTPUTS_BEGIN}{outputs}{OUTPUTS_END}"


class DeepSeekV31ToolFormat(_DeepSeek):
    name = "deepseek_v31"
    family = "DeepSeek-V3.1, V3.1-Terminus, V3.2"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return (
            "## Tools\nYou have access to the following tools:\n\n"
            f"{_tool_lines(tools)}\n\n"
            "IMPORTANT: ALWAYS adhere to this exact format for tool use:\n"
            f"{CALLS_BEGIN}{CALL_BEGIN}tool_call_name{SEP}tool_call_arguments{CALL_END}"
            f"{{{{additional_tool_calls}}}}{CALLS_END}\n\n"
            "Where:\n- `tool_call_name` must be an exact match to one of the available tools\n"
            "- `tool_call_arguments` must be valid JSON that strictly follows the tool's "
            "Parameters Schema\n- For multiple tool calls, chain them directly without "
            "separators or spaces"
        )

    def _block(self, call: ToolCall) -> str:
        return f"{CALL_BEGIN}{call.function.name}{SEP}{dumps(args_value(call))}{CALL_END}"

    def _read(self, text: str, pos: int) -> tuple[ParsedCall, int]:
        name, pos = until(text, pos, SEP, "the tool name")
        value, pos = read_json(text, pos, "the arguments")
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        pos = expect(text, pos, CALL_END, "after the arguments")
        return ParsedCall(name.strip(), args_text(value)), pos

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"{OUTPUT_BEGIN}{result}{OUTPUT_END}"

    def render_results(self, results: Sequence[tuple[str, str, str]]) -> str:
        return "".join(self.render_result(n, i, r) for n, i, r in results)
