"""``inspector __render__``: the window's render helper, a child process at
idle priority that renders large bodies (decoding, pretty JSON, syntax
highlighting, the JSON tree) so neither the window's interpreter nor the
engine's spends a moment on them (DESIGN.md, "Nothing on either loop runs
long").

It reads jobs from standard input and writes parts to standard output
(``core/render_wire.py``) until standard input closes. A reader thread
keeps taking jobs while one renders, so a newer job for the same viewer
stops the older one at its next check.
"""

from __future__ import annotations

import sys
import threading
from io import BufferedReader
from typing import Any, BinaryIO

from inspector.core.body_render import job_from_wire, render_parts
from inspector.core.highlight import Stopped
from inspector.core.render_wire import FrameBuffer, FrameError, encode_frame

READ_SIZE = 1024 * 1024


class Jobs:
    """Jobs waiting, the newest per slot, and the end of input."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._waiting: dict[str, dict[str, Any]] = {}
        self._latest: dict[str, int] = {}
        self.closed = False

    def put(self, frame: dict[str, Any]) -> None:
        with self._ready:
            slot = str(frame.get("slot", ""))
            if int(frame["id"]) < self._latest.get(slot, 0):
                return  # overtaken on the way by a newer job of its slot
            self._waiting.pop(slot, None)
            self._waiting[slot] = frame
            self._latest[slot] = int(frame["id"])
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify()

    def take(self) -> dict[str, Any] | None:
        """The oldest waiting job, or None once input has ended."""
        with self._ready:
            while not self._waiting and not self.closed:
                self._ready.wait()
            if not self._waiting:
                return None
            slot = next(iter(self._waiting))
            return self._waiting.pop(slot)

    def superseded(self, frame: dict[str, Any]) -> bool:
        with self._ready:
            return self.closed or self._latest.get(str(frame.get("slot", ""))) != frame["id"]


def _read(source: BufferedReader, jobs: Jobs) -> None:
    frames = FrameBuffer()
    try:
        while data := source.read1(READ_SIZE):
            for frame in frames.feed(data):
                jobs.put(frame)
    except (FrameError, ValueError, OSError) as exc:
        print(f"inspector: render helper: {exc}", file=sys.stderr)
    finally:
        jobs.close()


def serve(source: BufferedReader, out: BinaryIO) -> None:
    jobs = Jobs()
    threading.Thread(target=_read, args=(source, jobs), daemon=True).start()
    while (frame := jobs.take()) is not None:
        job_id = frame["id"]
        try:
            message, show_all = job_from_wire(frame["job"])
            for kind, data in render_parts(message, show_all, lambda: jobs.superseded(frame)):
                if jobs.superseded(frame):
                    break
                out.write(encode_frame({"id": job_id, "part": kind, "data": data}))
                out.flush()
            out.write(encode_frame({"id": job_id, "end": True}))
        except Stopped:
            out.write(encode_frame({"id": job_id, "end": True}))
        except Exception as exc:  # a body that breaks a renderer is that body's error
            out.write(encode_frame({"id": job_id, "error": f"{type(exc).__name__}: {exc}"}))
        out.flush()


def main(argv: list[str]) -> int:
    if argv:
        print("inspector: __render__ takes no arguments", file=sys.stderr)
        return 2
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)  # type: ignore[arg-type]
    except (BrokenPipeError, KeyboardInterrupt):
        return 0  # the window went away
    return 0
