"""Small helpers the adapter's tests share (a module of its own: ``conftest`` names clash when
several test folders run in one session)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)
