"""The OTLP sinks from a GAP config and ``nex export --dataset otlp-json``; the missing extra."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk")

import yaml
from click.testing import CliRunner
from otel_helpers import team_run

from nex_core.cli.main import cli
from nex_core.errors import SpecError
from nex_core.gap import load_config, run_gap
from nex_core.otel import import_otlp
from nex_core.trajectory import iter_trajectories, normalize
from nex_core.trajectory.sinks import JSONLSink, open_sink


def _config(tmp_path: Path, sinks: list[dict[str, object]]) -> Path:
    (tmp_path / "tasks.jsonl").write_text(
        "".join(json.dumps({"id": f"t{i}", "prompt": f"say {i}"}) + "\n" for i in range(3))
    )
    (tmp_path / "agent.yaml").write_text("name: sayer\nsystem_prompt: Say it.\n")
    (tmp_path / "script.yaml").write_text("replies:\n  - text: said\n")
    config = {
        "tasks": ["tasks.jsonl"],
        "agents": [{"spec": "agent.yaml"}],
        "models": [{"name": "scripted", "ref": "scripted:script.yaml"}],
        "output": "out",
        "checks": [{"name": "status"}],
        "sinks": sinks,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_gap_config_sinks_get_every_committed_episode(tmp_path: Path) -> None:
    spans = tmp_path / "spans.jsonl"
    path = _config(tmp_path, [{"name": "otlp-json", "target": str(spans)}])
    result = asyncio.run(run_gap(load_config(path)))
    assert result.report["sinks"] == {"otlp-json": {"written": 3, "errors": 0}}
    recorded = {t.id: t for t in iter_trajectories(tmp_path / "out" / "trajectories.jsonl")}
    exported = list(import_otlp(spans))
    assert len(exported) == 3
    for traj in exported:
        assert normalize(traj) == normalize(recorded[traj.id])


def test_gap_config_with_an_unknown_sink_fails_before_running(tmp_path: Path) -> None:
    path = _config(tmp_path, [{"name": "nope"}])
    with pytest.raises(SpecError, match=r"unknown sink 'nope' \(available: .*otlp"):
        asyncio.run(run_gap(load_config(path)))


def test_export_dataset_otlp_json(tmp_path: Path) -> None:
    source = tmp_path / "t.jsonl"
    runs = [team_run(), team_run()]
    with JSONLSink(source) as sink:
        for traj in runs:
            sink.write(traj)
    out = tmp_path / "export"
    result = CliRunner().invoke(
        cli, ["export", str(source), "-o", str(out), "--dataset", "otlp-json"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["trajectories"] == 2 and manifest["semantic_conventions"] == "1.44.0"
    back = list(import_otlp(out / "otlp-json" / "traces.jsonl"))
    assert [normalize(t) for t in back] == [normalize(t) for t in runs]


def test_a_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(SpecError, match=r"pip install 'nex-core\[otel\]'"):
        open_sink("otlp:http://127.0.0.1:4318")
    calculator = Path(__file__).resolve().parents[2] / "examples" / "calculator"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(calculator / "agent.yaml"),
            "--task",
            "t",
            "--model",
            f"scripted:{calculator / 'script.yaml'}",
            "--sink",
            "otlp",
            "--out",
            str(tmp_path / "never-written.jsonl"),
        ],
    )
    assert result.exit_code == 1
    assert "the OTLP sink needs the OpenTelemetry packages" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "never-written.jsonl").exists()


def test_a_bad_endpoint_or_protocol_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match="must be a URL"):
        open_sink("otlp:localhost")
    with pytest.raises(SpecError, match=r"sink 'jsonl': .*missing .* 'path' \(write NAME:TARGET"):
        open_sink("jsonl")
    with pytest.raises(SpecError, match="protocol 'http/json' is not supported"):
        open_sink("otlp:http://127.0.0.1:4318", protocol="http/json")


def test_nex_import_otlp_reads_a_folder_and_reports(tmp_path: Path) -> None:
    from nex_core.otel import write_otlp_json

    folder = tmp_path / "collector"
    runs = [team_run(), team_run()]
    write_otlp_json(runs[:1], folder / "a" / "traces.jsonl")
    write_otlp_json(runs[1:], folder / "b.json", capture_content=False)
    (folder / "notes.txt").write_text("not a trace file")
    out, report = tmp_path / "imported.jsonl", tmp_path / "report.json"
    result = CliRunner().invoke(
        cli, ["import", "otlp", str(folder), "-o", str(out), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "2 trajectories appended" in result.output
    assert "lacks model call without input messages (content not captured)" in result.output
    got = {t.id: t for t in iter_trajectories(out, strict=True)}
    assert normalize(got[runs[0].id]) == normalize(runs[0])
    reports = json.loads(report.read_text())["trajectories"]
    assert [r["lacks"] == [] for r in reports] == [True, False]
