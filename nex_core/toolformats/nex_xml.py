"""nex's own XML: ``<tool_call name="NAME">{json}</tool_call>``, results in ``<tool_result>``.

No model family writes this; it is the format nex asks for when a model has no function calling
and no family format is chosen. Registered as ``nex_xml``, with ``xml`` kept as an alias (the
name specs have always used).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import ParsedCall, ToolCallFormat
from nex_core.trajectory.schema import ToolCall, ToolSchema


class XMLToolFormat(ToolCallFormat):
    """``<tool_call name="NAME">{json}</tool_call>`` tags, results in ``<tool_result>`` tags."""

    name = "nex_xml"
    aliases = ("xml",)
    family = "nex's own format (no model family)"
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

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        parts = [text] if text else []
        for c in calls:
            # "</" inside JSON strings is escaped so a body can never close its own tag.
            body = c.function.arguments.replace("</", "<\\/")
            parts.append(
                f'<tool_call name="{html.escape(c.function.name, quote=True)}">{body}</tool_call>'
            )
        return "\n".join(parts)

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
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
