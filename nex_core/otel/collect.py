"""Spans in, trajectories out: group spans by trace and assemble each trace once it is complete.

A trace is complete when its root span (the one without a parent) has arrived: instrumentations
end a parent after its children, so batching exporters send the root last. ``settle_s`` waits
that long after a trace's last span before assembling it (spans from another process may lag);
a trace whose root never came is assembled after ``idle_s`` without spans, as a partial
trajectory whose report says so. Memory holds only the traces still open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from nex_core.otel._assemble import METADATA_KEY, assemble
from nex_core.otel._wire import SpanRecord
from nex_core.trajectory.schema import Trajectory


@dataclass
class _Open:
    spans: list[SpanRecord] = field(default_factory=list)
    has_root: bool = False
    last_seen: float = 0.0


class TraceCollector:
    """Feed it spans (``add``); it calls ``emit`` with each completed trace's trajectory."""

    def __init__(
        self,
        emit: Callable[[Trajectory], None],
        *,
        settle_s: float = 0.0,
        idle_s: float = 30.0,
        max_open_spans: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self.settle_s = settle_s
        self.idle_s = idle_s
        self.max_open_spans = max_open_spans
        self._clock = clock
        self._open: dict[str, _Open] = {}
        self._done: set[str] = set()
        self._open_spans = 0
        self._lock = threading.Lock()
        self.late_spans = 0
        """Spans that arrived after their trace was assembled (not in any trajectory)."""
        self.trajectories = 0
        self.skipped_traces = 0
        """Traces with no agent run in them (agent creation only, an app's HTTP spans)."""

    def add(self, spans: Iterable[SpanRecord]) -> None:
        now = self._clock()
        with self._lock:
            for span in spans:
                if span.trace_id in self._done:
                    self.late_spans += 1
                    continue
                entry = self._open.setdefault(span.trace_id, _Open())
                entry.spans.append(span)
                entry.last_seen = now
                entry.has_root = entry.has_root or span.parent_id is None
                self._open_spans += 1
        self.poll()

    def poll(self, *, final: bool = False) -> None:
        """Assemble every trace that is ready (all of them with ``final``)."""
        now = self._clock()
        ready: list[tuple[str, list[SpanRecord], bool]] = []
        with self._lock:
            for trace_id, entry in list(self._open.items()):
                idle = now - entry.last_seen
                if final or (entry.has_root and idle >= self.settle_s) or idle >= self.idle_s:
                    ready.append((trace_id, entry.spans, entry.has_root))
            # Too much open at once: assemble the oldest traces early rather than grow.
            if self._open_spans > self.max_open_spans:
                oldest = sorted(self._open.items(), key=lambda kv: kv[1].last_seen)
                for trace_id, entry in oldest[: max(1, len(oldest) // 2)]:
                    if all(trace_id != r[0] for r in ready):
                        ready.append((trace_id, entry.spans, entry.has_root))
            for trace_id, spans, _ in ready:
                del self._open[trace_id]
                self._open_spans -= len(spans)
                self._done.add(trace_id)
        for _, spans, has_root in ready:
            trajectory = assemble(spans)
            if trajectory is None:
                self.skipped_traces += 1
                continue
            if not has_root:
                lacks = trajectory.metadata[METADATA_KEY]["lacks"]
                lacks.append("the trace's root span never arrived (partial trajectory)")
            self.trajectories += 1
            self._emit(trajectory)

    def close(self) -> None:
        self.poll(final=True)

    @property
    def open_traces(self) -> int:
        with self._lock:
            return len(self._open)
