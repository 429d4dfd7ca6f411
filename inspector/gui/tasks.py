"""GUI-side coroutines with a home, and errors that are never lost.

``GuiTasks.spawn`` starts a coroutine on the GUI's qasync loop, keeps a
reference until it ends (asyncio holds tasks weakly) and reports a failure
through ``ErrorReporter``, which logs it and shows it in a non-modal dialog.
``install_excepthook`` routes exceptions escaping Qt slots the same way.

Signals (on ``ErrorReporter``):
    reported(str): a one-line summary of each error shown.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)


class ErrorReporter(QObject):
    reported = Signal(str)

    def __init__(self, show_dialogs: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.show_dialogs = show_dialogs
        self.window: QWidget | None = None
        self._open: list[QMessageBox] = []

    def report(self, summary: str, exc: BaseException | None = None) -> None:
        log.error("%s", summary, exc_info=exc)
        self.reported.emit(summary)
        if not self.show_dialogs:
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "Inspector", summary, parent=self.window)
        if exc is not None:
            box.setDetailedText("".join(traceback.format_exception(exc)))
        # Never exec(): a nested event loop inside a coroutine or slot is
        # exactly what qasync cannot survive.
        box.finished.connect(lambda _r, b=box: self._open.remove(b) if b in self._open else None)
        self._open.append(box)
        box.show()


class GuiTasks:
    def __init__(self, reporter: ErrorReporter) -> None:
        self._reporter = reporter
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, what))
        return task

    def _done(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._reporter.report(f"{what} failed: {exc}", exc)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def __len__(self) -> int:
        return len(self._tasks)


def install_excepthook(reporter: ErrorReporter) -> None:
    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        reporter.report(f"Unexpected error: {exc!r}", exc.with_traceback(tb))

    sys.excepthook = hook
