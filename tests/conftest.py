"""Fixtures for nex-core's tests. Helpers to build and run specs live in native_helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

if str(REPO) not in sys.path:  # examples.* import paths resolve from the repository root
    sys.path.insert(0, str(REPO))


@pytest.fixture
def repo() -> Path:
    return REPO
