"""Run every ``bench/bench_<name>.py`` and write ``DIR/<name>.json`` (see ``bench/__init__.py``)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench import QUICK_ENV


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))


def run_one(name: str, quick: bool) -> dict[str, Any] | None:
    try:
        module = importlib.import_module(f"bench.bench_{name}")
    except ImportError as exc:
        print(f"[bench] skip {name}: {exc}", file=sys.stderr)
        return None
    func = module.run
    kwargs = {"quick": True} if quick and "quick" in inspect.signature(func).parameters else {}
    started = time.perf_counter()
    metrics = func(**kwargs)
    return {
        "benchmark": name,
        "quick": quick,
        "wall_s": round(time.perf_counter() - started, 3),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "metrics": metrics,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="folder for <name>.json results")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ[QUICK_ENV] = "1"
    names = discover()
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
    selected = [n for n in names if not args.only or n in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    for name in selected:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        result = run_one(name, args.quick)
        if result is None:
            continue
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"[bench] {name}: {result['wall_s']} s -> {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
