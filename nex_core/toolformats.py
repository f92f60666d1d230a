"""Tool-invocation formats: how tool calls look when they live in model text.

Native function calling needs no format: calls are structured fields of the response. Models
without function calling write calls into their text; a :class:`ToolCallFormat` tells them how (a
system-prompt section), parses what they wrote, and renders results back. The GAP exporters reuse
the same renderers to produce training data in many formats.
"""

from __future__ import annotations

import html
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from nex_core.errors import ToolFormatError
from nex_core.trajectory.schema import Message, ToolCall, ToolSchema


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: str
    """Argument text as written (JSON expected; kept raw so malformed input is recorded)."""


class ToolCallFormat(ABC):
    """Renders tool descriptions and calls into text and parses them back."""

    name: str

    @abstractmethod
    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        """System-prompt section that tells the model which tools exist and how to call them."""

    @abstractmethod
    def render_calls(self, text: str | None, calls: Sequence[ToolCall]) -> str:
        """Assistant text holding ``text`` followed by ``calls`` in this format."""

    @abstractmethod
    def parse(self, text: str) -> tuple[str, list[ParsedCall]]:
        """Split model text into (prose, calls). Raises only :class:`ToolFormatError`."""

    @abstractmethod
    def render_result(self, name: str, call_id: str, result: str) -> str:
        """Text that returns one tool result to the model."""

    def result_message(self, results: Sequence[tuple[str, str, str]]) -> Message:
        """One user message carrying every (name, call_id, result) of a batch."""
        return Message.user("\n".join(self.render_result(n, i, r) for n, i, r in results))


class XMLToolFormat(ToolCallFormat):
    """``<tool_call name="NAME">{json}</tool_call>`` tags, results in ``<tool_result>`` tags."""

    name = "xml"
    _CALL = re.compile(r"<tool_call(?P<attrs>[^>]*)>(?P<body>.*?)</tool_call\s*>", re.DOTALL)
    _OPEN = re.compile(r"<tool_call[\s>]")
    _NAME = re.compile(r"""\bname\s*=\s*(?:"([^"]*)"|'([^']*)')""")

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        lines = [
            "You can call tools. To call one, write exactly:",
            '<tool_call name="TOOL_NAME">{"argument": "value"}</tool_call>',
            "with the arguments as one JSON object. You may write several calls. Results come "
            "back in <tool_result> tags. When you are done, answer without any tool_call tag.",
            "",
            "Tools:",
        ]
        for t in tools:
            lines.append(
                f"- {t.name}: {t.description}\n  parameters: "
                f"{json.dumps(t.parameters, ensure_ascii=False, sort_keys=True)}"
            )
        return "\n".join(lines)

    def render_calls(self, text: str | None, calls: Sequence[ToolCall]) -> str:
        parts = [text] if text else []
        for c in calls:
            # "</" inside JSON strings is escaped so a body can never close its own tag.
            body = c.function.arguments.replace("</", "<\\/")
            parts.append(
                f'<tool_call name="{html.escape(c.function.name, quote=True)}">{body}</tool_call>'
            )
        return "\n".join(parts)

    def parse(self, text: str) -> tuple[str, list[ParsedCall]]:
        calls: list[ParsedCall] = []
        prose: list[str] = []
        pos = 0
        for match in self._CALL.finditer(text):
            before = text[pos : match.start()]
            unclosed = self._OPEN.search(before)
            if unclosed is not None:
                raise ToolFormatError("unclosed <tool_call> tag", position=pos + unclosed.start())
            prose.append(before)
            name_match = self._NAME.search(match.group("attrs"))
            if name_match is None:
                raise ToolFormatError(
                    "<tool_call> tag without a name attribute", position=match.start()
                )
            name = html.unescape(
                name_match.group(1) if name_match.group(1) is not None else name_match.group(2)
            )
            calls.append(ParsedCall(name=name, arguments=match.group("body").strip()))
            pos = match.end()
        rest = text[pos:]
        opened = self._OPEN.search(rest)
        if opened:
            raise ToolFormatError("unclosed <tool_call> tag", position=pos + opened.start())
        prose.append(rest)
        return "".join(prose).strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f'<tool_result name="{html.escape(name, quote=True)}">{result}</tool_result>'


BUILTIN_FORMATS: dict[str, ToolCallFormat] = {"xml": XMLToolFormat()}


def get_format(name: str) -> ToolCallFormat:
    from nex_core.plugins import get_plugin_manager

    formats = get_plugin_manager().merged("nex_tool_formats")
    if name not in formats:
        raise ToolFormatError(f"unknown tool format '{name}' (known: {', '.join(sorted(formats))})")
    return formats[name]
