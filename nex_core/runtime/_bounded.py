"""A dict that forgets everything when it grows past a bound.

For process-wide caches whose keys come from callers (specs, prompts): a long-lived process that
sees ever new keys must not grow without limit, and the keys that matter (one spec run thousands
of times) are back in it after one miss.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedDict(dict[K, V], Generic[K, V]):
    """``dict`` whose :meth:`put` clears it first when it holds ``bound`` entries."""

    def __init__(self, bound: int) -> None:
        super().__init__()
        self.bound = bound

    def put(self, key: K, value: V) -> V:
        if len(self) >= self.bound:
            self.clear()
        self[key] = value
        return value
