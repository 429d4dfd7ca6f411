"""Whether a process has ended, for the tests that kill windows and engines."""

from __future__ import annotations

import time
from pathlib import Path


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie nobody reaped counts)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return state.split()[1] in ("Z", "X")


def wait_gone(pid: int, timeout: float) -> bool:
    """Whether process ``pid`` ends within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
