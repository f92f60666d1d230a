"""``nex view --serve``: a local server on 127.0.0.1 for files too large for one page.

Memory stays flat in the file's size: at start the server only notes where each line begins
(eight bytes a line); a page reads and renders the lines it shows, one trajectory page reads one
line, and the dashboard keeps one small row per episode, never a record.
"""

from __future__ import annotations

import threading
from array import array
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nex_core.errors import SpecError
from nex_core.trajectory.reader import BadLine
from nex_core.view import _render
from nex_core.view._compare import MAX_COLUMNS, compare
from nex_core.view._dashboard import Dashboard, Episode
from nex_core.view._load import (
    Entry,
    iter_entries,
    iter_lines,
    parse_line,
    read_report,
    task_of,
    trajectories_file,
)

PAGE_SIZE = 50
HOST = "127.0.0.1"


class LineIndex:
    """Where each non-blank line of a file starts, and its line number."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offsets = array("q")
        self.numbers = array("q")
        for number, offset, _ in iter_lines(path):
            self.offsets.append(offset)
            self.numbers.append(number)

    def __len__(self) -> int:
        return len(self.offsets)

    def read(self, position: int) -> tuple[int, bytes]:
        with self.path.open("rb") as f:
            f.seek(self.offsets[position])
            return self.numbers[position], f.readline()

    def position_of(self, line: int) -> int | None:
        from bisect import bisect_left

        i = bisect_left(self.numbers, line)
        return i if i < len(self.numbers) and self.numbers[i] == line else None


class ViewServer:
    """Serves one trajectory file or GAP run folder; ``port=0`` picks a free port."""

    def __init__(self, path: Path, *, port: int = 0, page_size: int = PAGE_SIZE) -> None:
        self.source = path
        self.log = trajectories_file(path)
        self.run_dir = path if path.is_dir() else None
        self.index = LineIndex(self.log)
        self.page_size = page_size
        self._dashboard: tuple[Dashboard, list[BadLine]] | None = None
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((HOST, port), _handler(self))
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}/"

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> threading.Thread:
        """Serve from a background thread (tests, embedding); ``close`` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="nex-view", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------ pages

    def entry(self, position: int) -> Entry | BadLine:
        number, raw = self.index.read(position)
        return parse_line(str(self.log), number, raw)

    def list_page(self, page: int) -> str:
        pages = max(1, -(-len(self.index) // self.page_size))
        page = min(max(page, 0), pages - 1)
        start = page * self.page_size
        rows: list[Episode | BadLine] = []
        for position in range(start, min(start + self.page_size, len(self.index))):
            item = self.entry(position)
            rows.append(Episode.of(item) if isinstance(item, Entry) else item)
        return _render.list_page(
            rows,
            total=len(self.index),
            pager=_pager(page, pages),
            title=str(self.source),
        )

    def dashboard(self) -> tuple[Dashboard, list[BadLine]]:
        with self._lock:
            if self._dashboard is None:
                bad: list[BadLine] = []
                dash = Dashboard(report=read_report(self.run_dir, bad) if self.run_dir else None)
                for item in iter_entries(self.log):
                    if isinstance(item, Entry):
                        dash.add(item)
                    else:
                        bad.append(item)
                self._dashboard = (dash, bad)
            return self._dashboard

    def dashboard_page(self, page: int) -> str:
        dash, bad = self.dashboard()
        pages = max(1, -(-len(dash.episodes) // self.page_size))
        page = min(max(page, 0), pages - 1)
        shown = dash.episodes[page * self.page_size : (page + 1) * self.page_size]
        name = str((dash.report or {}).get("name") or self.source)
        return _render.run_page(
            dash,
            details=[],
            link=lambda e: f"/t?n={e.line}",
            title=f"run {name}" if self.run_dir else name,
            bad=bad,
            sources=[str(self.source)],
            run_dir=self.run_dir,
            page_episodes=shown,
            pager=_pager(page, pages),
            serve=True,
        )

    def trajectory_page(self, line: int) -> str | None:
        position = self.index.position_of(line)
        if position is None:
            return None
        item = self.entry(position)
        if isinstance(item, BadLine):
            return _render.list_page(
                [item], total=1, pager=_pager(0, 1), title=f"{self.log}:{line}"
            )
        return _render.trajectory_page(item, sources=[str(self.source)], serve=True)

    def compare_page(self, task: str) -> str:
        chosen: list[Entry] = []
        for item in iter_entries(self.log):
            if isinstance(item, Entry) and task_of(item) == task:
                chosen.append(item)
                if len(chosen) == MAX_COLUMNS:
                    break
        if len(chosen) < 2:
            raise SpecError(f"fewer than two trajectories of task '{task}' to compare")
        return _render.compare_page(compare(chosen), sources=[str(self.source)])


def _pager(page: int, pages: int) -> dict[str, Any]:
    return {
        "page": page,
        "pages": pages,
        "prev": page - 1 if page > 0 else None,
        "next": page + 1 if page + 1 < pages else None,
    }


def _handler(server: ViewServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: no line per request
            return

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                body = self._route(url.path, query)
            except SpecError as exc:
                self._send(HTTPStatus.BAD_REQUEST, f"error: {exc}\n", "text/plain")
                return
            except ValueError:
                self._send(
                    HTTPStatus.BAD_REQUEST, "error: a page or line must be a number\n", "text/plain"
                )
                return
            if body is None:
                self._send(HTTPStatus.NOT_FOUND, f"not found: {url.path}\n", "text/plain")
            else:
                self._send(HTTPStatus.OK, body, "text/html")

        def _route(self, path: str, query: dict[str, str]) -> str | None:
            page = int(query.get("page", "0"))
            if path == "/":
                return server.dashboard_page(page) if server.run_dir else server.list_page(page)
            if path == "/dashboard":
                return server.dashboard_page(page)
            if path == "/t":
                return server.trajectory_page(int(query.get("n", "0")))
            if path == "/compare" and "task" in query:
                return server.compare_page(query["task"])
            return None

        def _send(self, status: HTTPStatus, body: str, kind: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

    return Handler


def serve(path: Path, *, port: int = 0) -> ViewServer:
    """A server for ``path`` bound to 127.0.0.1 (not yet serving: call ``serve_forever``)."""
    return ViewServer(path, port=port)
