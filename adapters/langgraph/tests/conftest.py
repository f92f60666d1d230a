"""Fixtures for the nex-langgraph tests; helpers the tests import live in lg_helpers.py."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from nex_core.trajectory.schema import Trajectory

warnings.filterwarnings("ignore", message=".*create_react_agent.*")


@pytest.fixture(scope="session")
def trajectory_schema() -> dict[str, Any]:
    return Trajectory.model_json_schema()
