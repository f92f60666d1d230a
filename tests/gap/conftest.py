"""Fixtures for the GAP pipeline tests: configs written into tmp folders, offline datasets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gap_helpers import EXAMPLE


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    """A copy of examples/gap with its output inside tmp_path."""
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("out", "__pycache__"))
    return target
