"""From a description to training data: nex synth → nex gap run on native, LangGraph and AutoGen
→ nex export, offline on scripted models; and the command line's own paths."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from synth_helpers import REPO, reply, run_synth, shop_bundle, variant

from nex_core.cli.main import cli
from nex_core.gap import load_config, run_gap
from nex_core.gap.export import ExportOptions, export
from nex_core.trajectory.reader import iter_trajectories

BACKENDS = [b for b in ("native", "langgraph", "autogen")
            if b == "native" or importlib.util.find_spec(f"nex_{b}") is not None]  # fmt: skip


def test_a_generated_system_runs_through_gap_on_every_backend(tmp_path: Path) -> None:
    run, _ = run_synth(tmp_path / "synth", shop_bundle(), backends=BACKENDS)
    system = tmp_path / "synth" / run.systems[0].path  # type: ignore[operator]
    config = load_config(system / "gap.yaml")
    assert config.backends == BACKENDS
    result = asyncio.run(run_gap(config))
    trajectories = list(iter_trajectories(config.trajectories_path))
    assert len(trajectories) == 2 * len(BACKENDS)
    for trajectory in trajectories:
        outcome = trajectory.outcome
        assert outcome is not None and outcome.status.value == "completed", trajectory.provenance
        expected = {"parcel": "in transit", "sku9": "4 left"}[trajectory.task.id or ""]
        assert outcome.final_output == expected, trajectory.provenance.framework
        simulated = {s.name for s in trajectory.steps
                     if s.kind == "tool" and s.metadata.get("simulated")}  # fmt: skip
        assert simulated == {"track_parcel", "check_stock"}, trajectory.provenance.framework
    assert result.report["accepted"] >= 2
    options = {"formats": ["native", "hermes"], "validation_fraction": 0.0}
    kept = export(config.output_dir, tmp_path / "data", ExportOptions(**options))  # type: ignore[arg-type]
    assert kept["samples"] >= 2
    rows = (tmp_path / "data" / "hf" / "hermes" / "train.jsonl").read_text().splitlines()
    assert "track_parcel" in rows[0]
    dropped = export(config.output_dir, tmp_path / "real-only",
                     ExportOptions(simulated="drop", **options))  # type: ignore[arg-type]
    assert dropped["samples"] == 0 and dropped["skipped"]["simulated_observations"] >= 2


def test_the_command_reports_a_generator_that_never_succeeds(tmp_path: Path) -> None:
    bad = reply("root: desk.yaml\nfiles: {desk.yaml: [unclosed\n")
    script = tmp_path / "generator.yaml"
    script.write_text(yaml.safe_dump({"agents": {"synth": [bad, bad]}}))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "nex_core", "synth", "a help desk", "--model",
         f"scripted:{script}", "-o", str(out), "--max-retries", "1"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "rejected  000 after 2 attempt(s)" in proc.stdout
    assert "not valid YAML" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (out / "systems").exists()
    stats = CliRunner().invoke(cli, ["synth", "stats", str(out), "--json"])
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.output)
    assert data["status"] == {"rejected": 1} and data["distribution"]["attempts"] == {"2": 1}


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(cli, ["synth", "  ", "--model", "scripted:x.yaml", "-o", "o"])
    assert empty.exit_code == 1 and "description is empty" in empty.output
    config = tmp_path / "synth.yaml"
    config.write_text("n: 2\ndepth: [3, 1]\nmodes: [tool, swarm]\n")
    bad = runner.invoke(cli, ["synth", "desc", "--model", "scripted:x.yaml", "-o",
                              str(tmp_path / "o"), "--config", str(config)])  # fmt: skip
    assert bad.exit_code == 1
    assert f"{config}:2" in bad.output and "depth" in bad.output
    assert f"{config}:3" in bad.output and "modes[1]" in bad.output
    not_synth = runner.invoke(cli, ["synth", "stats", str(tmp_path)])
    assert not_synth.exit_code == 1 and "has no synth.json" in not_synth.output


def test_the_example_is_what_the_readme_says(tmp_path: Path) -> None:
    example = REPO / "examples" / "synth"
    out = tmp_path / "synth"
    result = CliRunner().invoke(cli, [
        "synth", str(example / "description.txt"), "--model",
        f"scripted:{example / 'generator.yaml'}", "-o", str(out),
        "--config", str(example / "config.yaml"), "--tools", str(example / "tools.yaml"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "synth.json").read_text())
    assert [s["attempts"] for s in manifest["systems"]] == [2, 1]
    assert manifest["systems"][0]["shape"]["bindings"] == {"mcp": 1, "simulated": 3}


def test_the_generator_can_be_an_openai_compatible_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat_server import ChatServer, Reply

    from nex_core.models.openai_compat import OpenAICompatibleModel
    from nex_core.synth import SynthConfig, synthesize

    bad = variant(shop_bundle())
    del bad["files"]["stock.yaml"]["tools"][0]["binding"]
    with ChatServer([Reply(text=reply(bad)["text"]), Reply(text=reply(shop_bundle())["text"])]
                    ) as server:  # fmt: skip
        monkeypatch.setenv("SYNTH_TEST_KEY", "test-key")
        model = OpenAICompatibleModel("gen-model", base_url=server.base_url,
                                      api_key_env="SYNTH_TEST_KEY", max_retries=0)  # fmt: skip
        run = asyncio.run(synthesize("A shop help desk.", model, tmp_path / "out",
                                     SynthConfig(seed=5)))  # fmt: skip
        bodies = [r.body for r in server.requests]
    assert [s.status for s in run.systems] == ["valid"] and run.systems[0].attempts == 2
    assert bodies[0]["seed"] == run.systems[0].blueprint["seed"]
    assert bodies[0]["temperature"] == 0.8
    assert "binding" in bodies[1]["messages"][-1]["content"]
    (generation,) = iter_trajectories(tmp_path / "out" / "generator.jsonl")
    assert generation.provenance.model == "gen-model" and len(generation.steps) == 2
