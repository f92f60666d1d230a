"""Train/validation split by task id: a hash decides, so a task never straddles the split and
the same task lands on the same side in every export and every run."""

from __future__ import annotations

import hashlib


def split_of(task_id: str, validation_fraction: float, seed: str = "nex") -> str:
    if validation_fraction <= 0:
        return "train"
    if validation_fraction >= 1:
        return "validation"
    h = hashlib.sha256(f"{seed}\x00{task_id}".encode()).digest()
    point = int.from_bytes(h[:8], "big") / 2**64
    return "validation" if point < validation_fraction else "train"
