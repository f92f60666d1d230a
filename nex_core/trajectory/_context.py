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
_bits = _ids.getrandbits  # bound once: the fork hook reseeds the same generator
_TOP = 1 << 64


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


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48) | (1 << 128)


def new_trajectory_id() -> str:
    """A trajectory id: a version-4 UUID's 32 hex digits, as ``uuid.uuid4().hex`` writes them,
    its 122 random bits from the generator above (``uuid4`` reads ``os.urandom`` and builds a
    ``UUID`` object: a fifth of what starting a recorder cost)."""
    return hex((_bits(128) & _UUID4_CLEAR) | _UUID4_SET)[3:]


def new_id() -> str:
    """A step id: 64 bits from the private generator above, as 16 hex digits."""
    # ``hex`` of the bits with a 65th set is "0x1" and exactly 16 zero-padded digits: the same
    # text as ``f"{bits:016x}"``, without parsing a format spec per step.
    return hex(_bits(64) | _TOP)[3:]
