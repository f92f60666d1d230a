"""The benches' peak-memory figure is the measured process's own, never a parent's."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from bench._memory import SOURCE_PROC, current_rss_mb, peak_rss_mb

REPO = Path(__file__).resolve().parents[1]


def test_a_fresh_child_does_not_report_its_parents_peak() -> None:
    ballast = bytearray(160 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):  # touch every page, so it is resident
        ballast[i] = 1
    parent_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = subprocess.run(
        [sys.executable, "-c", "from bench._memory import peak_rss_mb; print(*peak_rss_mb())"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(maxsplit=1)
    del ballast
    child_mb, source = float(out[0]), out[1].strip()
    assert source == SOURCE_PROC
    assert parent_peak_mb > 160
    # An interpreter that imported one small module: tens of MB, not the parent's 160+.
    assert child_mb < 80, child_mb


def test_peak_is_at_least_the_current_resident_set() -> None:
    peak, _ = peak_rss_mb()
    now = current_rss_mb()
    assert now is not None and peak >= now > 0
