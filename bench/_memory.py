"""Peak memory of the current process, measured so that nothing is inherited.

``getrusage(RUSAGE_SELF).ru_maxrss`` is not that on Linux: ``execve`` carries the signal
struct's high-water mark over, so a child started from a large parent reports the parent's peak
(a child of a 340 MB bench that read nothing reported 341 MB). The kernel's ``VmHWM`` line in
``/proc/self/status`` is the peak of this process's own address space, which a new program image
starts afresh.
"""

from __future__ import annotations

import resource

SOURCE_PROC = "VmHWM (/proc/self/status)"
SOURCE_RUSAGE = "ru_maxrss (may include a parent's peak)"


def peak_rss_mb() -> tuple[float, str]:
    """(peak resident set size in MiB, where the figure was read)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024, SOURCE_PROC  # the kernel writes kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, SOURCE_RUSAGE


def current_rss_mb() -> float | None:
    """The resident set size now (``VmRSS``), or ``None`` without ``/proc``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
