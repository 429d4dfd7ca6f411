"""Long work in a helper process: one ``inspector har ...`` run, at low
priority, with a progress dialog that can cancel it.

HAR export and import read or write a whole session; in the window's
interpreter they would take turns with the table, and in the engine's with
the proxy. So the window runs the command line tool as a child (at idle
priority, so the proxy and the window come first) and only waits for it.
The tool prints one line when it is done and one line on standard error
when it fails; those are what the user sees.

Cancelling sends SIGINT (the tool then removes what it was writing), and
kills the process if it has not ended after ``CANCEL_GRACE``; either way
the files the job names as its leftovers are removed once it has ended.

Signals (on ``CliJob``):
    finished(bool, str): whether it succeeded, and its last line of output
        (on failure, its one-line error; empty when cancelled).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from inspector.core.session_files import remove
from inspector.gui.launch import inspector_command

CANCEL_GRACE_MS = 2000
SHOW_AFTER_MS = 400
NICENESS = 10


def low_priority(command: list[str]) -> list[str]:
    """``command`` run when the CPU has nothing else to do where ``chrt``
    exists (Linux's SCHED_IDLE: measured 1.0-1.7x the proxy's p99 beside an
    export, against 2x under ``nice``), else at a lower priority with
    ``nice``."""
    if os.name != "posix":
        return command
    chrt = shutil.which("chrt")
    if chrt and os.uname().sysname == "Linux":
        return [chrt, "--idle", "0", *command]
    nice = shutil.which("nice")
    return [nice, "-n", str(NICENESS), *command] if nice else command


def last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    line = lines[-1]
    return line.removeprefix("inspector: ")


class CliJob(QObject):
    finished = Signal(bool, str)

    def __init__(
        self,
        args: list[str],
        stdin: bytes | None = None,
        leftovers: list[Path] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.command = low_priority(inspector_command(args))
        self.leftovers = list(leftovers or [])
        """Files removed if the job is cancelled or fails."""
        self.cancelled = False
        self.done = False
        self.warning = ""
        """What a successful run said on standard error (its last line)."""
        self._stdin = stdin
        self._process = QProcess(self)
        self._process.finished.connect(self._finished)
        self._process.errorOccurred.connect(self._error)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._process.kill)

    @property
    def pid(self) -> int:
        return int(self._process.processId())

    def start(self) -> None:
        self._process.start(self.command[0], self.command[1:])
        if self._stdin is not None:
            self._process.write(self._stdin)
        self._process.closeWriteChannel()

    def cancel(self) -> None:
        if self.done or self.cancelled:
            return
        self.cancelled = True
        if self._process.state() == QProcess.ProcessState.NotRunning:
            return
        pid = self.pid
        if os.name == "posix" and pid > 0:
            os.kill(pid, signal.SIGINT)
            self._kill_timer.start(CANCEL_GRACE_MS)
        else:
            self._process.kill()

    def abort(self, timeout_ms: int = 1000) -> None:
        """Cancel and wait for the end (the app is quitting), bounded."""
        if self.done:
            return
        self.cancel()
        if not self._process.waitForFinished(timeout_ms):
            self._process.kill()
            self._process.waitForFinished(timeout_ms)
        self._end(False, "")

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        out = bytes(self._process.readAllStandardOutput().data())
        err = bytes(self._process.readAllStandardError().data())
        ok = status == QProcess.ExitStatus.NormalExit and code == 0 and not self.cancelled
        if ok:
            self.warning = last_line(err)
            self._end(True, last_line(out))
        elif self.cancelled:
            self._end(False, "")
        else:
            self._end(False, last_line(err) or f"the helper process ended with status {code}")

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end(False, f"cannot run {self.command[0]}: {self._process.errorString()}")

    def _end(self, ok: bool, message: str) -> None:
        if self.done:
            return
        self.done = True
        if not ok:
            for path in self.leftovers:
                remove(path)
        self.finished.emit(ok, message)


class JobProgress(QProgressDialog):
    """A busy bar, the time so far, and Cancel, for one job (the tool
    reports nothing until it is done). Closes itself when the job ends."""

    def __init__(self, job: CliJob, label: str, parent: QWidget | None = None) -> None:
        super().__init__(label, "Cancel", 0, 0, parent)
        self.setWindowTitle("Inspector")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        # Shown only if the job is still running by then: a quick export
        # does not flash a dialog.
        self.setMinimumDuration(SHOW_AFTER_MS)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumWidth(420)
        self._label = label
        self._started = time.monotonic()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(1000)
        self.canceled.connect(job.cancel)
        job.finished.connect(lambda _ok, _message: self._close())

    def _tick(self) -> None:
        seconds = int(time.monotonic() - self._started)
        self.setLabelText(f"{self._label}\n{seconds} s")

    def _close(self) -> None:
        self._timer.stop()
        self.hide()
        self.deleteLater()
