"""``nex import atif FILE... -o OUT.jsonl``: ATIF documents as nex trajectories.

Every file is read and checked (ATIF version, every field; see ``nex_core/atif/_read.py``)
before anything is written, and ``OUT`` is written beside itself and renamed into place: a bad
file stops the import with its file, line and field, and nothing is half-imported.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from nex_core.cli.output import console, err_console
from nex_core.cli.params import TextFile


@click.command("atif")
@click.argument("files", nargs=-1, required=True, type=TextFile())
@click.option(
    "-o", "--out", required=True, type=click.Path(dir_okay=False),
    help="Trajectories JSONL to write (replaced when every file was read).",
)
def atif(files: tuple[str, ...], out: str) -> None:
    """Import ATIF (Harbor's Agent Trajectory Interchange Format) FILES: .json documents or
    .jsonl files of them, as written by `nex export --target atif`."""
    from rich.markup import escape

    from nex_core.atif import read_atif

    imported = [(file, read_atif(file)) for file in files]
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for _, documents in imported:
                for trajectory, _notes in documents:
                    f.write(trajectory.to_json() + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    count = sum(len(d) for _, d in imported)
    for file, documents in imported:
        notes = sorted({n for _, ns in documents for n in ns})
        for note in notes:
            err_console.print(
                f"[yellow]note:[/yellow] {escape(file)}: {escape(note)}",
                highlight=False, soft_wrap=True,
            )
    console.print(
        f"[green]imported[/green] {count} trajectories from {len(files)} file(s) into "
        f"{escape(out)}",
        highlight=False,
    )
