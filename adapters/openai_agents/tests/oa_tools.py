"""Tools the specs bind by import path (``oa_tools:NAME``)."""

from __future__ import annotations


def add(a: float, b: float) -> float:
    return a + b


def explode(text: str) -> str:
    raise ValueError(f"cannot do {text}")
