"""Tools bound by import path in the GAP tests."""

from __future__ import annotations

import asyncio
import os
import signal


async def wait(ms: int) -> str:
    """Sleep ``ms`` milliseconds: makes episodes take long enough to be killed mid-run."""
    await asyncio.sleep(ms / 1000)
    return f"waited {ms} ms"


def answer_is_upper(trajectory: object, task: object) -> tuple[bool, str]:
    """A task verifier: the final answer must be in capitals."""
    outcome = getattr(trajectory, "outcome", None)
    text = (outcome.final_output if outcome is not None else None) or ""
    return text.isupper(), f"final answer {text!r}"


def ratio(a: int, b: int) -> float:
    """``a / b``: raises ZeroDivisionError when the caller passes ``b = 0``."""
    return a / b


def die() -> str:
    """Kill the process running it (a GAP worker process: never call it in the test process)."""
    os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"
