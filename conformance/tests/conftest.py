"""Shared fixtures for the kit's own tests."""

from __future__ import annotations

import pytest

from nex_core.runtime.plugin import NativeAdapter

pytest_plugins = ["pytester"]


@pytest.fixture
def native() -> NativeAdapter:
    return NativeAdapter()
