"""An export appears whole or not at all: it is written into a staging folder beside ``OUT`` and
renamed into place when it is complete (``docs/decisions.md``, "Export is atomic").

A kill at any point leaves either the previous export untouched or the new one complete; never
truncated files beside a manifest that claims completeness. The staging folder is named
``.OUT.nex-export-<pid>-<random>`` in ``OUT``'s parent; a later export removes those whose
process is gone.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nex_core.errors import OutputError

MANIFEST = "manifest.json"


def _prefix(out: Path) -> str:
    return f".{out.name}.nex-export-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_leftovers(out: Path) -> None:
    """Staging folders of exports into ``out`` that were killed before they finished."""
    prefix = _prefix(out)
    for path in out.parent.glob(prefix + "*"):
        pid_text = path.name[len(prefix) :].split("-", 1)[0]
        if path.is_dir() and pid_text.isdigit() and not _alive(int(pid_text)):
            shutil.rmtree(path, ignore_errors=True)


def check_output(out: Path) -> None:
    """``out`` must be missing, empty, or an earlier export (it is replaced as a whole)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"cannot export to {out}: it exists and is not a folder")
    ancestor = next((p for p in out.parents if p.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise OutputError(
            f"cannot export to {out}: {os.strerror(errno.ENOTDIR)}: {ancestor} is a file"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise OutputError(
            f"cannot export to {out}: the folder is not empty and holds no earlier export "
            f"({MANIFEST}); an export replaces its folder as a whole, so choose a new or empty one"
        )


def describe(exc: OSError, out: Path, staging: Path | None = None) -> OutputError:
    """An OS error as one line naming the user's path (not the staging folder's)."""
    where = str(exc.filename) if exc.filename else str(out)
    if staging is not None:
        where = where.replace(str(staging), str(out))
    reason = exc.strerror or os.strerror(exc.errno or errno.EIO)
    return OutputError(f"cannot write the export to {out}: {reason}: {where}")


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a fresh staging folder; on normal exit it replaces ``out`` (old export removed)."""
    out = out.absolute()
    check_output(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out)
        staging = Path(tempfile.mkdtemp(prefix=f"{_prefix(out)}{os.getpid()}-", dir=out.parent))
    except OSError as exc:
        raise describe(exc, out) from None
    try:
        yield staging
        _replace(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise describe(exc, out, staging) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _replace(staging: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = staging.with_name(staging.name + "-old")
        os.rename(out, old)
    os.rename(staging, out)
    _fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
