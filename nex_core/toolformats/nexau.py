"""NexAU's XML: ``<tool_use><tool_name>N</tool_name><parameter><K>V</K></parameter></tool_use>``.

As NexAU's prompt asks for it and its response parser reads it (NexAU is a framework, not a model
family, so there is no chat template to compare with): one call in ``<tool_use>``; a parallel
batch as ``<parallel_tool>`` blocks inside one ``<use_parallel_tool_calls>``; a sub-agent is
delegated through the ``Agent`` tool (``<sub_agent_name>`` and ``<message>``), and the parser also
reads NexAU's older ``<sub-agent><agent_name>…</agent_name><message>…</message></sub-agent>``.
Argument values are element text: NexAU strips it, so a string with surrounding whitespace, a
value holding its own closing tag or a key that is not an XML name cannot be expressed; values
are read back by the tool's schema. Results come back in a user turn as
``<tool_result><tool_name>N</tool_name><result>R</result></tool_result>``.

nex's sub-agents are tools whose parameters are exactly the agent-as-tool schema (one ``task``
string); those are written in the delegation form, and a delegation parses back as a call of
the sub-agent's tool with ``{"task": message}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

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

AGENT_TOOL = "Agent"
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_OPENERS = ("<use_parallel_tool_calls>", "<tool_use>", "<sub-agent>")
_SUBAGENT_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"task": {"type": "string", "description": "What the agent should do."}},
    "required": ["task"],
}


_AGENT_TYPES = {"sub_agent_name": {"type": "string"}, "message": {"type": "string"}}


def _is_sub_agent(tool: ToolSchema) -> bool:
    return tool.parameters == _SUBAGENT_PARAMETERS


class NexAUToolFormat(ToolCallFormat):
    name = "nexau"
    family = "NexAU agents (framework prompt format; used to train Nex models)"
    template_result_role = "user (<tool_result> tags)"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        plain = [t for t in tools if not _is_sub_agent(t)]
        agents = [t for t in tools if _is_sub_agent(t)]
        lines = ["You have access to the following tools:"]
        lines += [
            f"- {t.name}: {t.description}\n  parameters: {dumps(t.parameters)}" for t in plain
        ]
        if agents:
            lines.append("\nYou can delegate tasks to the following sub-agents:")
            lines += [f"- {t.name}: {t.description}" for t in agents]
        lines.append(
            "\nTo use a tool, write:\n<tool_use>\n  <tool_name>tool_name</tool_name>\n"
            "  <parameter>\n    <param_name>value</param_name>\n  </parameter>\n</tool_use>\n\n"
            "To delegate to a sub-agent, write:\n<tool_use>\n  <tool_name>Agent</tool_name>\n"
            "  <parameter>\n    <sub_agent_name>agent_name</sub_agent_name>\n"
            "    <message>task description</message>\n  </parameter>\n</tool_use>\n\n"
            "To run several at once, put each in a <parallel_tool> block inside one "
            "<use_parallel_tool_calls> block. Write one kind of block per reply and stop after "
            "it: the results come back in <tool_result> blocks."
        )
        return "\n".join(lines)

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        agents = {t.name for t in tools if _is_sub_agent(t)}
        tag = "parallel_tool" if len(calls) > 1 else "tool_use"
        blocks = [f"<{tag}>\n{_call_body(c, c.function.name in agents)}</{tag}>" for c in calls]
        body = (
            "<use_parallel_tool_calls>\n" + "\n".join(blocks) + "\n</use_parallel_tool_calls>"
            if len(calls) > 1
            else blocks[0]
        )
        return f"{text}\n{body}" if text else body

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        prose: list[str] = []
        calls: list[ParsedCall] = []
        pos = 0
        while True:
            found = [(i, o) for o in _OPENERS if (i := text.find(o, pos)) >= 0]
            if not found:
                break
            start, opener = min(found)
            prose.append(text[pos:start])
            pos = start + len(opener)
            if opener == "<use_parallel_tool_calls>":
                inner, pos = until(text, pos, "</use_parallel_tool_calls>", opener)
                calls += _read_parallel(inner, start + len(opener), tools)
            elif opener == "<tool_use>":
                inner, pos = until(text, pos, "</tool_use>", opener)
                calls.append(_read_call(inner, tools))
            else:
                inner, pos = until(text, pos, "</sub-agent>", opener)
                name, _ = _element(inner, "agent_name")
                message, _ = _element(inner, "message")
                calls.append(ParsedCall(name.strip(), dumps({"task": message.strip()})))
        prose.append(text[pos:])
        return "".join(prose).strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return (
            f"<tool_result>\n<tool_name>{name}</tool_name>\n<result>{result}</result>\n"
            "</tool_result>"
        )


def _call_body(call: ToolCall, sub_agent: bool) -> str:
    name = call.function.name
    arguments = args_object(call)
    if sub_agent and set(arguments) == {"task"} and isinstance(arguments["task"], str):
        arguments = {"sub_agent_name": name, "message": arguments["task"]}
        name = AGENT_TOOL
    if "<" in name or name != name.strip() or not name:
        raise ToolFormatError(f"cannot express: tool name {name!r}")
    params = []
    for key, value in arguments.items():
        if not _XML_NAME.match(key):
            raise ToolFormatError(f"cannot express: argument name {key!r} is not an XML name")
        text = bare_value(value, f"</{key}>", "an argument")
        if text != text.strip():
            raise ToolFormatError("cannot express: a value with surrounding whitespace")
        params.append(f"    <{key}>{text}</{key}>\n")
    return f"  <tool_name>{name}</tool_name>\n  <parameter>\n{''.join(params)}  </parameter>\n"


def _element(text: str, tag: str) -> tuple[str, int]:
    start = text.find(f"<{tag}>")
    if start < 0:
        raise ToolFormatError(f"missing <{tag}>")
    return until(text, start + len(tag) + 2, f"</{tag}>", f"<{tag}>")


def _read_parallel(inner: str, offset: int, tools: Sequence[ToolSchema]) -> list[ParsedCall]:
    calls = []
    pos = 0
    while (start := inner.find("<parallel_tool>", pos)) >= 0:
        body, pos = until(
            inner, start + len("<parallel_tool>"), "</parallel_tool>", "<parallel_tool>"
        )
        calls.append(_read_call(body, tools))
    if not calls:
        raise ToolFormatError("<use_parallel_tool_calls> without <parallel_tool>", position=offset)
    return calls


def _read_call(body: str, tools: Sequence[ToolSchema]) -> ParsedCall:
    name, pos = _element(body, "tool_name")
    name = name.strip()
    arguments: dict[str, Any] = {}
    start = body.find("<parameter>", pos)
    if start >= 0:
        params, _ = until(body, start + len("<parameter>"), "</parameter>", "<parameter>")
        types = _AGENT_TYPES if name == AGENT_TOOL else param_types(tools, name)
        at = 0
        while True:
            while at < len(params) and params[at] in " \t\r\n":
                at += 1
            if at >= len(params):
                break
            at = expect(params, at, "<", "inside <parameter>")
            key, at = until(params, at, ">", "a parameter tag")
            if not _XML_NAME.match(key):
                raise ToolFormatError(f"parameter tag <{key}> is not an XML name")
            raw, at = until(params, at, f"</{key}>", f"<{key}>")
            arguments[key] = typed_value(raw.strip(), types.get(key))
    if name == AGENT_TOOL and isinstance(arguments.get("sub_agent_name"), str):
        return ParsedCall(
            arguments["sub_agent_name"].strip(),
            dumps({"task": str(arguments.get("message", ""))}),
        )
    return ParsedCall(name, dumps(arguments))
