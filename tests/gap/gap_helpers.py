"""Helpers for the GAP tests (a uniquely named module: test folders of several distributions
run in one pytest session, so nothing is imported from a module named ``conftest``)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

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
