"""A real OpenAI-compatible endpoint on 127.0.0.1 (tests/chat_server.py) that answers 429 and 500:
episodes retry through it, the concurrency limit holds, and failures are recorded with reasons."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from chat_server import ChatServer, Fault, Reply
from gap_helpers import write_config

from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import iter_trajectories


def _setup(tmp_path: Path, base_url: str, *, tasks: int, concurrency: int, retries: int) -> Path:
    (tmp_path / "tasks.jsonl").write_text(
        "".join(
            json.dumps({"id": f"t{i}", "prompt": f"say hi {i}", "expected": "hi"}) + "\n"
            for i in range(tasks)
        )
    )
    (tmp_path / "agent.yaml").write_text("name: greeter\nsystem_prompt: Greet.\n")
    return write_config(
        tmp_path,
        {
            "name": "http",
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [
                {
                    "name": "local",
                    "ref": "openai:test-model",
                    "base_url": base_url,
                    "api_key_env": "NEX_GAP_TEST_KEY",
                    "concurrency": concurrency,
                    "options": {"max_retries": retries, "backoff_base_s": 0.01, "timeout_s": 10},
                }
            ],
            "output": "out",
        },
    )


def test_429_and_500_are_retried_and_the_endpoint_limit_holds(tmp_path: Path) -> None:
    faults: list[Any] = [Fault(429, retry_after=0), Fault(500), Fault(503)]
    with ChatServer(faults, default=Reply(text="hi there"), latency_s=0.1) as server:
        config = load_config(_setup(tmp_path, server.base_url, tasks=6, concurrency=2, retries=3))
        report = asyncio.run(run_gap(config)).report
        arrivals = sorted(r.at for r in server.requests)
    assert report["by_backend"]["native"]["statuses"] == {"completed": 6}
    assert report["accepted"] == 6 and report["rejections"] == {}
    assert len(arrivals) == 6 + len(faults)
    # Never more than `concurrency` requests within one server latency of each other.
    for i, t in enumerate(arrivals):
        assert sum(1 for u in arrivals[i:] if u - t < 0.09) <= 2


def test_an_endpoint_that_keeps_failing_is_recorded_as_failed_episodes(tmp_path: Path) -> None:
    with ChatServer(default=Fault(500, message="backend exploded")) as server:
        config = load_config(_setup(tmp_path, server.base_url, tasks=3, concurrency=4, retries=1))
        report = asyncio.run(run_gap(config)).report
    assert report["by_backend"]["native"]["statuses"] == {"error": 3}
    assert report["rejections"] == {"status:outcome_error": 3}
    for t in iter_trajectories(config.trajectories_path):
        assert t.outcome is not None and t.outcome.error is not None
        assert "500" in t.outcome.error.message or "exploded" in t.outcome.error.message
        assert t.metadata["gap"]["checks"]["status"]["reason"] == "outcome_error"
