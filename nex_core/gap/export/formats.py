"""Tool-invocation formats for training data, beside the runtime's XML format.

Each is a :class:`~nex_core.toolformats.ToolCallFormat` (render tools, render calls, parse calls,
render results) registered through the ``nex_tool_formats`` hook, so the exporter, the runtime
and third-party code share one registry. Parsing inverts rendering: for arguments that are a JSON
object, ``parse(render_calls(text, calls))`` gives back the text and the same calls.

=========  ==========================================================================
native     provider function calling: calls stay structured (text form: OpenAI JSON)
xml        ``<tool_call name="add">{"a": 1}</tool_call>`` (nex_core.toolformats)
hermes     Hermes / Qwen: ``<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>``
react      ReAct text: ``Thought:`` / ``Action:`` / ``Action Input:`` / ``Observation:``
pythonic   Python calls in a list, as Llama 3.2+ writes them: ``[add(a=1, b=2)]``
json       a fenced ```json block holding ``{"tool_calls": [...]}``
=========  ==========================================================================
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Sequence
from typing import Any

from nex_core.errors import ToolFormatError
from nex_core.toolformats import ParsedCall, ToolCallFormat, XMLToolFormat
from nex_core.trajectory.schema import ToolCall, ToolSchema


def _args_value(call: ToolCall) -> Any:
    """Arguments as a JSON value when they parse, else the raw text (kept as a string)."""
    try:
        return json.loads(call.function.arguments) if call.function.arguments.strip() else {}
    except ValueError:
        return call.function.arguments


def _args_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _tool_lines(tools: Sequence[ToolSchema]) -> str:
    return "\n".join(json.dumps(t.openai(), ensure_ascii=False, sort_keys=True) for t in tools)


def _schema_text(tool: ToolSchema) -> str:
    return json.dumps(tool.parameters, ensure_ascii=False, sort_keys=True)


def _safe(text: str) -> str:
    """JSON text that cannot close a surrounding tag ("</" becomes "<\\/", still valid JSON)."""
    return text.replace("</", "<\\/")


class TextFormat(ToolCallFormat):
    """A format whose calls live in the assistant's text."""

    structured = False
    """True only for ``native``: calls stay in the message's ``tool_calls`` field."""

    def render_answer(self, text: str) -> str:
        """A final answer (no tool calls) in this format; most formats keep it as is."""
        return text


class NativeToolFormat(TextFormat):
    name = "native"
    structured = True

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return json.dumps([t.openai() for t in tools], ensure_ascii=False)

    def render_calls(self, text: str | None, calls: Sequence[ToolCall]) -> str:
        body = [{"id": c.id, "name": c.function.name, "arguments": _args_value(c)} for c in calls]
        return json.dumps({"content": text or "", "tool_calls": body}, ensure_ascii=False)

    def parse(self, text: str) -> tuple[str, list[ParsedCall]]:
        try:
            data = json.loads(text)
        except ValueError:
            return text.strip(), []
        if not isinstance(data, dict) or "tool_calls" not in data:
            return text.strip(), []
        try:
            calls = [
                ParsedCall(str(c["name"]), _args_text(c.get("arguments", {})))
                for c in data["tool_calls"]
            ]
        except (TypeError, KeyError) as exc:
            raise ToolFormatError(f"malformed tool_calls entry: {exc}") from None
        return str(data.get("content") or "").strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return result


class HermesToolFormat(TextFormat):
    name = "hermes"
    _CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return (
            "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n"
            f"<tools>\n{_tool_lines(tools)}\n</tools>\n\n"
            "For each function call, return a json object with function name and arguments "
            "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
        )

    def render_calls(self, text: str | None, calls: Sequence[ToolCall]) -> str:
        parts = [text] if text else []
        for c in calls:
            body = json.dumps(
                {"name": c.function.name, "arguments": _args_value(c)}, ensure_ascii=False
            )
            parts.append(f"<tool_call>\n{_safe(body)}\n</tool_call>")
        return "\n".join(parts)

    def parse(self, text: str) -> tuple[str, list[ParsedCall]]:
        calls = []
        for match in self._CALL.finditer(text):
            try:
                data = json.loads(match.group(1))
                calls.append(ParsedCall(str(data["name"]), _args_text(data.get("arguments", {}))))
            except (ValueError, TypeError, KeyError) as exc:
                raise ToolFormatError(
                    f"<tool_call> body is not a JSON call: {exc}", position=match.start()
                ) from None
        prose = self._CALL.sub("", text)
        if "<tool_call>" in prose:
            raise ToolFormatError("unclosed <tool_call> tag", position=text.rfind("<tool_call>"))
        return prose.strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"<tool_response>\n{result}\n</tool_response>"


