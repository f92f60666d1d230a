"""``within``: the timer of a tool's timeout is armed only if the tool suspends, and what the
caller sees is what ``asyncio.timeout`` gives."""

from __future__ import annotations

import asyncio
import time

import pytest

from nex_core.runtime._deadline import within


async def _answer() -> int:
    return 42


async def _sleep(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


async def _busy_then_suspend() -> str:
    time.sleep(0.05)  # past the deadline before it first suspends
    await asyncio.sleep(0)
    return "late"


async def _fails_after_suspending() -> None:
    await asyncio.sleep(0)
    raise ValueError("broken tool")


def test_a_coroutine_that_never_suspends_arms_no_timer() -> None:
    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        before = len(loop._scheduled)  # type: ignore[attr-defined]
        value = await within(_answer(), 5)
        return value, len(loop._scheduled) - before  # type: ignore[attr-defined]

    assert asyncio.run(main()) == (42, 0)


def test_results_errors_and_timeouts_as_asyncio_timeout_gives_them() -> None:
    async def main() -> None:
        assert await within(_sleep(0.01), 5) == "slept"
        assert await within(_sleep(0.01), None) == "slept"
        with pytest.raises(TimeoutError):
            await within(_sleep(5), 0.02)
        with pytest.raises(TimeoutError):  # the deadline counts from the call, not the suspension
            await within(_busy_then_suspend(), 0.01)
        with pytest.raises(ValueError, match="broken tool"):
            await within(_fails_after_suspending(), 5)
        parallel = await asyncio.gather(within(_sleep(0.01), 5), within(_answer(), 5))
        assert parallel == ["slept", 42]

    asyncio.run(main())


def test_cancelling_the_caller_cancels_the_coroutine_not_a_timeout() -> None:
    seen: list[str] = []

    async def guarded() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen.append("cancelled inside")
            raise

    async def main() -> None:
        task = asyncio.create_task(within(guarded(), 10))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["cancelled inside"]
