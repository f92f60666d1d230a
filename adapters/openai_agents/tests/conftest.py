from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _no_trace_export() -> None:
    """The SDK's default trace processor exports to api.openai.com: tests keep only nex's."""
    from agents import set_trace_processors

    set_trace_processors([])
