"""Files read once per process by the models that replay them (scripts, recorded runs).

A GAP run builds a fresh scripted or replay model for every episode, since those models keep
state; parsing the same script again for each was most of a CPU-bound run's time. What a file
parses to is cached here under its path, size and modification time, so an edited file is read
again. The cached objects are shared: the models only read them (each builds its own queues).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_MAX_ENTRIES = 64
_lock = threading.Lock()
_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()


def load_cached(path: str | Path, load: Callable[[], T], *extra: Any) -> T:
    """``load()``, or what it returned earlier for this unchanged file (and ``extra``)."""
    try:
        stat = os.stat(path)
    except OSError:
        return load()  # let the loader report the missing file in its own words
    key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size, stat.st_ino, *extra)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = load()
    with _lock:
        _cache[key] = value
        while len(_cache) > _MAX_ENTRIES:
            _cache.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _cache.clear()
