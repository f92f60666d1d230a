"""Bundles a scripted generator writes, and helpers to run nex synth on them (a uniquely named
module: test folders of several distributions share one pytest session)."""

from __future__ import annotations

import asyncio
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
for entry in (str(REPO), str(REPO / "tests")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from nex_core.models.scripted import ScriptedModel  # noqa: E402
from nex_core.synth import SynthConfig, SynthRun, synthesize  # noqa: E402
from nex_core.synth.config import ToolCatalog  # noqa: E402

TIME_SERVER = {"command": sys.executable, "args": ["-m", "mcp_server_time",
                                                    "--local-timezone", "UTC"]}  # fmt: skip


def sim_tool(name: str, state: dict[str, Any], prop: str = "id") -> dict[str, Any]:
    return {
        "name": name,
        "description": f"The {name} tool.",
        "parameters": {
            "type": "object", "properties": {prop: {"type": "string"}}, "required": [prop]
        },
        "binding": {"kind": "simulated", "state": state},
    }


def shop_bundle() -> dict[str, Any]:
    """A root with a simulated tool and an agent-as-tool child (runs alike on every backend)."""
    return {
        "root": "desk.yaml",
        "files": {
            "desk.yaml": {
                "kind": "agent",
                "name": "desk",
                "description": "Front desk.",
                "system_prompt": "Answer shoppers; ask stock about availability.",
                "tools": [sim_tool("track_parcel", {"TRK-1": "in transit"})],
                "sub_agents": [{"ref": "stock.yaml", "mode": "tool"}],
            },
            "stock.yaml": {
                "kind": "agent",
                "name": "stock",
                "description": "Knows the stock.",
                "system_prompt": "Check stock.",
                "tools": [sim_tool("check_stock", {"SKU-9": 4}, "sku")],
            },
        },
        "tasks": [
            {"id": "parcel", "prompt": "Where is TRK-1?", "expected": "in transit"},
            {"id": "sku9", "prompt": "Is SKU-9 in stock?", "expected": "4 left"},
        ],
    }


def reply(bundle: dict[str, Any] | str) -> dict[str, Any]:
    text = bundle if isinstance(bundle, str) else yaml.safe_dump(bundle, sort_keys=False)
    return {"text": f"Here is the system.\n```yaml\n{text}```\n"}


def generator(*replies: dict[str, Any] | str) -> ScriptedModel:
    return ScriptedModel({"model": "scripted-generator",
                          "agents": {"synth": [reply(r) for r in replies]}})  # fmt: skip


def run_synth(
    out: Path, *replies: dict[str, Any] | str, n: int = 1, tools: dict[str, Any] | None = None,
    **config: Any,
) -> tuple[SynthRun, ScriptedModel]:
    model = generator(*replies)
    settings = SynthConfig(n=n, tools=ToolCatalog.model_validate(tools or {}), **config)
    run = asyncio.run(synthesize("A shop help desk.", model, out, settings, model_ref="scripted"))
    return run, model


def variant(bundle: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(bundle)
