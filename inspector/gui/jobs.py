"""Long GUI-thread work cut into slices so the window never freezes.

A job is a generator that does a little work per step and yields its
progress (0-100). ``SlicedJob`` runs steps from a zero-delay timer until a
slice has used its time budget (about one frame), then hands control back
to the event loop. Sorting or filtering a million flows thus takes a second
or two of wall time while the window keeps repainting (and the proxy, in
its own process, never notices).

Signals (on ``SlicedJob``):
    progress(int): percent done, at most once per slice.
    finished(): the generator ran to its end.
"""

from __future__ import annotations

import time
from collections.abc import Generator

from PySide6.QtCore import QObject, QTimer, Signal

SLICE_SECONDS = 0.012


class SlicedJob(QObject):
    progress = Signal(int)
    finished = Signal()

    def __init__(self, steps: Generator[int, None, None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._steps = steps
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_slice)
        self.done = False

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.stop()
        self._steps.close()
        self.done = True

    def run_to_end(self) -> None:
        """Finish synchronously (tests, or tiny inputs)."""
        self._timer.stop()
        for _ in self._steps:
            pass
        self._finish()

    def _run_slice(self) -> None:
        deadline = time.perf_counter() + SLICE_SECONDS
        percent = -1
        try:
            while time.perf_counter() < deadline:
                percent = next(self._steps)
        except StopIteration:
            self._finish()
            return
        if percent >= 0:
            self.progress.emit(percent)

    def _finish(self) -> None:
        self._timer.stop()
        self.done = True
        self.finished.emit()
