from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from nex_agent_framework import AgentFrameworkAdapter


@pytest.fixture
def adapter() -> AgentFrameworkAdapter:
    return AgentFrameworkAdapter()


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)
