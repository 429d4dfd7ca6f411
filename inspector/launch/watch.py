"""The process that runs a launched client and cleans up after it.

The launcher (``inspector launch``, the window's Intercept menu) starts
this with ``--detach``; that first process starts a second one in a
session of its own and exits at once, so the watcher is nobody's child
and outlives the launcher, a closed terminal or a quit window. The
watcher writes its pid into the launch directory, starts the client, and
on its standard output (the launcher's pipe) says one line: ``started
PID``, or ``failed MESSAGE`` when the client ended at once with a failure
status. It then lets go of the pipe, waits for the client to exit, and
removes the launch directory (the fresh profile and the client's log).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from inspector.launch.files import PID_FILE, remove

GRACE = 1.5
"""Seconds a client has to fail at once: one still running after this has
started. An exit within it with status 0 counts as started too (a
terminal that handed the window to its server, a one-shot headless run)."""
LOG_FILE = "client.log"
COMMAND = "__launched__"
"""The hidden subcommand a frozen build runs this as."""


def command(args: list[str]) -> list[str]:
    """The command line that runs this module with ``args``."""
    if getattr(sys, "frozen", False):
        return [sys.executable, COMMAND, *args]
    return [sys.executable, "-m", "inspector.launch.watch", *args]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inspector __launched__")
    parser.add_argument("--detach", action="store_true")
    parser.add_argument("--dir", required=True, help="the launch directory, removed at the end")
    parser.add_argument("--label", required=True)
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    client = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not client:
        print("failed no client command", flush=True)
        return 2
    if args.detach:
        rest = [a for a in argv if a != "--detach"]
        options: dict[str, object] = {}
        if os.name == "posix":
            options["start_new_session"] = True
        else:
            options["creationflags"] = getattr(subprocess, "DETACHED_PROCESS", 0)
        subprocess.Popen(command(rest), stdin=subprocess.DEVNULL, **options)  # type: ignore[call-overload]
        return 0
    return _watch(Path(args.dir), args.label, client)


def _watch(directory: Path, label: str, client: list[str]) -> int:
    (directory / PID_FILE).write_text(f"{os.getpid()}\n")
    log_path = directory / LOG_FILE
    options: dict[str, object] = {}
    if os.name == "nt":
        options["creationflags"] = getattr(subprocess, "CREATE_NEW_CONSOLE", 0)
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(  # type: ignore[call-overload]
                client, stdin=subprocess.DEVNULL, stdout=log, stderr=log, **options
            )
    except OSError as exc:
        _report(f"failed cannot run {label} ({client[0]}): {exc.strerror or exc}")
        _clean(directory)
        return 2
    try:
        status = proc.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        status = None
    if status:
        _report(f"failed {label} exited at once (status {status}){_last_line(log_path)}")
        _clean(directory)
        return 2
    _report(f"started {proc.pid}")
    proc.wait()
    _clean(directory)
    return 0


def _report(line: str) -> None:
    """Tell the launcher, then let go of its pipe so its read ends."""
    try:
        sys.stdout.write(line.replace("\n", " ") + "\n")
        sys.stdout.flush()
    except OSError:
        pass  # the launcher went away; the client runs on regardless
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.strip():
            text = line.strip()
            return ": " + (text if len(text) <= 300 else text[:300] + "…")
    return ""


def _clean(directory: Path) -> None:
    # A browser's helper processes may outlive it by a moment.
    time.sleep(0.2)
    remove(directory)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
