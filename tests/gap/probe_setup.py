"""A GAP config around the probe MCP server (``tests/mcp_probe_server.py``): one agent whose tools
the server serves, one task per entry of ``calls`` whose scripted model makes those tool calls
and then answers ``done``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gap_helpers import write_config

PROBE_TOOLS: dict[str, dict[str, Any]] = {
    "whoami": {"type": "object", "properties": {}},
    "crash": {"type": "object", "properties": {}},
    "sleep": {
        "type": "object",
        "properties": {"seconds": {"type": "number"}},
        "required": ["seconds"],
    },
    "fail": {
        "type": "object",
        "properties": {"reason": {"type": "string"}},
        "required": ["reason"],
    },
}


def probe_config(
    folder: Path,
    calls: dict[str, list[tuple[str, dict[str, Any]]]],
    server: dict[str, Any],
    *,
    tool_timeout_s: float = 20,
    **config: Any,
) -> Path:
    """Write the tasks, the agent, one script per task and the config; return the config path.

    The tools' schemas are in the spec, so no server is asked before the first call: the first
    call (and the first after a death) starts the server.
    """
    (folder / "tasks.jsonl").write_text(
        "".join(json.dumps({"id": t, "prompt": f"probe {t}"}) + "\n" for t in calls)
    )
    agent = {
        "name": "prober",
        "system_prompt": "Use the probe tools.",
        "tools": [
            {"name": name, "parameters": schema, "binding": {"server": "probe"}}
            for name, schema in PROBE_TOOLS.items()
        ],
        "limits": {"max_steps": 4, "tool_timeout_s": tool_timeout_s},
    }
    (folder / "agent.yaml").write_text(json.dumps(agent))
    scripts = folder / "scripts"
    scripts.mkdir(exist_ok=True)
    for task, tool_calls in calls.items():
        replies: list[dict[str, Any]] = []
        if tool_calls:
            replies.append(
                {"tool_calls": [{"name": n, "arguments": args} for n, args in tool_calls]}
            )
        replies.append({"text": "done"})
        (scripts / f"{task}.yaml").write_text(json.dumps({"replies": replies}))
    return write_config(
        folder,
        {
            "name": "probe",
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "scripted", "ref": "scripted:scripts/{task}.yaml"}],
            "output": "out",
            "max_in_flight": 1,
            "mcp_servers": {"probe": server},
            "checks": [{"name": "status"}, {"name": "loops"}],
            **config,
        },
    )
