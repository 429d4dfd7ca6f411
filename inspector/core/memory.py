"""The process's resident memory: reading it (status bar, benchmarks) and
keeping it from creeping (the allocator policy)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number (malloc.h)."""
MMAP_THRESHOLD = 1024 * 1024
"""Allocations from this size up get pages of their own, returned to the
system when freed. glibc starts at 128 KiB but raises the threshold to the
size of each mmapped block freed, up to 32 MiB: after the first large body
is freed, bodies of 1-16 MiB come from the heap, and churning through them
leaves it fragmented. Measured in the 10-minute soak (15,000 flows kept,
512 MiB of bodies turned over 14 times): RSS less bodies crept from 206 to
258 MiB with the dynamic threshold, and held at 165-180 MiB with a fixed
one. Setting it also turns the dynamic adjustment off. 1 MiB rather than
glibc's initial 128 KiB keeps socket reads (asyncio asks for 256 KiB per
read) in the heap instead of paying a map and an unmap for each."""


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


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold (see ``MMAP_THRESHOLD``); True when set.
    Elsewhere (macOS, Windows, musl) there is nothing to do."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
