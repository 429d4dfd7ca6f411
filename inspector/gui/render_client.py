"""The window's side of the render helper (``inspector __render__``): one
child process at idle priority, started with the first large body and
shared by the viewers of a pane, each viewer a slot of its own.

A Python subprocess, not a ``QProcess``: a reader thread blocks on its
output, so frames of tens of megabytes are read and unpacked without the
GUI thread, and the process is closed at exit without Qt's warnings about
a process still running.

Signals:
    part(int, str, object): job id, part name and its dict (see
        ``core/body_render.py``).
    ended(int, str): the job is over; empty, or why it failed.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import threading
import weakref
from typing import IO, Any

from PySide6.QtCore import QObject, Qt, Signal

from inspector.core.body_render import job_to_wire
from inspector.core.flow import Message
from inspector.core.render_wire import HELPER_COMMAND, FrameBuffer, FrameError, encode_frame
from inspector.gui.cli_job import low_priority
from inspector.gui.launch import inspector_command

READ_SIZE = 1024 * 1024


class _Relay(QObject):
    """Carries frames from the reader thread to the GUI thread."""

    frame = Signal(object)


class RenderHelper(QObject):
    part = Signal(int, str, object)
    ended = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.command = low_priority(inspector_command([HELPER_COMMAND]))
        self._ids = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        self._pending: set[int] = set()
        self._relay = _Relay(self)
        self._relay.frame.connect(self._frame, Qt.ConnectionType.QueuedConnection)
        self._lock = threading.Lock()
        self.started = 0
        """How many helper processes this object has started (tests)."""

    def submit(self, slot: str, message: Message, show_all: bool) -> int:
        """Render ``message``'s body; a newer job of ``slot`` stops this one."""
        job_id = next(self._ids)
        job = {"id": job_id, "slot": slot, "job": job_to_wire(message, show_all)}
        self._pending.add(job_id)
        # Starting the process (a fork of this one) and writing megabytes
        # to its pipe take tens of milliseconds: a thread does both.
        threading.Thread(target=self._send, args=(job,), daemon=True).start()
        return job_id

    def _send(self, job: dict[str, Any]) -> None:
        frame = encode_frame(job)
        with self._lock:
            try:
                process = self._ensure()
            except OSError as exc:
                _emit(self._relay, {"id": None, "error": f"cannot start the render helper: {exc}"})
                return
            _write(process, frame)

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                _close(self._process)
                self._process = None

    def _ensure(self) -> subprocess.Popen[bytes]:
        process = self._process
        if process is not None and process.poll() is None:
            return process
        process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.started += 1
        self._process = process
        weakref.finalize(self, _close, process)
        assert process.stdout is not None
        relay = self._relay
        threading.Thread(target=_read, args=(process, relay), daemon=True).start()
        return process

    def _frame(self, frame: dict[str, Any]) -> None:
        job_id = frame.get("id")
        if job_id is None:  # the helper ended
            lost, self._pending = self._pending, set()
            for pending in sorted(lost):
                self.ended.emit(pending, str(frame.get("error") or "the render helper ended"))
            return
        if not isinstance(job_id, int) or job_id not in self._pending:
            return
        if "part" in frame:
            self.part.emit(job_id, str(frame["part"]), frame.get("data") or {})
            return
        self._pending.discard(job_id)
        self.ended.emit(job_id, str(frame.get("error") or ""))


def _write(process: subprocess.Popen[bytes], frame: bytes) -> None:
    stdin = process.stdin
    try:
        assert stdin is not None
        stdin.write(frame)
        stdin.flush()
    except (OSError, ValueError):
        pass  # the helper went; its reader reports it


def _read(process: subprocess.Popen[bytes], relay: _Relay) -> None:
    stdout: IO[bytes] | None = process.stdout
    assert stdout is not None
    frames = FrameBuffer()
    error = ""
    try:
        while data := stdout.read1(READ_SIZE):  # type: ignore[attr-defined]
            for frame in frames.feed(data):
                _emit(relay, frame)
    except (FrameError, OSError, ValueError) as exc:
        error = f"the render helper's output: {exc}"
    code = process.wait()
    stderr = process.stderr.read().decode("utf-8", "replace").strip() if process.stderr else ""
    for stream in (stdout, process.stderr):
        if stream is not None:
            stream.close()
    if code and not error:
        error = stderr.splitlines()[-1] if stderr else f"status {code}"
    _emit(relay, {"id": None, "error": error})


def _emit(relay: _Relay, frame: dict[str, Any]) -> None:
    with contextlib.suppress(RuntimeError):  # the window went first
        relay.frame.emit(frame)


def _close(process: subprocess.Popen[bytes]) -> None:
    """End the helper: closing its input ends it; a render under way is
    cut short."""
    if process.poll() is None:
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(0.5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
