"""The process's resident memory, for the status bar and benchmarks."""

from __future__ import annotations

import os
import sys


def rss_bytes() -> int:
    """Resident set size in bytes, or 0 where it cannot be read cheaply."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/statm", "rb") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0
    try:
        import resource
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is the peak, in bytes on macOS and KiB elsewhere.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024
