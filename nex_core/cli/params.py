"""Click parameter types that refuse bad input before a command runs, with one clear message."""

from __future__ import annotations

import os
from typing import Any

import click

_SNIFF_BYTES = 8192


class TextFile(click.Path):
    """An existing, readable text file (UTF-8, no NUL bytes in its first 8 KB).

    A folder, a binary file or an unreadable one is a usage error naming the parameter, instead
    of a decoding traceback somewhere deep in a loader.
    """

    name = "text file"

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, readable=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        try:
            with open(path, "rb") as f:
                head = f.read(_SNIFF_BYTES)
        except OSError as exc:
            self.fail(f"cannot read {os.fsdecode(path)!r}: {exc.strerror}", param, ctx)
        if b"\0" in head or not _decodes(head):
            self.fail(
                f"{os.fsdecode(path)!r} is not a text file (expected UTF-8 YAML, JSON or JSONL)",
                param,
                ctx,
            )
        return path


def _decodes(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A full sniffed block may end inside a multi-byte character; only earlier damage
        # counts. A shorter block is the whole file.
        return len(head) == _SNIFF_BYTES and exc.reason == "unexpected end of data"
    return True
