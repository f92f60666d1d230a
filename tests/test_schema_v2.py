"""Schema version 2 in the published JSON Schema, `nex validate` and `nex inspect` (issue 13
item 1), and what compact storage of token ids saves."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from nex_core.cli.main import cli
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Provenance,
    Tokens,
    Trajectory,
)

V2 = Path(__file__).parent / "corpus" / "v2" / "tokens_rewards.jsonl"


def test_the_json_schema_knows_v2() -> None:
    result = CliRunner().invoke(cli, ["schema", "trajectory"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["properties"]["schema_version"]["enum"] == [1, 2]
    tokens = schema["$defs"]["Tokens"]["properties"]
    assert {"prompt_token_ids", "completion_token_ids", "logprobs", "top_logprobs"} <= set(tokens)
    assert tokens["prompt_token_ids"]["anyOf"][0] == {"items": {"type": "integer"}, "type": "array"}
    assert "cached_tokens" in schema["$defs"]["Usage"]["properties"]
    assert "rewards" in schema["$defs"]["ToolStep"]["properties"]


def test_validate_and_inspect_read_v2() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", str(V2)])
    assert result.exit_code == 0 and "2 trajectories" in result.output
    result = runner.invoke(cli, ["inspect", str(V2)])
    assert result.exit_code == 0, result.output
    flat = re.sub(r"\s*\n[│ ]*", " ", result.output)  # the tree's lines unwrapped
    assert "ids 121+52, logprobs top-2" in flat
    assert "121 cached" in flat
    assert "reward format=-1" in flat and "rewards format=-1, task=1" in flat


def test_prompt_ids_are_stored_once() -> None:
    """A 200-call run whose prompts grow: stored, each prompt names the previous call instead of
    repeating it, so the line grows linearly (in full it would hold 200 * 200 / 2 turns)."""
    now = datetime.now(UTC)
    steps = []
    prompt = list(range(100))
    for i in range(200):
        completion = [1000 + i] * 20
        steps.append(LLMStep(
            id=f"s{i}", started_at=now, request=LLMRequest(messages=[Message.user("x")]),
            response=LLMResponse(message=Message.assistant("y"), tokens=Tokens(
                prompt_token_ids=list(prompt), completion_token_ids=completion,
                logprobs=[-0.25] * 20)),
        ))
        prompt = prompt + completion + [7] * 10
    traj = Trajectory(id="t", started_at=now, steps=steps,
                      provenance=Provenance(framework="f", adapter="a", nex_version="0"))
    stored = traj.to_json()
    full = traj.model_dump_json(exclude_none=True)
    assert len(stored) * 20 < len(full)
    assert stored.count('"prompt_from"') == 199
    assert Trajectory.model_validate_json(stored) == traj
