"""A deterministic tool for the example's second agent (bound by import path, so every backend
can run it): the UTC offset of a zone on a fixed date."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

REFERENCE = datetime(2025, 1, 15, 12, 0)


def utc_offset(timezone: str) -> str:
    """Offset from UTC of ``timezone`` on 2025-01-15, as ``+HH:MM``."""
    offset = ZoneInfo(timezone).utcoffset(REFERENCE)
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
