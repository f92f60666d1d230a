"""ReAct text: ``Thought:`` / ``Action:`` / ``Action Input:`` / ``Observation:`` (the ReAct paper's
prompt, as LangChain's ReAct agent writes it). A convention, not a model family's template."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import ParsedCall, ToolCallFormat, args_text, args_value, dumps
from nex_core.trajectory.schema import ToolCall, ToolSchema


class ReActToolFormat(ToolCallFormat):
    name = "react"
    family = "ReAct prompting (any instruction-tuned model)"
    _ACTION = re.compile(
        r"^Action:[ \t]*(?P<name>.+?)[ \t]*\nAction Input:[ \t]*(?P<args>.*)$", re.MULTILINE
    )

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        described = "\n".join(
            f"{t.name}: {t.description} Arguments: "
            f"{json.dumps(t.parameters, ensure_ascii=False, sort_keys=True)}"
            for t in tools
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

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        parts = [f"Thought: {text}"] if text else []
        for c in calls:
            parts.append(f"Action: {c.function.name}\nAction Input: {dumps(args_value(c))}")
        return "\n".join(parts)

    def render_answer(self, text: str) -> str:
        return f"Thought: I now know the final answer\nFinal Answer: {text}"

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        calls = []
        first = None
        for match in self._ACTION.finditer(text):
            first = match.start() if first is None else first
            raw = match.group("args").strip()
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                raise ToolFormatError(
                    f"Action Input is not JSON: {raw[:80]!r}", position=match.start("args")
                ) from None
            calls.append(ParsedCall(match.group("name").strip(), args_text(value)))
        prose = text if first is None else text[:first]
        prose = prose.strip()
        if prose.startswith("Thought:"):
            prose = prose[len("Thought:") :].strip()
        if "Final Answer:" in prose and not calls:
            prose = prose.split("Final Answer:", 1)[1].strip()
        return prose, calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"Observation: {result}"
