"""nex benchmarks: ``python -m bench --out DIR [--only NAME] [--quick]``.

Each module ``bench/bench_<name>.py`` exposes ``run() -> dict`` (JSON-compatible metrics); the
runner writes ``DIR/<name>.json``. A module whose framework is not installed raises
``ImportError`` on import and is skipped. ``--quick`` sets ``NEX_BENCH_QUICK=1`` in the
environment (and passes ``quick=True`` to a ``run`` that takes it) for smaller, faster runs.
"""

from __future__ import annotations

import os

QUICK_ENV = "NEX_BENCH_QUICK"


def quick() -> bool:
    """Whether the runner asked for a quick run."""
    return os.environ.get(QUICK_ENV, "") not in {"", "0"}
