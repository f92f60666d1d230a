"""RL data benchmark (issue 13): what token capture costs, how fast rollout rows are written, and
what token ids add to a stored trajectory.

- ``gap_capture``: GAP episodes per second and pipeline CPU per episode against a real
  chat-completions server (``tests/chat_server.py`` in its own process, answering at once, so
  the client's CPU is what limits), with ``capture_tokens`` + ``logprobs: 0`` and without; runs
  interleaved (off, on, on, off ...), medians with quartiles and range, the ratio of the
  medians on/off and the median (quartiles) of each round's on/off pair ratio.
- ``rollout_export``: ``nex export --target rollout`` rows per second over trajectories recorded
  with captured ids (three runs, median and spread).
- ``stored_size``: bytes of one 1,000-call trajectory (a growing conversation, 30 completion ids
  and 10 tool-result ids a call, logprobs) in the stored form, with its token ids and without,
  and what the ids would take if every prompt were written in full.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import quick as quick_requested

REPO = Path(__file__).resolve().parents[1]


def _spread(values: list[float]) -> dict[str, Any]:
    """Median, quartiles and range: a shared 2-core machine is noisy, the spread says how much."""
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (
        values[0], values[0], values[0]
    )
    return {
        "median": round(statistics.median(values), 3),
        "quartiles": [round(q1, 3), round(q3, 3)],
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


class _Server:
    def __enter__(self) -> _Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.chat_server", "--port", "0", "--latency", "0"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        return self

    def __exit__(self, *_: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def _gap_run(base_url: str, n: int, capture: bool) -> dict[str, float]:
    import yaml

    from nex_core.gap import load_config, run_gap

    options: dict[str, Any] = {"max_retries": 0, "timeout_s": 30}
    if capture:
        options.update(capture_tokens=True, logprobs=0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with (folder / "tasks.jsonl").open("w") as f:
            for i in range(n):
                f.write(json.dumps({"id": f"t{i}", "prompt": f"Say done ({i}).",
                                    "expected": "done"}) + "\n")
        (folder / "agent.yaml").write_text("name: bench\nsystem_prompt: Answer briefly.\n")
        config = {
            "tasks": ["tasks.jsonl"], "agents": [{"spec": "agent.yaml"}], "output": "out",
            "models": [{"name": "local", "ref": "openai:bench", "base_url": base_url,
                        "api_key_env": "NEX_BENCH_NO_KEY", "concurrency": 16,
                        "options": options}],
        }
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
        cfg = load_config(folder / "config.yaml")
        cpu = time.process_time()
        report = asyncio.run(run_gap(cfg)).report
        cpu = time.process_time() - cpu
        if capture:  # the ids really were recorded
            line = (folder / "out" / "trajectories.jsonl").open().readline()
            assert '"completion_token_ids"' in line
    assert report["accepted"] == n, report
    return {
        "episodes_per_s": float(report["this_run"]["episodes_per_s"]),
        "cpu_ms_per_episode": cpu / n * 1000,
    }


def gap_capture(n: int, rounds: int) -> dict[str, Any]:
    import nex_core.models.openai_compat  # noqa: F401  (SDK import outside the clock)

    runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    with _Server() as server:
        _gap_run(server.base_url, max(10, n // 10), False)  # warm-up
        for i in range(rounds):
            # Which side goes first alternates, so a slow minute does not favour one side.
            for mode in ("off", "on") if i % 2 == 0 else ("on", "off"):
                runs[mode].append(_gap_run(server.base_url, n, mode == "on"))
    out: dict[str, Any] = {"episodes": n, "rounds": rounds}
    for mode, results in runs.items():
        out[mode] = {
            "episodes_per_s": _spread([r["episodes_per_s"] for r in results]),
            "cpu_ms_per_episode": _spread([r["cpu_ms_per_episode"] for r in results]),
        }
    out["throughput_ratio_on_off"] = round(
        out["on"]["episodes_per_s"]["median"] / out["off"]["episodes_per_s"]["median"], 3
    )
    # Each round's on/off pair ran back to back: their ratio cancels most of the drift.
    pairs = [
        on["episodes_per_s"] / off["episodes_per_s"]
        for on, off in zip(runs["on"], runs["off"], strict=True)
    ]
    out["pair_ratio_on_off"] = _spread(pairs)
    return out


def _captured_lines(count: int) -> list[str]:
    """``count`` copies (fresh ids) of a captured three-call calculator run."""
    from nex_core.models.openai_compat import OpenAICompatibleModel
    from nex_core.protocol.loader import load_spec
    from nex_core.runtime.loop import run_native
    from nex_core.trajectory.schema import TaskInfo
    from tests.chat_server import ChatServer, Reply

    replies = [Reply(tool_calls=[("call_1", "add", {"a": 2, "b": 3})]),
               Reply(tool_calls=[("call_2", "multiply", {"a": 5, "b": 4})]), Reply(text="20")]
    with ChatServer(replies) as server:
        model = OpenAICompatibleModel("m", base_url=server.base_url, api_key_env="NEX_BENCH_NO_KEY",
                                      capture_tokens=True, logprobs=0)
        spec = load_spec(REPO / "examples" / "calculator" / "agent.yaml")
        traj = asyncio.run(run_native(spec, TaskInfo(id="t", turns=["(2+3)*4?"]), model=model))
    line = traj.to_json()
    return [line.replace(traj.id, f"traj{i:06d}").replace('"id":"t"', f'"id":"t{i}"')
            for i in range(count)]


def rollout_export(count: int, rounds: int) -> dict[str, Any]:
    from nex_core.gap.export import ExportOptions, export

    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "t.jsonl"
        source.write_text("\n".join(_captured_lines(count)) + "\n")
        for i in range(rounds):
            started = time.perf_counter()
            summary = export(source, Path(tmp) / f"out{i}", ExportOptions(targets=["rollout"]))
            elapsed = time.perf_counter() - started
            rows = summary["rollout"]["rows"]
            assert rows == count, summary
            rates.append(rows / elapsed)
    return {"trajectories": count, "rows_per_s": _spread(rates)}


def stored_size(calls: int) -> dict[str, Any]:
    from nex_core.trajectory.schema import (
        LLMRequest,
        LLMResponse,
        LLMStep,
        Message,
        Provenance,
        Tokens,
        Trajectory,
    )

    now = datetime.now(UTC)
    history = [Message.system("You are a careful assistant. " * 4), Message.user("Begin.")]
    prompt = list(range(60))
    steps = []
    for i in range(calls):
        completion = [(i * 31 + k) % 150000 for k in range(30)]
        reply = Message.assistant(f"step {i}: thinking about the next tool call and its result")
        steps.append(LLMStep(
            id=f"{i:016x}", started_at=now, agent="a",
            request=LLMRequest(messages=list(history)),
            response=LLMResponse(message=reply, tokens=Tokens(
                prompt_token_ids=list(prompt), completion_token_ids=completion,
                logprobs=[-0.125 - (k % 5) / 8 for k in range(30)])),
        ))
        history = [*history, reply, Message.user(f"result {i}")]
        prompt = prompt + completion + [(i + k) % 150000 for k in range(10)]
    provenance = Provenance(framework="f", adapter="a", nex_version="0")
    with_ids = Trajectory(id="t", started_at=now, steps=steps, provenance=provenance)
    without = with_ids.model_copy(deep=True)
    for step in without.steps:
        assert isinstance(step, LLMStep) and step.response is not None
        step.response.tokens = None
    started = time.perf_counter()
    stored = with_ids.to_json()
    write_s = time.perf_counter() - started
    started = time.perf_counter()
    back = Trajectory.model_validate_json(stored)
    read_s = time.perf_counter() - started
    assert back == with_ids
    plain = len(without.to_json())
    full_ids = sum(
        len(json.dumps(s.response.tokens.model_dump(exclude_none=True), separators=(",", ":")))
        for s in with_ids.steps if isinstance(s, LLMStep) and s.response and s.response.tokens
    )
    return {
        "calls": calls,
        "bytes_with_ids": len(stored),
        "bytes_without_ids": plain,
        "ratio_with_over_without": round(len(stored) / plain, 3),
        "ids_bytes_if_every_prompt_were_written_in_full": full_ids,
        "write_s": round(write_s, 3),
        "read_s": round(read_s, 3),
    }


def run(quick: bool = False) -> dict[str, Any]:
    quick = quick or quick_requested()
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return {
        "gap_capture": gap_capture(60 if quick else 300, 4 if quick else 6),
        "rollout_export": rollout_export(200 if quick else 2000, 3 if quick else 5),
        "stored_size": stored_size(1000),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
