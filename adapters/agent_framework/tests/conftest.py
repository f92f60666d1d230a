from __future__ import annotations

import pytest
from nex_agent_framework import AgentFrameworkAdapter


@pytest.fixture
def adapter() -> AgentFrameworkAdapter:
    return AgentFrameworkAdapter()
