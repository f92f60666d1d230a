"""The streaming reader: bad lines are reported with file and line, and reading goes on."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from nex_core.errors import TrajectoryError
from nex_core.trajectory import (
    BadLine,
    JSONLSink,
    Outcome,
    OutcomeStatus,
    Provenance,
    Recorder,
    Trajectory,
    iter_trajectories,
    read_trajectories,
)

PROV = Provenance(framework="test", adapter="test", nex_version="0")


def line(i: int) -> str:
    rec = Recorder(provenance=PROV, trajectory_id=f"t{i}")
    step = rec.begin_tool(agent="a", name="echo", call_id="c", arguments={"i": i})
    rec.end_tool(step, i)
    return rec.finish(Outcome(status=OutcomeStatus.COMPLETED, final_output=str(i))).to_json()


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    good = [line(i) for i in range(4)]
    wrong_shape = json.dumps({**json.loads(good[0]), "steps": [{"kind": "llm"}]})
    lines = [
        good[0],
        good[1][: len(good[1]) // 2],  # truncated mid-record
        "",  # blank lines are skipped silently
        "\x00\x01 not json at all",
        good[2],
        wrong_shape,
        good[3],
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_lines_are_reported_and_reading_goes_on(mixed: Path) -> None:
    bad: list[BadLine] = []
    ids = [t.id for t in iter_trajectories(mixed, on_error=bad.append)]
    assert ids == ["t0", "t2", "t3"]
    assert [b.line for b in bad] == [2, 4, 6]
    assert all(b.file == str(mixed) for b in bad)
    assert "truncated or corrupt" in bad[0].reason
    assert "not a valid trajectory" in bad[2].reason and "steps" in bad[2].reason
    assert str(bad[0]).startswith(f"{mixed}:2: ")


def test_strict_mode_raises_at_the_first_bad_line(mixed: Path) -> None:
    it = iter_trajectories(mixed, strict=True)
    assert next(it).id == "t0"
    with pytest.raises(TrajectoryError, match=":2: "):
        next(it)


def test_bad_lines_are_dropped_silently_without_a_callback(mixed: Path) -> None:
    assert len(list(iter_trajectories(mixed))) == 3
    good, bad = read_trajectories(mixed)
    assert len(good) == 3 and len(bad) == 3


def test_reader_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    with JSONLSink(path, fsync=False) as sink:
        for i in range(50):
            sink.write_line(line(i))
    it = iter_trajectories(path)
    assert next(it).id == "t0"  # a generator: nothing read past what is asked for
    assert sum(1 for _ in it) == 49


def test_the_v2_corpus_holds_what_v2_added() -> None:
    from nex_core.trajectory.schema import LLMStep

    tokens_run, rewards_run = iter_trajectories(CORPUS / "v2" / "tokens_rewards.jsonl", strict=True)
    calls = [s for s in tokens_run.steps if isinstance(s, LLMStep) and s.response]
    tokens = [s.response.tokens for s in calls if s.response]
    assert all(t is not None and t.prompt_token_ids and t.top_logprobs for t in tokens)
    # prompt_from resolved: each prompt begins with the previous prompt and completion.
    for before, after in itertools.pairwise(tokens):
        assert before is not None and after is not None and after.prompt_token_ids is not None
        whole = (before.prompt_token_ids or []) + (before.completion_token_ids or [])
        assert after.prompt_token_ids[: len(whole)] == whole
    assert calls[1].response is not None and calls[1].response.usage is not None
    assert calls[1].response.usage.cached_tokens
    assert rewards_run.outcome is not None
    assert rewards_run.outcome.rewards == {"format": -1.0, "task": 1.0}
    assert [s.rewards for s in rewards_run.steps if s.rewards] == [{"format": -1.0}]


def test_a_newer_schema_version_is_named(tmp_path: Path) -> None:
    line = (CORPUS / "v1" / "xml_format.jsonl").read_text().replace(
        '"schema_version":1', '"schema_version":3', 1
    ).replace('"schema_version": 1', '"schema_version": 3', 1)
    path = tmp_path / "new.jsonl"
    path.write_text(line)
    with pytest.raises(TrajectoryError, match=r"new.jsonl:1: .*schema_version 3 is not one this "
                       r"nex reads \(1, 2\)"):
        list(iter_trajectories(path, strict=True))


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(iter_trajectories(tmp_path / "none.jsonl"))


# --------------------------------------------------------------------------- frozen corpus

CORPUS = Path(__file__).parent / "corpus"
FROZEN = sorted(CORPUS.glob("v*/*.jsonl"))
EXPECTED = {"errors.jsonl": 2, "examples.jsonl": 2, "multi_agent.jsonl": 2, "xml_format.jsonl": 1}
EXPECTED_V2 = {"tokens_rewards.jsonl": 2}


def test_corpus_is_complete() -> None:
    assert {p.name for p in (CORPUS / "v1").glob("*.jsonl")} == set(EXPECTED)
    assert {p.name for p in (CORPUS / "v2").glob("*.jsonl")} == set(EXPECTED_V2)


@pytest.mark.parametrize("path", FROZEN, ids=[f"{p.parent.name}/{p.name}" for p in FROZEN])
def test_frozen_corpus_still_reads(path: Path) -> None:
    from nex_core.trajectory import normalize

    trajectories = list(iter_trajectories(path, strict=True))
    assert len(trajectories) == {**EXPECTED, **EXPECTED_V2}[path.name]
    version = int(path.parent.name.removeprefix("v"))
    for traj in trajectories:
        assert traj.schema_version == version
        assert traj.outcome is not None and traj.steps
        normalize(traj)  # the normal form still applies
        original = next(
            json.loads(raw)
            for raw in path.read_text().splitlines()
            if json.loads(raw)["id"] == traj.id
        )
        if version == 1:
            # Nothing lost or added on reading (v1 files predate messages_from: requests in full).
            assert json.loads(traj.model_dump_json(exclude_none=True)) == original
        else:
            # v2 files are in the stored form (messages_from, tokens.prompt_from): written back
            # exactly as they were.
            assert json.loads(traj.to_json()) == original
        assert Trajectory.model_validate_json(traj.to_json()) == traj
