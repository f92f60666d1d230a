"""The tools scenarios bind to (``nex_conformance.toolkit:NAME``), and the log of their real calls.

Every tool writes what it actually received and what it returned or raised into the active
:func:`capture`, on the side of whatever an adapter records. The engine then checks the
trajectory's tool steps against this log: a step that claims a run must match a real invocation,
and no invocation may be missing from the trajectory.

Each invocation also carries when it started and finished, as ordinals of one process-wide
clock, so a scenario can require that calls ran one at a time and in a given order
(``expect.tool_runs``): an adapter that runs a sequential agent's calls concurrently, or in
another order, fails even when its trajectory normalises like the reference's.

The log is a process-wide list behind a lock rather than a context variable, because frameworks
run tools in worker threads and pools that do not always carry the caller's context. The engine
therefore runs one scenario at a time.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

MODULE = __name__
"""Import-path prefix of kit tools in scenario specs."""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Invocation:
    """One real call of a kit tool."""

    tool: str
    arguments: dict[str, Any]
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    started: int = 0
    """When the call began, on the kit's clock (an ordinal shared by every invocation)."""
    finished: int = 0
    """When it returned or raised, on the same clock."""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tool": self.tool, "arguments": self.arguments}
        if self.error_type is None:
            out["result"] = self.result
        else:
            out["error"] = {"type": self.error_type, "message": self.error_message}
        return out


_lock = threading.Lock()
_active: list[Invocation] | None = None
_clock = itertools.count(1)
_notebook: list[str] = []
"""State the stateful kit tools share (``append_note``, ``read_notes``); emptied by each
:func:`capture`."""


@contextmanager
def capture() -> Iterator[list[Invocation]]:
    """Collect the invocations of kit tools made inside the block."""
    global _active
    log: list[Invocation] = []
    with _lock:
        if _active is not None:
            raise RuntimeError(
                "conformance tool capture is already active (run one case at a time)"
            )
        _active = log
        _notebook.clear()
    try:
        yield log
    finally:
        with _lock:
            _active = None


def _append(entry: Invocation) -> None:
    with _lock:
        if _active is not None:
            _active.append(entry)


def logged(func: F) -> F:
    """Make ``func`` a kit tool: the same signature (``__wrapped__`` keeps the original), and
    every call logged."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        entry = Invocation(tool=func.__name__, arguments=dict(bound.arguments))
        entry.started = next(_clock)
        try:
            entry.result = func(*args, **kwargs)
        except Exception as exc:
            entry.error_type, entry.error_message = type(exc).__name__, str(exc)
            entry.finished = next(_clock)
            _append(entry)
            raise
        entry.finished = next(_clock)
        _append(entry)
        return entry.result

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------- the tools

_CITIES: dict[str, dict[str, Any]] = {
    "Paris": {"country": "France", "population": 2102650},
    "Tokyo": {"country": "Japan", "population": 14192184},
    "Lagos": {"country": "Nigeria", "population": 15388000},
}


@logged
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@logged
def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


@logged
def divide(a: float, b: float) -> float:
    """Divide a by b; raises ZeroDivisionError for b = 0."""
    return a / b


@logged
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@logged
def lookup_city(city: str) -> dict[str, Any]:
    """Facts about a city; raises ValueError for a city it does not know."""
    if city not in _CITIES:
        raise ValueError(f"no such city: {city}")
    return {"city": city, **_CITIES[city]}


@logged
def country_of(city: str) -> str:
    """The country a city is in, as text (a result no framework writes differently); raises
    ValueError for a city it does not know."""
    if city not in _CITIES:
        raise ValueError(f"no such city: {city}")
    return str(_CITIES[city]["country"])


@logged
def long_report(lines: int) -> str:
    """A deterministic multi-line report (about 60 characters a line)."""
    return "\n".join(
        f"line {i:05d}: the quick brown fox jumps over the lazy dog #{i * 7 % 101:03d}"
        for i in range(1, lines + 1)
    )


@logged
def text_stats(text: str) -> dict[str, Any]:
    """Length, word count and the reversed text (exercises unicode and large arguments)."""
    return {"characters": len(text), "words": len(text.split()), "reversed": text[::-1]}


@logged
def submit(answer: str) -> str:
    """Hand in a final answer (scenarios make it a stop tool)."""
    return f"submitted: {answer}"


NOTE_PAUSE_S = 0.05
"""How long ``append_note`` holds what it read before writing: calls that overlap lose notes."""


@logged
def append_note(note: str) -> str:
    """Append a note to the notebook: read it, pause, write it back (a read-modify-write, so
    concurrent calls interleave in the log and overwrite each other's notes)."""
    with _lock:
        seen = list(_notebook)
    time.sleep(NOTE_PAUSE_S)
    with _lock:
        _notebook[:] = [*seen, note]
    return f"noted: {note}"


@logged
def read_notes() -> str:
    """The notes taken so far, in the order they were written."""
    with _lock:
        return ", ".join(_notebook) or "(no notes)"


def search_docs(query: str) -> list[str]:
    """A retriever for the ``non_message_state`` shape (a workflow node calls it as a function,
    not as a tool, so it is not logged): one document for each kit city the query names."""
    return [
        f"{city} is a city in {facts['country']} with {facts['population']} people."
        for city, facts in _CITIES.items()
        if city.lower() in query.lower()
    ]


TOOLS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        add,
        multiply,
        divide,
        echo,
        lookup_city,
        country_of,
        long_report,
        text_stats,
        submit,
        append_note,
        read_notes,
    )
}
"""Every kit tool by function name."""


def function_name(binding_path: str) -> str | None:
    """The kit function an import binding names, or ``None`` for anything else."""
    module, _, attr = binding_path.partition(":")
    return attr if module == MODULE and attr in TOOLS else None
