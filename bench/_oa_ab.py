"""Before/after of the OpenAI Agents SDK adapter's recording, in one process.

    python -m bench._oa_ab --baseline /work/main [--pairs 150] [--out ab.json]

The baseline checkout's ``nex_openai_agents`` package is copied under another name
(``nex_oa_base``) into a temporary folder and imported beside this checkout's, so the bare run,
the baseline's recording and this checkout's recording take turns in one interpreter (the
order rotating each repetition) and machine load falls on all three alike (one interpreter, so
of ``bench/_checkouts.py`` it takes only the options and the report). Both adapters hook the
SDK (a model lookup wrapper, a trace processor); each acts only while its own recording is
active, so the other's inactive hook is a cost both recorded sides (and the bare one) pay alike.
Four sides take turns: a bare run with each checkout's bridge and a recorded run with each
checkout's adapter. Reported per checkout: the bare and recorded median CPU ms and the
per-repetition recorded/bare ratios' median and quartiles (``bench._pairs``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._checkouts import add_options, checkouts, load_average, report
from bench._pairs import interleave, pair_summary

BASE_NAME = "nex_oa_base"


def _import_baseline(checkout: Path, into: Path) -> Any:
    source = checkout / "adapters" / "openai_agents" / "nex_openai_agents"
    target = into / BASE_NAME
    target.mkdir()
    for path in source.iterdir():
        if path.suffix in (".py", ".yaml", ".typed"):
            text = path.read_text(encoding="utf-8")
            (target / path.name).write_text(
                re.sub(r"\bnex_openai_agents\b", BASE_NAME, text), encoding="utf-8"
            )
    sys.path.insert(0, str(into))
    return importlib.import_module(BASE_NAME)


async def _measure(baseline: Any, pairs: int, warmup: int) -> dict[str, Any]:
    from agents import Runner, set_trace_processors
    from nex_openai_agents import OpenAIAgentsAdapter, bridge_model

    from bench.bench_openai_agents import ROUNDS, make_agent

    set_trace_processors([])  # no exporter to api.openai.com on any side
    before, after = baseline.OpenAIAgentsAdapter(), OpenAIAgentsAdapter()

    def bare(bridge: Any) -> Any:
        async def side() -> None:
            result = await Runner.run(make_agent(bridge), "Go.", max_turns=ROUNDS + 1)
            assert result.final_output == "done"

        return side

    def recorded(adapter: Any, bridge: Any) -> Any:
        async def side() -> None:
            traj = await adapter.arecord(make_agent(bridge), "Go.", max_turns=ROUNDS + 1)
            assert traj.outcome.final_output == "done"
            assert sum(1 for s in traj.steps if s.kind == "tool") == ROUNDS

        return side

    cpu = await interleave(
        {
            "bare_before": bare(baseline.bridge_model),
            "before": recorded(before, baseline.bridge_model),
            "bare": bare(bridge_model),
            "after": recorded(after, bridge_model),
        },
        pairs,
        warmup,
    )
    # Each recorded side against the bare run with its own bridge (the bridge's cost is the
    # bare side's; the recorded/bare ratio is the recording's).
    old = pair_summary({"bare": cpu["bare_before"], "recorded": cpu["before"]})
    new = pair_summary({"bare": cpu["bare"], "recorded": cpu["after"]})
    return {"tool_rounds": ROUNDS, "pairs": pairs, "before": old, "after": new}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    parser.add_argument("--pairs", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _import_baseline(checkouts(args.baseline)["before"], Path(tmp))
        result = asyncio.run(_measure(baseline, args.pairs, args.warmup))
    result["load_average"] = load_average()
    report(result, args.out, indent=2)


if __name__ == "__main__":
    main()
