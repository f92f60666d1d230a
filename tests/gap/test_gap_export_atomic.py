"""An export appears whole or not at all (a SIGKILL mid-export never leaves truncated files
beside a manifest claiming completeness), and OS errors on the output are one clear line."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from gap_export_helpers import mixed, write_source

from nex_core.errors import OutputError
from nex_core.gap.export import ExportOptions, export, writers

REPO = Path(__file__).resolve().parents[2]
OPTIONS: dict[str, Any] = {
    "formats": ["native", "hermes", "react"],
    "targets": ["hf", "openai", "sharegpt"],
    "file_formats": ["jsonl"],
}


def assert_complete(out: Path) -> dict[str, Any]:
    """The folder is exactly what its manifest says: every file whole, nothing else."""
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    listed = set(manifest["files"])
    present = {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.name not in {"manifest.json", "README.md"}
    }
    assert present == listed
    for name, rows in manifest["files"].items():
        lines = (out / name).read_text(encoding="utf-8").splitlines()
        assert len(lines) == rows, name
        for line in lines:
            json.loads(line)
    return manifest


def _start_export(source: Path, out: Path) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from nex_core.gap.export import ExportOptions, export; "
        f"export(sys.argv[1], sys.argv[2], ExportOptions(**{OPTIONS!r}))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(source), str(out)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_mid_export(proc: subprocess.Popen[bytes], out: Path) -> Path:
    """SIGKILL once the staging folder holds some rows; returns the staging folder."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"export finished before it could be killed: {proc.stderr}"
        staging = [p for p in out.parent.glob(f".{out.name}.nex-export-*") if p.is_dir()]
        sizes = [f.stat().st_size for s in staging for f in s.rglob("*.jsonl")]
        if sizes and sum(sizes) > 200_000:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return staging[0]
        time.sleep(0.01)
    proc.kill()
    raise AssertionError("the export never started writing")


@pytest.mark.timeout(600)
def test_a_kill_mid_export_leaves_the_previous_export_whole(tmp_path: Path) -> None:
    out = tmp_path / "data"
    small = write_source(tmp_path / "small.jsonl", mixed(10))
    export(small, out, ExportOptions(**OPTIONS))
    before = assert_complete(out)
    big = write_source(tmp_path / "big.jsonl", mixed(4000))

    staging = _kill_mid_export(_start_export(big, out), out)
    assert staging.exists()  # the killed export's partial files are all in there
    assert assert_complete(out) == before

    # The next export cleans up after the killed one and replaces the old export whole.
    summary = export(big, out, ExportOptions(**OPTIONS))
    assert not staging.exists()
    after = assert_complete(out)
    assert after["trajectories"] == summary["trajectories"] == 4000
    assert not list(tmp_path.glob(".data.nex-export-*"))


@pytest.mark.timeout(600)
def test_a_kill_of_a_first_export_leaves_no_output(tmp_path: Path) -> None:
    out = tmp_path / "data"
    big = write_source(tmp_path / "big.jsonl", mixed(4000))
    _kill_mid_export(_start_export(big, out), out)
    assert not out.exists()


def test_an_output_path_under_a_file_is_one_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    source = write_source(tmp_path / "t.jsonl", mixed(2))
    out = tmp_path / "file.txt" / "data"
    with pytest.raises(OutputError) as info:
        export(source, out, ExportOptions(formats=["native"]))
    message = str(info.value)
    assert "\n" not in message and str(out) in message and "Not a directory" in message


def test_an_existing_file_or_a_foreign_folder_is_not_replaced(tmp_path: Path) -> None:
    source = write_source(tmp_path / "trajectories.jsonl", mixed(2))
    with pytest.raises(OutputError, match="is not a folder"):
        export(source, source, ExportOptions(formats=["native"]))
    # The run folder itself holds the trajectories: an export must never replace it.
    with pytest.raises(OutputError, match="not empty and holds no earlier export"):
        export(source, tmp_path, ExportOptions(formats=["native"]))
    assert source.exists()


def test_a_read_only_parent_is_one_error_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_source(tmp_path / "t.jsonl", mixed(2))
    parent = tmp_path / "ro"
    parent.mkdir()
    out = parent / "data"
    if os.geteuid() != 0:
        parent.chmod(0o500)
    else:  # root writes anywhere: the read-only file system is simulated where it is hit
        import tempfile

        def read_only(*args: Any, **kwargs: Any) -> str:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(parent))

        monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    try:
        with pytest.raises(OutputError) as info:
            export(source, out, ExportOptions(formats=["native"]))
    finally:
        parent.chmod(0o700)
    message = str(info.value)
    assert "\n" not in message and str(out) in message
    assert not out.exists()


def test_a_full_disk_mid_export_is_one_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_source(tmp_path / "t.jsonl", mixed(50))
    out = tmp_path / "data"
    export(source, out, ExportOptions(formats=["native"]))
    before = assert_complete(out)
    written = 0
    real_write = writers.JsonlFile.write

    def write(self: writers.JsonlFile, row: Any) -> None:
        nonlocal written
        written += 1
        if written > 20:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        real_write(self, row)

    monkeypatch.setattr(writers.JsonlFile, "write", write)
    with pytest.raises(OutputError) as info:
        export(source, out, ExportOptions(formats=["native", "hermes"]))
    message = str(info.value)
    assert "No space left on device" in message and str(out) in message
    assert ".nex-export-" not in message  # the user's path, not the staging folder's
    assert assert_complete(out) == before
    assert not list(tmp_path.glob(".data.nex-export-*"))
