"""Plain tool functions bound by import path in the test specs (sync and async, some failing)."""

from __future__ import annotations

import asyncio
import time


def add(a: float, b: float) -> float:
    return a + b


def multiply(a: float, b: float) -> float:
    return a * b


def divide(a: float, b: float) -> float:
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return a / b


def slow_add(a: float, b: float) -> float:
    time.sleep(0.6)
    return a + b


async def async_divide(a: float, b: float) -> float:
    await asyncio.sleep(0)
    return a / b
