"""Fixtures for the GAP pipeline tests: configs written into tmp folders, offline datasets."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EXAMPLE = REPO / "examples" / "gap"

for entry in (str(REPO), str(REPO / "tests"), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def langgraph_available() -> bool:
    """The langgraph adapter is a separate distribution: the example skips it only if absent."""
    return importlib.util.find_spec("nex_langgraph") is not None


def write_config(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    """A copy of examples/gap with its output inside tmp_path."""
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("out", "__pycache__"))
    return target
