"""gpt-oss harmony: ``to=functions.NAME<|channel|>commentary json<|message|>{...}<|call|>``.

As the gpt-oss template writes it: tools are a TypeScript ``namespace functions`` in the developer
turn; a call is its own assistant message on the commentary channel, prose before it goes to the
analysis channel (``<|start|>assistant<|channel|>analysis<|message|>PROSE<|end|>``); the template
writes one call per turn (it reads ``tool_calls[0]`` only), so parallel batches cannot be
expressed; each result is a tool message, written
``<|start|>functions.NAME to=assistant<|channel|>commentary<|message|>"RESULT"<|end|>`` (the result
as a JSON string). The parser also reads the order models emit,
``<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_text,
    args_value,
    check_single,
    dumps,
    read_json,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema

_RECIPIENT = re.compile(r"to=functions\.(?P<name>[^\s<]+)")
_MESSAGE = "<|message|>"
_CALL = "<|call|>"
_CHANNEL_TEXT = re.compile(
    r"<\|channel\|>(?:analysis|final)<\|message\|>(?P<text>.*?)(?:<\|end\|>|<\|return\|>|$)",
    re.DOTALL,
)


def typescript_type(spec: Any) -> str:
    """A JSON Schema as the gpt-oss template's ``render_typescript_type`` writes it."""
    if not isinstance(spec, dict):
        return "any"
    kind = spec.get("type")
    nullable = " | null" if spec.get("nullable") else ""
    if kind == "array":
        items = spec.get("items")
        if not items:
            return "any[]" + nullable
        simple = {"string": "string[]", "number": "number[]", "integer": "number[]"}
        simple["boolean"] = "boolean[]"
        inner_kind = items.get("type") if isinstance(items, dict) else None
        if isinstance(inner_kind, str) and inner_kind in simple:
            return simple[inner_kind] + nullable
        inner = typescript_type(items)
        return ("any[]" if inner == "object | object" or len(inner) > 50 else inner + "[]") + (
            nullable
        )
    if isinstance(kind, list) and kind:
        return " | ".join(str(k) for k in kind) if len(kind) > 1 else str(kind[0])
    if spec.get("oneOf"):
        variants = spec["oneOf"]
        if len(variants) > 1 and any(v.get("type") == "object" for v in variants):
            return "any"
        return " | ".join(typescript_type(v) for v in variants)
    if kind == "string":
        if spec.get("enum"):
            return '"' + '" | "'.join(str(e) for e in spec["enum"]) + '"'
        return "string" + nullable
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "object":
        props = spec.get("properties")
        if not props:
            return "object"
        required = spec.get("required") or []
        # The template's macro leaves a newline and 16 spaces before a nested property's type
        # (a ``{{ }}`` tag that trims nothing); the model saw exactly that, so it is kept.
        fields = [
            f"{name}{'' if name in required else '?'}: \n{' ' * 16}{typescript_type(sub)}"
            for name, sub in props.items()
        ]
        return "{\n" + ", ".join(fields) + "}"
    return "any"


def functions_namespace(tools: Sequence[ToolSchema]) -> str:
    out = ["## functions\n\nnamespace functions {\n\n"]
    for tool in tools:
        out.append(f"// {tool.description}\ntype {tool.name} = ")
        props = tool.parameters.get("properties") or {}
        if not props:
            out.append("() => any;\n\n")
            continue
        required = tool.parameters.get("required") or []
        out.append("(_: {\n")
        for name, spec in props.items():
            if isinstance(spec, dict) and spec.get("description"):
                out.append(f"// {spec['description']}\n")
            out.append(f"{name}{'' if name in required else '?'}: {typescript_type(spec)}")
            if isinstance(spec, dict) and "default" in spec:
                default = spec["default"]
                shown = default if spec.get("enum") else json.dumps(default)
                out.append(f", // default: {shown}")
            out.append(",\n")
        out.append("}) => any;\n\n")
    out.append("} // namespace functions")
    return "".join(out)


class GptOssToolFormat(ToolCallFormat):
    name = "gpt_oss"
    family = "gpt-oss-20b, gpt-oss-120b (harmony)"
    parallel = False
    result_role = "tool"
    template_result_role = "tool (<|start|>functions.NAME to=assistant)"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return "# Tools\n\n" + functions_namespace(tools)

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        check_single(self, calls)
        (c,) = calls
        if not c.function.name or any(ch.isspace() or ch == "<" for ch in c.function.name):
            raise ToolFormatError(f"cannot express: tool name {c.function.name!r}")
        if text and "<|" in text:
            raise ToolFormatError("cannot express: prose holding harmony tokens")
        analysis = f"<|start|>assistant<|channel|>analysis{_MESSAGE}{text}<|end|>" if text else ""
        return (
            f"{analysis}<|start|>assistant to=functions.{c.function.name}<|channel|>commentary "
            f"json{_MESSAGE}{dumps(args_value(c))}{_CALL}"
        )

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        calls: list[ParsedCall] = []
        pos = 0
        first = None
        while (match := _RECIPIENT.search(text, pos)) is not None:
            first = match.start() if first is None else first
            body = text.find(_MESSAGE, match.end())
            if body < 0:
                raise ToolFormatError("a call without <|message|>", position=match.start())
            value, pos = read_json(text, body + len(_MESSAGE), "the call's arguments")
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if not text.startswith(_CALL, pos):
                raise ToolFormatError("a call not ended by <|call|>", position=pos)
            pos += len(_CALL)
            calls.append(ParsedCall(match.group("name"), args_text(value)))
        head = text if first is None else text[:first]
        found = [m.group("text") for m in _CHANNEL_TEXT.finditer(head)]
        if found:
            return "\n".join(found).strip(), calls
        prose = head.removesuffix("<|start|>assistant").removesuffix("<|channel|>commentary ")
        return prose.replace("<|start|>assistant", "").strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return (
            f"<|start|>functions.{name} to=assistant<|channel|>commentary{_MESSAGE}"
            f"{dumps(result)}<|end|>"
        )

    def render_results(self, results: Sequence[tuple[str, str, str]]) -> str:
        return "".join(self.render_result(n, i, r) for n, i, r in results)
