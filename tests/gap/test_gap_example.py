"""examples/gap runs offline end to end and its data loads with Hugging Face ``datasets``.

The example names two backends, native and langgraph. The langgraph adapter is its own
distribution (nex-langgraph); when it is not installed the test drops that backend, and says so.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from gap_helpers import langgraph_available

from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import iter_trajectories


def _prepare(example_dir: Path) -> Path:
    config_path = example_dir / "config.yaml"
    if not langgraph_available():
        data = yaml.safe_load(config_path.read_text())
        data["backends"] = [b for b in data["backends"] if b != "langgraph"]
        config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return config_path


def test_example_runs_verifies_exports_and_resumes(example_dir: Path) -> None:
    config = load_config(_prepare(example_dir))
    backends = config.backends
    result = asyncio.run(run_gap(config))
    report = result.report
    tasks, samples = 4, 2
    # clock needs MCP tools, which both backends run (through the shared server).
    pairs = [("clock", "native"), ("zones", "native")]
    if "langgraph" in backends:
        pairs += [("clock", "langgraph"), ("zones", "langgraph")]
    assert report["not_applicable"] == {}
    assert report["episodes"] == tasks * samples * len(pairs)
    assert set(report["by_backend"]) == set(backends)
    for backend in backends:
        runs = sum(1 for _, b in pairs if b == backend) * tasks * samples
        assert report["by_backend"][backend]["statuses"] == {"completed": runs}, backend
    # The sloppy model's wrong answers are rejected everywhere; identical behaviour (second
    # samples, the same agent in another framework) is deduplicated; the rest is accepted.
    assert report["rejections"]["task:wrong_answer"] == samples * len(pairs)
    assert report["rejections"]["dedup:duplicate"] >= tasks
    assert report["accepted"] >= 3
    assert report["accepted"] + sum(report["rejections"].values()) == report["episodes"]
    assert report["tokens"]["total"] > 0 and report["this_run"]["episodes_per_s"] > 0
    assert report["mcp_restarts"] == {}
    saved = json.loads((config.output_dir / "report.json").read_text())
    assert saved["episodes"] == report["episodes"]

    trajs = list(iter_trajectories(config.trajectories_path))
    assert len({json.dumps(t.metadata["gap"]["key"], sort_keys=True) for t in trajs}) == len(trajs)
    tool_results = [s for t in trajs for s in t.steps if s.kind == "tool"]
    assert tool_results and all(s.error is None for s in tool_results)
    assert any("Asia/Tokyo" in json.dumps(s.result) for s in tool_results)  # the real MCP server

    # Exported: every format, both layouts, JSONL and Parquet, split by task id.
    export = report["export"]
    assert export["trajectories"] == report["accepted"]
    data = config.output_dir / "data"
    by_split: dict[str, set[str]] = {"train": set(), "validation": set()}
    for path in (data / "hf" / "native").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            by_split[path.stem].add(json.loads(line)["metadata"]["task_id"])
    assert by_split["train"] and not (by_split["train"] & by_split["validation"])

    datasets = pytest.importorskip("datasets")
    for layout, column in (
        ("hf", "messages"),
        ("openai", "messages"),
        ("sharegpt", "conversations"),
    ):
        for fmt in ("native", "xml", "hermes", "react", "pythonic", "json"):
            folder = data / layout / fmt
            files = {p.stem: str(p) for p in folder.glob("*.jsonl")}
            ds = datasets.load_dataset("json", data_files=files)
            assert column in ds["train"].column_names
            pq = datasets.load_dataset(
                "parquet", data_files={k: v.replace(".jsonl", ".parquet") for k, v in files.items()}
            )
            assert pq["train"].num_rows == ds["train"].num_rows
    native = datasets.load_dataset("json", data_files=str(data / "hf" / "native" / "train.jsonl"))
    row = native["train"][0]
    assert row["tools"][0]["type"] == "function"
    calls = [
        c for m in row["messages"] if m["role"] == "assistant" for c in m.get("tool_calls", [])
    ]
    assert calls and all(isinstance(c["function"]["arguments"], dict) for c in calls)

    # Re-running the same config runs nothing and writes nothing.
    size = config.trajectories_path.stat().st_size
    again = asyncio.run(run_gap(load_config(example_dir / "config.yaml")))
    assert again.report["this_run"]["episodes"] == 0
    assert again.report["this_run"]["resumed_skipped"] == report["episodes"]
    assert config.trajectories_path.stat().st_size == size


def test_a_backend_lacking_mcp_tools_is_not_applicable_to_the_clock(
    example_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An adapter without a capability an agent needs is skipped for it, never run to fail."""
    from nex_core import plugins
    from nex_core.adapter import Capability
    from nex_core.gap.plan import applicable_pairs, load_specs
    from nex_core.runtime.plugin import NativeAdapter

    class NoMCP:
        capabilities = NativeAdapter.capabilities - {Capability.MCP_TOOLS}

    class Manager:
        def adapters(self) -> dict[str, object]:
            return {"native": NativeAdapter(), "nomcp": NoMCP()}

        def adapter(self, name: str) -> object:  # what applicable_pairs asks: one by name
            return self.adapters()[name]

    config = load_config(_prepare(example_dir))
    config = config.model_copy(update={"backends": ["native", "nomcp"]})
    monkeypatch.setattr(plugins, "get_plugin_manager", Manager)
    pairs, skipped = applicable_pairs(config, load_specs(config))
    assert ("clock", "nomcp") not in pairs and ("zones", "nomcp") in pairs
    assert skipped == {"clock@nomcp": "nomcp lacks mcp_tools"}


def test_langgraph_backend_is_part_of_the_example() -> None:
    if not langgraph_available():
        pytest.skip("nex-langgraph is not installed: the example runs on native only")
    from nex_core.plugins import get_plugin_manager

    assert "langgraph" in get_plugin_manager().adapters()


def test_the_documented_install_brings_the_example_servers() -> None:
    """examples/gap/README.md installs nex-core[examples]; that extra must hold every MCP server
    module the example's config and specs start with `python -m`."""
    import re
    import tomllib

    from gap_helpers import EXAMPLE, REPO

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    install = (EXAMPLE / "README.md").read_text()
    assert "pip install -e '.[examples]'" in install
    wanted = {
        re.split(r"[<>=\[ ;]", requirement)[0].replace("-", "_")
        for requirement in extras["examples"]
    }
    modules = set()
    for name in ("config.yaml", "agent.yaml"):
        data = yaml.safe_load((EXAMPLE / name).read_text())
        for server in data.get("mcp_servers", {}).values():
            args = server.get("args", [])
            if server.get("command") in {"python", "python3"} and args[:1] == ["-m"]:
                modules.add(args[1])
    assert modules == {"mcp_server_time"} and modules <= wanted
    assert "nex-core[gap]" in extras["examples"]  # the example exports Parquet
