"""What a run's code finds in its context: the current recorder, the current parent step, and
the ids of new steps."""

from __future__ import annotations

import os
import random
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nex_core.trajectory.recorder import Recorder

_current_parent: ContextVar[str | None] = ContextVar("nex_current_parent", default=None)
_current_recorder: ContextVar[Recorder | None] = ContextVar("nex_current_recorder", default=None)


class _Unset:
    pass


_ids = random.Random()
"""Step ids: 64 random bits from a generator seeded by the OS. Not ``os.urandom`` per step, which
releases the GIL: in a tool's worker thread that hands the interpreter to another thread while
the recorder's lock is held, and a run's threads then queue behind each other. A private
generator, so a program's ``random.seed`` cannot make ids repeat."""
os.register_at_fork(after_in_child=_ids.seed)  # a forked worker must not repeat its parent's ids


UNSET: Any = _Unset()


class _Under:
    """The context manager of :meth:`Recorder.under`."""

    __slots__ = ("_parent", "_token")

    def __init__(self, parent_id: str | None) -> None:
        self._parent = parent_id

    def __enter__(self) -> None:
        self._token = _current_parent.set(self._parent)

    def __exit__(self, *exc: object) -> None:
        _current_parent.reset(self._token)


def current_recorder() -> Recorder | None:
    """The recorder of the run this code executes in, if any."""
    return _current_recorder.get()


def current_parent_id() -> str | None:
    return _current_parent.get()


def new_id() -> str:
    """A step id: 64 bits from the private generator above, as 16 hex digits."""
    return f"{_ids.getrandbits(64):016x}"
