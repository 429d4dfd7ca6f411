"""Where a body search runs (``body_search.py`` drives them, and keeps
their verdicts): a helper process reading the session file, or the engine.

Both have the same signals:
    judged(list, list): the ids found matches, and the ids found misses.
    progressed(int, int): the scan has judged so many of so many flows.
    scanned(): every flow of the scan is judged; from now on only what
        ``watch`` sends is.
    failed(str): the search cannot go on, and why.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from inspector.gui.cli_job import last_line, low_priority
from inspector.gui.engine_link import EngineLink
from inspector.gui.launch import inspector_command
from inspector.gui.tasks import GuiTasks

ENGINE_IDS = 2000
"""Ids per engine ``search`` request."""
ENGINE_LATER_MS = 500
"""How often flows the engine could not judge yet are asked about again."""


class HelperSearch(QObject):
    """``inspector session search FILE EXPR --watch`` as a child process at
    idle priority, its output read as it comes."""

    judged = Signal(list, list)
    progressed = Signal(int, int)
    scanned = Signal()
    failed = Signal(str)

    def __init__(self, path: Path, text: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.command = low_priority(
            inspector_command(["session", "search", str(path), text, "--watch"])
        )
        self._process = QProcess(self)
        self._process.readyReadStandardOutput.connect(self._read)
        self._process.finished.connect(self._finished)
        self._process.errorOccurred.connect(self._error)
        self._partial = b""
        self._stopping = False
        self._scanned = False

    def start(self) -> None:
        self._process.start(self.command[0], self.command[1:])

    def watch(self, ids: list[int]) -> None:
        if self._process.state() == QProcess.ProcessState.Running:
            self._process.write((" ".join(map(str, ids)) + "\n").encode())

    def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process.state() != QProcess.ProcessState.NotRunning:
            process.kill()
            process.waitForFinished(1000)

    def _read(self) -> None:
        data = self._partial + bytes(self._process.readAllStandardOutput().data())
        lines = data.split(b"\n")
        self._partial = lines.pop()
        verdicts: dict[str, list[int]] = {"match": [], "miss": []}

        def hand_over() -> None:
            """Verdicts go out before the progress or end that follows them."""
            if verdicts["match"] or verdicts["miss"]:
                self.judged.emit(verdicts["match"], verdicts["miss"])
                verdicts["match"], verdicts["miss"] = [], []

        for line in lines:
            kind, _, rest = line.decode("ascii", "replace").partition(" ")
            if kind in verdicts:
                verdicts[kind].extend(int(w) for w in rest.split() if w.isdigit())
                continue
            hand_over()
            if kind == "progress":
                done, _, total = rest.partition(" ")
                if done.isdigit() and total.isdigit():
                    self.progressed.emit(int(done), int(total))
            elif kind == "scanned":
                self._scanned = True
                self.scanned.emit()
        hand_over()

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self._stopping:
            return
        self._read()
        if code != 0 or status != QProcess.ExitStatus.NormalExit:
            err = bytes(self._process.readAllStandardError().data())
            self.failed.emit(last_line(err) or f"the search ended with status {code}")
        elif not self._scanned:
            self.failed.emit("the search ended early")

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._stopping:
            self.failed.emit(f"cannot run {self.command[0]}: {self._process.errorString()}")


class EngineSearch(QObject):
    """The engine judges the ids the window sends, a request at a time."""

    judged = Signal(list, list)
    progressed = Signal(int, int)
    scanned = Signal()
    failed = Signal(str)

    def __init__(
        self, link: EngineLink, tasks: GuiTasks, text: str, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.link = link
        self.tasks = tasks
        self.text = text
        self._scan: list[int] = []
        self._total = 0
        self._done = 0
        self._listed = False
        """Every id of the scan has been handed over."""
        self._scanned = False
        self._queue: list[int] = []
        self._later: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self._later_timer = QTimer(self)
        self._later_timer.setInterval(ENGINE_LATER_MS)
        self._later_timer.timeout.connect(self._retry_later)

    def start(self) -> None:
        self._later_timer.start()

    def scan(self, ids: list[int]) -> None:
        self._total += len(ids)
        self._scan.extend(ids)
        self._kick()

    def listed(self) -> None:
        self._listed = True
        if self._task is None:
            self._end_scan()

    def watch(self, ids: list[int]) -> None:
        self._queue.extend(ids)
        self._kick()

    def _end_scan(self) -> None:
        if self._listed and not self._scan and not self._scanned:
            self._scanned = True
            self.progressed.emit(self._done, self._total)
            self.scanned.emit()

    def stop(self) -> None:
        self._later_timer.stop()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _kick(self) -> None:
        if self._task is None:
            self._task = self.tasks.spawn(self._run(), "Searching the engine's flows")

    def _retry_later(self) -> None:
        if self._later:
            self._queue.extend(self._later)
            self._later = []
            self._kick()

    async def _run(self) -> None:
        try:
            while self._scan or self._queue:
                from_scan = bool(self._scan)
                source = self._scan if from_scan else self._queue
                ids, source[:] = source[:ENGINE_IDS], source[ENGINE_IDS:]
                try:
                    reply = await self.link.request("search", filter=self.text, ids=ids)
                except Exception as exc:  # EngineError, ChannelClosed
                    self.failed.emit(str(exc) or type(exc).__name__)
                    return
                rest = list(reply.get("rest", ()))
                source[0:0] = rest
                self._later.extend(reply.get("later", ()))
                self.judged.emit(list(reply.get("matches", ())), list(reply.get("misses", ())))
                if from_scan:
                    self._done += len(ids) - len(rest)
                    self.progressed.emit(self._done, self._total)
                    self._end_scan()
        finally:
            self._task = None
