"""The watchdog: a detached process, started when the system proxy is set,
that waits for the window's process to end and restores the setting if
the window could not (killed, crashed). A window that quits normally
restores first and removes the state file, and the watchdog then exits
without touching anything.

    python -m inspector.sysproxy.watchdog --pid PID --state FILE
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from inspector.core.sysproxy import state_from_json
from inspector.sysproxy.backends import SystemProxyError
from inspector.sysproxy.manager import SystemProxy, pid_alive

POLL = 0.5
"""Seconds between looks at the window's process and the state file."""


def watch(pid: int, state_path: Path, poll: float = POLL) -> str:
    """Wait for ``pid`` to end, then restore; return what was done."""
    while pid_alive(pid) and state_path.exists():
        time.sleep(poll)
    try:
        state = state_from_json(state_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "nothing to restore"
    except (OSError, ValueError) as exc:
        return f"cannot read {state_path}: {exc}"
    if state.pid != pid:
        return "the state file belongs to another window now"
    manager = SystemProxy(state_path.parent, None, pid=pid)
    try:
        return manager.restore().message
    except SystemProxyError as exc:
        return str(exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="inspector-sysproxy-watchdog")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(watch(args.pid, args.state), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
