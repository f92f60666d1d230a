"""``nex run`` whose output file cannot be written says so in one ``error:`` line with the path
(non-zero exit), on every installed backend. A real ``ENOTDIR`` (the output under a regular
file: the tests run as root, which ignores permissions) and ``ENOSPC`` from ``os.write`` patched,
in this process, to fail for the output file only."""

from __future__ import annotations

import errno
import importlib.util
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nex_core.cli.main import cli

BACKENDS = ["native"] + [
    name
    for name, module in (("langgraph", "nex_langgraph"), ("autogen", "nex_autogen"))
    if importlib.util.find_spec(module) is not None
]


def _run(repo: Path, out: Path, backend: str) -> Result:
    return CliRunner().invoke(
        cli,
        [
            "run",
            str(repo / "examples/calculator/agent.yaml"),
            "--task",
            "What is (2+3)*4?",
            "--model",
            f"scripted:{repo / 'examples/calculator/script.yaml'}",
            "--backend",
            backend,
            "--out",
            str(out),
        ],
    )


def _squash(text: str) -> str:
    return "".join(text.split())  # rich wraps long lines, even inside a path


def test_an_output_under_a_regular_file_is_one_error_line(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("not a folder\n")
    out = tmp_path / "file.txt" / "t.jsonl"
    result = _run(repo, out, "native")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    expected = f"error: cannot open {out}: {out.parent} exists and is not a folder"
    assert _squash(result.output) == _squash(expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_full_disk_is_one_error_line(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    out = tmp_path / "t.jsonl"
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        try:
            full = os.readlink(f"/proc/self/fd/{fd}") == str(out)
        except OSError:
            full = False
        if full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    result = _run(repo, out, backend)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert _squash(f"error: cannot write {out}: No space left on device") in _squash(result.stderr)
    assert _squash(result.stderr).count("error:") == 1