class ReActToolFormat(TextFormat):
    name = "react"
    _ACTION = re.compile(
        r"^Action:[ \t]*(?P<name>.+?)[ \t]*\nAction Input:[ \t]*(?P<args>.*)$", re.MULTILINE
    )

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        described = "\n".join(
            f"{t.name}: {t.description} Arguments: {_schema_text(t)}" for t in tools
        )
        names = ", ".join(t.name for t in tools)
        return (
            f"You have access to the following tools:\n\n{described}\n\n"
            "Use the following format:\n\n"
            "Thought: you should always think about what to do\n"
            f"Action: the action to take, one of [{names}]\n"
            "Action Input: the input to the action, as a JSON object on one line\n"
            "Observation: the result of the action\n"
            "... (this Thought/Action/Action Input/Observation can repeat N times)\n"
            "Thought: I now know the final answer\nFinal Answer: the final answer"
        )

    def render_calls(self, text: str | None, calls: Sequence[ToolCall]) -> str:
        parts = [f"Thought: {text}"] if text else []
        for c in calls:
            value = _args_value(c)
            parts.append(
                f"Action: {c.function.name}\nAction Input: {json.dumps(value, ensure_ascii=False)}"
            )
        return "\n".join(parts)

    def render_answer(self, text: str) -> str:
        return f"Thought: I now know the final answer\nFinal Answer: {text}"

    def parse(self, text: str) -> tuple[str, list[ParsedCall]]:
        calls = []
        first = None
        for match in self._ACTION.finditer(text):
            first = match.start() if first is None else first
            raw = match.group("args").strip()
            try:
                value = json.loads(raw)
            except ValueError:
                raise ToolFormatError(
                    f"Action Input is not JSON: {raw[:80]!r}", position=match.start("args")
                ) from None
            calls.append(ParsedCall(match.group("name").strip(), _args_text(value)))
        prose = text if first is None else text[:first]
        prose = prose.strip()
        if prose.startswith("Thought:"):
            prose = prose[len("Thought:") :].strip()
        if "Final Answer:" in prose and not calls:
            prose = prose.split("Final Answer:", 1)[1].strip()
        return prose, calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"Observation: {result}"


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


def _from_literal(node: ast.AST) -> Any:
    value = ast.literal_eval(node)
    return _jsonish(value)


def _jsonish(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonish(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonish(v) for k, v in value.items()}
    return value


class PythonicToolFormat(TextFormat):
    name = "pythonic"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return (
            "You can call functions. To call them, end your reply with one line holding a Python "
            'list of calls with keyword arguments, for example [get_weather(city="Paris")].\n'
            f"Functions (JSON Schema):\n{_tool_lines(tools)}"
        )

    def render_calls(self, text: str | None, calls: Sequence[ToolCall]) -> str:
        rendered = []
        for c in calls:
            name = c.function.name
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ToolFormatError(f"tool name '{name}' is not a Python identifier")
            value = _args_value(c)
            if not isinstance(value, dict):
                raise ToolFormatError(f"arguments of '{name}' are not a JSON object")
            plain = [k for k in value if k.isidentifier() and not keyword.iskeyword(k)]
            odd = {k: v for k, v in value.items() if k not in plain}
            args = [f"{k}={_py_literal(value[k])}" for k in plain]
            if odd:
                args.append(f"**{_py_literal(odd)}")
            rendered.append(f"{name}({', '.join(args)})")
        line = "[" + ", ".join(rendered) + "]"
        return f"{text}\n{line}" if text else line

    def parse(self, text: str) -> tuple[str, list[ParsedCall]]:
        cut = text.rfind("\n[")
        start = cut + 1 if cut >= 0 else (0 if text.startswith("[") else -1)
        if start < 0:
            return text.strip(), []
        try:
            tree = ast.parse(text[start:].strip(), mode="eval").body
        except SyntaxError:
            return text.strip(), []
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
                raise ToolFormatError("a call must be name(keyword=value, ...)")
            arguments: dict[str, Any] = {}
            try:
                for kw in call.keywords:
                    if kw.arg is None:
                        arguments.update(_from_literal(kw.value))
                    else:
                        arguments[kw.arg] = _from_literal(kw.value)
            except (ValueError, TypeError) as exc:
                raise ToolFormatError(
                    f"argument of {call.func.id} is not a literal: {exc}"
                ) from None
            calls.append(ParsedCall(call.func.id, json.dumps(arguments, ensure_ascii=False)))
        return text[:start].strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"Output of {name}:\n{result}"


class JSONBlockToolFormat(TextFormat):
    name = "json"
    _BLOCK = re.compile(r"```json\n(?P<body>\{.*?\})\n```", re.DOTALL)

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return (
            "To use tools, write one fenced ```json block holding "
            '{"tool_calls": [{"name": "TOOL", "arguments": {...}}]}. Tools:\n'
            f"{_tool_lines(tools)}"
        )

    def render_calls(self, text: str | None, calls: Sequence[ToolCall]) -> str:
        body = {
            "tool_calls": [{"name": c.function.name, "arguments": _args_value(c)} for c in calls]
        }
        block = f"```json\n{json.dumps(body, ensure_ascii=False)}\n```"
        return f"{text}\n{block}" if text else block

    def parse(self, text: str) -> tuple[str, list[ParsedCall]]:
        for match in self._BLOCK.finditer(text):
            try:
                data = json.loads(match.group("body"))
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("tool_calls"), list):
                try:
                    calls = [
                        ParsedCall(str(c["name"]), _args_text(c.get("arguments", {})))
                        for c in data["tool_calls"]
                    ]
                except (TypeError, KeyError) as exc:
                    raise ToolFormatError(
                        f"malformed tool_calls entry: {exc}", position=match.start()
                    ) from None
                return (text[: match.start()] + text[match.end() :]).strip(), calls
        return text.strip(), []

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"Tool result ({name}):\n{result}"


def training_formats() -> dict[str, ToolCallFormat]:
    """The formats this package registers (``xml`` comes from nex-core itself)."""
    return {
        f.name: f
        for f in (
            NativeToolFormat(),
            HermesToolFormat(),
            ReActToolFormat(),
            PythonicToolFormat(),
            JSONBlockToolFormat(),
        )
    }


__all__ = [
    "HermesToolFormat",
    "JSONBlockToolFormat",
    "NativeToolFormat",
    "PythonicToolFormat",
    "ReActToolFormat",
    "TextFormat",
    "XMLToolFormat",
    "training_formats",
]
