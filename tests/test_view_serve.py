"""``nex view --serve``: a local server that pages through a large file with memory flat in the
file's size, and answers bad requests plainly."""

from __future__ import annotations

import gc
import re
import signal
import subprocess
import sys
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("jinja2", reason="nex view needs the view extra: pip install 'nex-core[view]'")

from view_helpers import SCRIPT_TAG, recorded, write

from nex_core.view import ViewServer

LARGE_BYTES = 48 * 2**20


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    line = recorded().to_json()
    count = LARGE_BYTES // len(line) + 1
    path = tmp_path_factory.mktemp("serve") / "large.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for _ in range(count):
            f.write(line + "\n")
        f.write('{"torn": \n')
    return path


@pytest.fixture
def server(large_file: Path) -> Iterator[ViewServer]:
    gc.collect()
    tracemalloc.start()
    server = ViewServer(large_file, page_size=25)
    server.start()
    yield server
    server.close()
    tracemalloc.stop()


def test_a_large_file_is_paged_with_memory_flat_in_its_size(server: ViewServer) -> None:
    lines = len(server.index)
    assert lines > 1000
    status, first = get(server.url)
    assert status == 200 and f"{lines} trajectories" in first and "page 1 of" in first
    status, last = get(server.url + "?page=999999")  # clamped to the last page
    assert status == 200 and "unreadable" in last  # the torn last line, listed in its place
    status, one = get(server.url + f"t?n={lines // 2}")
    assert status == 200 and "&lt;script&gt;" in one and SCRIPT_TAG not in one
    _, peak = tracemalloc.get_traced_memory()
    # Held: eight bytes per line of index, one page of records at a time; never the file.
    assert peak < LARGE_BYTES / 8, f"peak {peak / 2**20:.1f} MiB for {LARGE_BYTES / 2**20} MiB"


def test_bad_requests_are_answered_plainly_on_loopback_only(tmp_path: Path) -> None:
    server = ViewServer(write(tmp_path / "t.jsonl", recorded()))
    server.start()
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
        assert get(server.url + "t?n=0")[0] == 404
        assert get(server.url + "nowhere")[0] == 404
        status, body = get(server.url + "?page=x")
        assert status == 400 and "must be a number" in body
        status, body = get(server.url + "compare?task=nope")
        assert status == 400 and "task 'nope'" in body
    finally:
        server.close()


def test_a_run_folder_is_served_as_its_dashboard(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the dashboard needs the view extra")
    run = tmp_path / "run"
    run.mkdir()
    write(run / "trajectories.jsonl", recorded(), recorded("other"))
    server = ViewServer(run)
    server.start()
    try:
        status, page = get(server.url)
        assert status == 200 and "episodes by backend \u00d7 agent" in page
        assert 'href="/t?n=2"' in page
        status, cmp = get(server.url + "compare?task=t1")
        assert status == 200 and "side by side" in cmp
    finally:
        server.close()


def test_nex_view_serve_prints_its_address_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", recorded())
    process = subprocess.Popen(
        [sys.executable, "-m", "nex_core", "view", str(path), "--serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        assert found, line
        status, page = get(found.group(1))
        assert status == 200 and "1 trajectory ·" in page
    finally:
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in rest
