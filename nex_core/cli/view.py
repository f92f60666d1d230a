"""``nex view``: trajectories, comparisons and GAP run dashboards in a browser."""

from __future__ import annotations

import os
from pathlib import Path

import click

from nex_core.cli.output import err_console, ok

_STATIC_LIMIT_MIB = 64


def default_output(paths: list[Path], comparing: bool) -> Path:
    """Beside the input: a run folder's ``dashboard.html``, ``FILE.html``, or
    ``FILE.compare.html`` for a comparison."""
    first = paths[0]
    if first.is_dir() and not comparing:
        return first / "dashboard.html"
    base = first if not first.is_dir() else first / "trajectories.jsonl"
    return base.with_suffix(".compare.html" if comparing else ".html")


def write_page(html: str, out: Path) -> None:
    """Written whole or not at all: a page half-written by a full disk is not left behind."""
    from nex_core.errors import OutputError

    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(html, encoding="utf-8")
        os.replace(temporary, out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError.from_os_error(out, exc) from None


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the page (default: beside the input; a run folder's dashboard.html).",
)
@click.option("--serve", is_flag=True, help="Serve on 127.0.0.1 instead: for files of any size.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port for --serve (0: any free)."
)
@click.option("--compare", "compare_all", is_flag=True, help="Compare every trajectory given.")
@click.option("--task", default=None, help="Compare the trajectories of this task id.")
@click.option(
    "--max-static-mb",
    type=click.IntRange(min=1),
    default=_STATIC_LIMIT_MIB,
    show_default=True,
    help="Largest input a static page takes (beyond it, use --serve).",
)
def view(
    paths: tuple[Path, ...],
    output: Path | None,
    serve: bool,
    port: int,
    compare_all: bool,
    task: str | None,
    max_static_mb: int,
) -> None:
    """Show PATHS (trajectory files or a GAP run folder) as a self-contained HTML page.

    One trajectory: its step tree, every model call's messages, tools and response, every tool
    call, a timeline. Several files (or --compare, --task): side by side, aligned by the normal
    form, differences marked. A run folder or a file of many: the run's dashboard, each
    trajectory a click away.
    """
    from nex_core.errors import SpecError

    targets = list(paths)
    if serve:
        if len(targets) != 1 or output is not None:
            raise SpecError("--serve takes one file or run folder and no -o")
        from nex_core.view import serve as make_server

        server = make_server(targets[0], port=port)
        err_console.print(
            f"serving {targets[0]} at {server.url} (Ctrl-C stops)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.httpd.server_close()
        return
    from nex_core.view import render_static

    html = render_static(targets, compare_all=compare_all, task=task, limit=max_static_mb * 2**20)
    comparing = (
        compare_all
        or task is not None
        or (len(targets) > 1 and not any(p.is_dir() for p in targets))
    )
    out = output or default_output(targets, comparing)
    write_page(html, out)
    ok(f"wrote {out} ({len(html.encode()) / 2**10:.0f} KiB); open it in a browser")
