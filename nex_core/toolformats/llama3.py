"""Llama 3.1 / 3.2 JSON calls: ``{"name": N, "parameters": {...}}``, results in ``ipython``.

As the Llama 3.1 and 3.2 templates write it: the tools are declared at the head of the first
user turn (``tools_in_user_message``, the template's default), each as ``tojson(indent=4)``; an
assistant turn with a call holds only that call (the template drops any prose and raises on more
than one call), so prose beside a call and parallel batches cannot be expressed; each result is
its own ``ipython`` turn (a ``tool`` message, which the template renders as ``ipython``,
the result written as a JSON string).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_value,
    call_object,
    check_single,
    dumps,
    read_json,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema

_TAG = "<|python_tag|>"


class Llama3JSONToolFormat(ToolCallFormat):
    name = "llama3_json"
    family = "Llama 3.1, Llama 3.2 (JSON custom tools)"
    parallel = False
    result_role = "tool"
    template_result_role = "ipython"
    tools_role = "user"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        listed = "".join(
            json.dumps(t.openai(), ensure_ascii=False, indent=4) + "\n\n" for t in tools
        )
        return (
            "Given the following functions, please respond with a JSON for a function call "
            "with its proper arguments that best answers the given prompt.\n\n"
            'Respond in the format {"name": function name, "parameters": dictionary of '
            "argument name and its value}.Do not use variables.\n\n" + listed
        ).rstrip("\n")

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        check_single(self, calls)
        if text and text.strip():
            raise ToolFormatError("cannot express: prose beside a tool call (Llama 3 drops it)")
        (c,) = calls
        return f'{{"name": {dumps(c.function.name)}, "parameters": {dumps(args_value(c))}}}'

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        body = text.strip()
        if body.startswith(_TAG):
            body = body[len(_TAG) :].lstrip()
        elif not body.startswith('{"name"'):
            return text.strip(), []  # an answer, even one that is JSON
        calls: list[ParsedCall] = []
        pos = 0
        while True:
            value: Any
            value, pos = read_json(body, pos, "the call")
            key = "parameters" if isinstance(value, dict) and "parameters" in value else "arguments"
            calls.append(call_object(value, key, "the call", pos))
            rest = body[pos:].lstrip()
            # vLLM's llama3_json parser also reads several calls separated by ';'.
            if not rest.startswith(";"):
                return rest, calls
            pos = len(body) - len(rest) + 1

    def render_result(self, name: str, call_id: str, result: str) -> str:
        # The templates test ``content is iterable``, which a string is, so a result is written
        # as a JSON string.
        return f"<|start_header_id|>ipython<|end_header_id|>\n\n{dumps(result)}<|eot_id|>"

    def render_results(self, results: Sequence[tuple[str, str, str]]) -> str:
        return "".join(self.render_result(n, i, r) for n, i, r in results)
