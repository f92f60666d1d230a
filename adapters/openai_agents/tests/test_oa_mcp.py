"""MCP-bound tools of a spec run through nex's MCP pool (a real mcp-server-time over stdio), the
same servers, schemas and errors as the native runtime."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from nex_openai_agents import OpenAIAgentsAdapter

from nex_core import ScriptedModel, TaskInfo, load_spec, normalize, run_native
from nex_core.runtime.mcp import MCPPool, use_shared_pool
from nex_core.trajectory.reader import iter_trajectories

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "mcp_time"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
TASK = TaskInfo(turns=["What time is it in Tokyo, and 09:30 UTC there?"])


def comparable(traj: Any) -> str:
    return TIMESTAMP.sub("<time>", json.dumps(normalize(traj), sort_keys=True))


def test_mcp_tools_match_the_native_run_on_one_shared_pool() -> None:
    spec = load_spec(EXAMPLE / "agent.yaml")
    script = EXAMPLE / "script.yaml"

    async def both() -> tuple[Any, Any]:
        pool = MCPPool(spec.mcp_servers)
        try:
            with use_shared_pool(pool):
                native = await run_native(spec, TASK, model=ScriptedModel.from_file(script))
                sdk = await OpenAIAgentsAdapter().arun(
                    spec, TASK, model=ScriptedModel.from_file(script)
                )
        finally:
            await pool.aclose()
        return native, sdk

    native, sdk = asyncio.run(both())
    assert sdk.outcome is not None and sdk.outcome.status.value == "completed", sdk.outcome
    first = next(s for s in sdk.steps if s.kind == "llm")
    assert {t.name for t in first.request.tools} == {"get_current_time", "convert_time"}
    assert first.request.tools[0].parameters.get("properties")  # the server's own schema
    assert comparable(sdk) == comparable(native)


def test_a_server_that_cannot_start_fails_the_run_before_the_first_model_call(
    tmp_path: Path,
) -> None:
    text = (EXAMPLE / "agent.yaml").read_text().replace("mcp_server_time", "no_such_module_x")
    broken = tmp_path / "agent.yaml"
    broken.write_text(text)
    traj = OpenAIAgentsAdapter().run(
        load_spec(broken), TASK, model=ScriptedModel.from_file(EXAMPLE / "script.yaml")
    )
    assert traj.outcome is not None and traj.outcome.status.value == "error"
    assert not [s for s in traj.steps if s.kind == "llm"]


def test_the_generated_program_serves_mcp_tools_from_nex_pool(tmp_path: Path) -> None:
    spec = load_spec(EXAMPLE / "agent.yaml")
    code = OpenAIAgentsAdapter().to_code(spec)
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    out = tmp_path / "program.jsonl"
    script = f"scripted:{EXAMPLE / 'script.yaml'}"
    assert asyncio.run(namespace["run"](TASK.turns, script, str(out))) == 0
    recorded = next(iter(iter_trajectories(out)))
    direct = OpenAIAgentsAdapter().run(
        spec, TASK, model=ScriptedModel.from_file(EXAMPLE / "script.yaml")
    )
    assert comparable(recorded) == comparable(direct)
