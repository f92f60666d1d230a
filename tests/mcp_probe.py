"""Helpers for tests that run ``mcp_probe_server.py``: its server spec, and the processes left.

Each test tags the servers it starts with a unique ``--tag``; :func:`tagged_processes` finds every
process still carrying that tag (alive, or a zombie nobody reaped), wherever it was reparented.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

PROBE = Path(__file__).resolve().parent / "mcp_probe_server.py"


def new_tag() -> str:
    return f"nex-probe-{uuid.uuid4().hex[:12]}"


def probe_server(tag: str, *, start_delay: float = 0.0, **extra: Any) -> dict[str, Any]:
    """An ``mcp_servers`` entry that starts the probe server over stdio."""
    args = [str(PROBE), "--tag", tag, "--start-delay", str(start_delay)]
    return {"command": sys.executable, "args": args, **extra}


def tagged_processes(tag: str) -> list[int]:
    """Pids of the live processes whose command line holds ``tag`` (a zombie has none: see
    :func:`zombie_children`)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue  # exited while we looked
        if tag.encode() in cmdline.split(b"\0"):
            found.append(int(entry))
    return found


def zombie_children() -> list[int]:
    """Pids of this process's children that exited and were never reaped."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.append(int(entry))
    return found


def leftovers(tag: str, wait_s: float = 10.0) -> dict[str, list[int]]:
    """Server processes with ``tag`` still alive and unreaped children, once there are none or
    after ``wait_s`` (a process killed a moment ago may take a tick to be reaped)."""
    deadline = time.monotonic() + wait_s
    while True:
        left = {"alive": tagged_processes(tag), "zombies": zombie_children()}
        if not any(left.values()) or time.monotonic() > deadline:
            return {k: v for k, v in left.items() if v}
        time.sleep(0.05)
