"""Scripted and replay models built from the same unchanged file share one parse (GAP builds a
model per episode), keep their own state, and see an edited file."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from nex_core import ScriptedModel
from nex_core.models import replay as replay_module
from nex_core.models import scripted as scripted_module
from nex_core.models.replay import ReplayModel
from nex_core.trajectory import JSONLSink, TaskInfo
from nex_core.trajectory.schema import LLMRequest, Message


def _ask(model: ScriptedModel | ReplayModel) -> str | None:
    request = LLMRequest(messages=[Message.user("hi")])
    return asyncio.run(model.acomplete(request)).message.text()


def test_a_script_is_parsed_once_and_every_model_has_its_own_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "script.yaml"
    path.write_text("replies:\n  - text: one\n  - text: two\n")
    parses = []
    real = scripted_module.load_document

    def counting(*args: object, **kwargs: object) -> object:
        parses.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scripted_module, "load_document", counting)
    first, second = ScriptedModel.from_file(path), ScriptedModel.from_file(path)
    assert len(parses) == 1
    assert [_ask(first), _ask(first)] == ["one", "two"]
    assert _ask(second) == "one"  # the first model's replies were its own

    path.write_text("replies:\n  - text: edited, and longer\n")
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    assert _ask(ScriptedModel.from_file(path)) == "edited, and longer"
    assert len(parses) == 2


def test_a_recorded_run_is_read_once_per_file_and_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nex_core.protocol.spec import AgentSpec
    from nex_core.runtime.loop import run_native

    path = tmp_path / "runs.jsonl"
    sink = JSONLSink(path)
    for answer in ("first", "second"):
        asyncio.run(
            run_native(
                AgentSpec(name="a"),
                TaskInfo(turns=["go"]),
                model=ScriptedModel([{"text": answer}]),
                sinks=[sink],
            )
        )
    sink.close()
    reads = []
    real = replay_module.iter_trajectories

    def counting(*args: object, **kwargs: object) -> object:
        reads.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(replay_module, "iter_trajectories", counting)
    assert _ask(ReplayModel.from_file(path)) == "first"
    assert _ask(ReplayModel.from_file(path)) == "first"
    assert _ask(ReplayModel.from_file(path, index=1)) == "second"
    assert len(reads) == 2
