"""Where the ``nex`` command writes, and how: rich consoles whose markup only ever comes from nex.

Text that comes from users, files, models, tools or exceptions is escaped before it reaches rich
(``escape`` or a ``Text`` object): rich would otherwise read ``[gap]`` in
``pip install 'nex-core[gap]'`` as a style tag and print ``pip install 'nex-core'``.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

# Exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED_EXIT = 130

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One ``error:`` line on stderr (details, if the message has any, indented below it), then
    exit with ``code``."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def warn(message: str) -> None:
    err_console.print(
        f"[yellow]warning:[/yellow] {escape(message)}", highlight=False, soft_wrap=True
    )


def ok(message: str) -> None:
    console.print(f"[green]ok[/green] {escape(message)}", highlight=False, soft_wrap=True)
