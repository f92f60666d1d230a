"""What the binding tests of every backend share: a tool module nobody has imported yet, and a
model that notes, at its first call, whether that module was already imported."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

from nex_core import AgentSpec, ScriptedModel, ToolSpec
from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.schema import LLMRequest, LLMResponse

PING_SCRIPT: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "ping", "arguments": {}}]},
    {"text": "pong received"},
]


def fresh_tool_module(folder: Path) -> str:
    """A module defining ``ping()``, written to ``folder`` (put it on ``sys.path``) and not yet
    imported; returns its name."""
    name = f"nex_fresh_tools_{uuid.uuid4().hex}"
    (folder / f"{name}.py").write_text('def ping() -> str:\n    return "pong"\n', encoding="utf-8")
    assert name not in sys.modules
    return name


def ping_agent(binding: Any, name: str = "pinger") -> AgentSpec:
    return AgentSpec(
        name=name,
        system_prompt="Ping.",
        tools=[
            ToolSpec(
                name="ping",
                description="Answers pong.",
                parameters={"type": "object", "properties": {}},
                binding=binding,
            )
        ],
    )


class WatchingModel(ScriptedModel):
    """A scripted model that records, at each call, whether ``module`` had been imported."""

    def __init__(self, script: list[dict[str, Any]], module: str | None = None) -> None:
        super().__init__(script)
        self.module = module
        self.imported_at_call: list[bool] = []

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        self.imported_at_call.append(self.module is not None and self.module in sys.modules)
        return await super().acomplete(request, agent=agent, tool_format=tool_format)
