"""CPU per request of the OpenAI-compatible model over each HTTP transport the SDK can run on:
nex's own HTTP/1.1 transport (``http1``), the SDK's default httpx pool (``httpx``) and aiohttp
(``aiohttp``, when ``openai[aiohttp]`` is installed).

A real server (``tests/chat_server.py``) in its own process answers after a short latency. Each
transport gets its own model (and so its own connection pool) and sends batches of requests at
a fixed concurrency, the transports taking turns batch by batch, in one process. The figure is
the client process's CPU time per request (request building, transport, response parsing), the
median over batches with the spread. At the GAP ceiling (1,280 calls/s on one core) the budget
is 0.78 ms per call for everything: the difference between transports is what matters there.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import quick
from nex_core.models._openai_transport import aiohttp_available
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.trajectory.schema import LLMRequest, Message

REPO = Path(__file__).resolve().parents[1]
LATENCY_S = 0.01
CONCURRENCY = 32
CEILING_CALLS_PER_S = 1280


async def _batch(model: OpenAICompatibleModel, requests: int) -> float:
    request = LLMRequest(messages=[Message.user("Say done.")])
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with gate:
            response = await model.acomplete(request)
            assert response.message.text()

    cpu = time.process_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    return (time.process_time() - cpu) / requests


async def _measure(base_url: str, batches: int, requests: int) -> dict[str, Any]:
    transports = ["http1", "httpx"] + (["aiohttp"] if aiohttp_available() else [])
    models = {
        name: OpenAICompatibleModel(
            "bench-model", base_url=base_url, api_key_env="NEX_BENCH_NO_KEY", http_transport=name
        )
        for name in transports
    }
    try:
        for model in models.values():  # warm-up: connections, imports
            await _batch(model, CONCURRENCY)
        per_request: dict[str, list[float]] = {name: [] for name in transports}
        for i in range(batches):
            for name in transports[i % len(transports) :] + transports[: i % len(transports)]:
                per_request[name].append(await _batch(models[name], requests))
    finally:
        for model in models.values():
            await model.aclose()
    out: dict[str, Any] = {}
    for name, values in per_request.items():
        median = statistics.median(values)
        out[name] = {
            "cpu_ms_per_request_median": round(median * 1e3, 3),
            "cpu_ms_per_request_range": [round(min(values) * 1e3, 3), round(max(values) * 1e3, 3)],
            "share_of_ceiling_budget": round(median * CEILING_CALLS_PER_S, 3),
        }
    base = out["http1"]["cpu_ms_per_request_median"]
    for name in transports:
        out[name]["ratio_to_http1"] = round(out[name]["cpu_ms_per_request_median"] / base, 3)
    return out


def run() -> dict[str, Any]:
    batches, requests = (4, 200) if quick() else (12, 400)
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.chat_server", "--port", "0", "--latency", str(LATENCY_S)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        transports = asyncio.run(_measure(base_url, batches, requests))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    return {
        "clock": "client process CPU time per request",
        "latency_s": LATENCY_S,
        "concurrency": CONCURRENCY,
        "batches": batches,
        "requests_per_batch": requests,
        "aiohttp_installed": aiohttp_available(),
        "transports": transports,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
