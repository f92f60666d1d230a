from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from nex_autogen import AutogenAdapter


@pytest.fixture
def adapter() -> AutogenAdapter:
    return AutogenAdapter()


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)
