"""Before/after benches: this checkout against another one (a git worktree of the base).

What ``bench/_ab.py``, ``bench/_recab.py`` and ``bench/_oa_ab.py`` share: the ``--baseline`` and
``--out`` options, the two checkouts by side, fresh child interpreters started in one checkout
or the other (the sides taking turns, which goes first rotating, so the machine's load falls on
both alike), the JSON a child prints, and the summaries the reports give.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
"""This checkout (the "after" side)."""
PACKAGES = (
    Path("."),
    Path("adapters") / "langgraph",
    Path("adapters") / "autogen",
    Path("adapters") / "agent_framework",
    Path("adapters") / "openai_agents",
)
"""Where a checkout keeps the packages a child imports from it (nex-core and the adapters)."""


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--baseline`` (the checkout to compare with) and ``--out`` (the JSON report)."""
    parser.add_argument("--baseline", required=True, type=Path, help="checkout to compare with")
    parser.add_argument("--out", type=Path, help="write the report there too")


def checkouts(baseline: Path) -> dict[str, Path]:
    """The two sides: ``before`` (the baseline) and ``after`` (this checkout)."""
    return {"before": baseline.resolve(), "after": HERE}


def child(tree: Path, code: str, args: Sequence[str]) -> dict[str, Any]:
    """Run ``code`` (``python -c``) in a fresh interpreter inside ``tree``, its packages first
    on the path whatever the environment has installed (editable or not), and return the JSON
    its last line printed. A ``_files`` key in that JSON (module files the child imported) is
    checked to lie in ``tree`` and removed."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(tree / p) for p in PACKAGES))
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:  # the child's own error, not only its exit status
        raise RuntimeError(f"child in {tree} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    files = result.pop("_files", [])
    if not all(str(f).startswith(str(tree)) for f in files):
        raise RuntimeError(f"child in {tree} imported {files}")
    return result


def alternate(
    trees: dict[str, Path],
    children: int,
    run: Callable[[Path], dict[str, Any]],
    *,
    label: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``children`` results of ``run(tree)`` per side, the sides taking turns (which goes
    first rotating each round)."""
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in trees}
    for i in range(children):
        order = list(trees) if i % 2 == 0 else list(trees)[::-1]
        for side in order:
            results[side].append(run(trees[side]))
            if label is not None:
                print(f"[{label}] child {i + 1}/{children} {side} done", file=sys.stderr)
    return results


def spread(values: Sequence[float], digits: int = 1) -> dict[str, Any]:
    """Median and min-max of ``values`` (one per child)."""
    return {
        "median": round(statistics.median(values), digits),
        "range": [round(min(values), digits), round(max(values), digits)],
    }


def ratio_summary(ratios: Sequence[float]) -> dict[str, Any]:
    """Median and quartiles of recorded/bare pair ratios."""
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return {
        "pairs": len(ratios),
        "pair_ratio_median": round(statistics.median(ratios), 4),
        "pair_ratio_quartiles": [round(q1, 4), round(q3, 4)],
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (what else the shared machine was doing)."""
    return [round(x, 2) for x in os.getloadavg()]


def report(result: dict[str, Any], out: Path | None, *, indent: int = 1) -> None:
    """Print the report, and write it to ``out`` when given."""
    text = json.dumps(result, indent=indent)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    print(text)
