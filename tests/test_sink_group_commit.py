"""JSONLSink writers in several threads share fsyncs, and each ``write`` still returns only once
its own line is covered by an fsync that began after the line was written."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from nex_core.trajectory import JSONLSink
from nex_core.trajectory import sinks as sinks_module


@pytest.mark.parametrize("lead_rounds", [8, 1])  # 1: the lead passes on after every fsync
def test_concurrent_writers_share_fsyncs_and_return_only_when_covered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lead_rounds: int
) -> None:
    monkeypatch.setattr(sinks_module, "_LEAD_ROUNDS", lead_rounds)
    path = tmp_path / "out.jsonl"
    synced_sizes: list[int] = []  # file size when each fsync began (what it makes durable)
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        size = os.fstat(fd).st_size
        time.sleep(0.02)  # a disk that takes its time, so writers pile up behind it
        real_fsync(fd)
        synced_sizes.append(size)

    monkeypatch.setattr(sinks_module.os, "fsync", slow_fsync)
    sink = JSONLSink(path)
    problems: list[str] = []

    def writer(i: int) -> None:
        for j in range(5):
            line = f'{{"writer":{i},"n":{j}}}'
            sink.write_line(line)
            end = path.read_bytes().index(line.encode()) + len(line) + 1
            if not any(size >= end for size in synced_sizes):
                problems.append(f"{line} returned before an fsync covered it")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    assert problems == []
    assert len(path.read_text().splitlines()) == 40
    assert len(synced_sizes) < 40  # shared: fewer fsyncs than lines


def test_one_writer_still_fsyncs_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(sinks_module.os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    with JSONLSink(tmp_path / "out.jsonl") as sink:
        for i in range(3):
            sink.write_line(f'{{"n":{i}}}')
            assert len(calls) == i + 1
    assert len(calls) == 3  # close had nothing left to sync
