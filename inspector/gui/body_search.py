"""Body and header search for the table: a filter whose terms the summary
rows cannot answer (``body:``, ``header:``...) is judged outside the window
and the engine, and the table narrows to the matches as they come.

While such a filter is on, the table's filter is a ``NarrowedFilter``: a
row shows when the expression surely accepts it from the row alone, or
when the search found it a match. The search runs in one of two places:

- With a session file (the capture is recorded, or a file is open): in a
  helper process at idle priority, ``inspector session search FILE EXPR
  --watch`` (``inspector/search_cli.py``), which reads the bodies from the
  file, so neither the proxy nor the window pays for decoding them.
- Without one: in the engine, which holds the bodies, through its
  ``search`` request, a few milliseconds of its loop at a time
  (``inspector/proxy/search.py``).

Once the file's flows are judged, the flows the table may still show and
the search has not judged (over since the search began, or not yet in the
file) are sent to be judged when the file has them; so are flows that
end later, for as long as the filter stays. Verdicts are kept in a flat
byte per flow id, not in sets: a million of them cost a megabyte.

Signals (on ``BodySearch``):
    changed(): the search started, progressed, ended or failed (read
        ``status``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.core.filter import FlowFilter
from inspector.core.mirror import RowMirror
from inspector.core.summary import FlowRow
from inspector.gui.engine_link import EngineLink
from inspector.gui.search_sources import EngineSearch, HelperSearch
from inspector.gui.tasks import GuiTasks

UNDECIDED, MISS, MATCH = 0, 1, 2
REVEAL_MS = 150
"""Matches are handed to the table at most this often."""
COLLECT_CHUNK = 20_000
"""Rows looked at per turn of the loop when collecting what to judge."""


class Verdicts:
    """What the search said of each flow id: undecided, miss or match."""

    def __init__(self) -> None:
        self._marks = bytearray()
        self.matches = 0
        self.judged = 0

    def set(self, ids: Iterable[int], verdict: int) -> list[int]:
        """Record ``verdict`` for ``ids``; return the ids it is new for."""
        marks = self._marks
        fresh: list[int] = []
        for flow_id in ids:
            if flow_id >= len(marks):
                marks.extend(bytes(max(flow_id + 1 - len(marks), len(marks) // 2, 1024)))
            if marks[flow_id] == UNDECIDED:
                marks[flow_id] = verdict
                fresh.append(flow_id)
        self.judged += len(fresh)
        if verdict == MATCH:
            self.matches += len(fresh)
        return fresh

    def of(self, flow_id: int) -> int:
        marks = self._marks
        return marks[flow_id] if flow_id < len(marks) else UNDECIDED


class NarrowedFilter:
    """The table's filter while a search decides what its rows cannot."""

    uses_response = True
    """Rows are looked at again when their flows end: one that ends may
    need judging."""

    def __init__(self, base: FlowFilter, verdicts: Verdicts) -> None:
        self.base = base
        self.text = base.text
        self.verdicts = verdicts

    def __call__(self, row: FlowRow) -> bool:
        base = self.base
        if not base(row):
            return False
        return base.surely(row) or self.verdicts.of(row.id) == MATCH

    def awaits(self, row: FlowRow) -> bool:
        """Whether the search has yet to judge this row's flow."""
        base = self.base
        return base(row) and not base.surely(row) and self.verdicts.of(row.id) == UNDECIDED


@dataclass(slots=True)
class SearchStatus:
    """What the status line under the filter shows."""

    running: bool = False
    done: int = 0
    total: int = 0
    matches: int = 0
    where: str = ""
    """``file`` or ``engine``."""
    error: str = ""
    stopped: bool = False
    seconds: float = 0.0


class BodySearch(QObject):
    changed = Signal()

    def __init__(
        self,
        mirror: RowMirror,
        link: EngineLink,
        tasks: GuiTasks,
        reveal: Callable[[list[int]], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.mirror = mirror
        self.link = link
        self.tasks = tasks
        self.reveal = reveal
        """Shows newly matched flows in the table."""
        self.session_of: Callable[[], Path | None] = lambda: None
        """The session file holding the window's flows, if any."""
        self.filter: NarrowedFilter | None = None
        self.status = SearchStatus()
        self._source: HelperSearch | EngineSearch | None = None
        self._started = 0.0
        self._pending: list[int] = []
        self._reveal_timer = QTimer(self)
        self._reveal_timer.setSingleShot(True)
        self._reveal_timer.setInterval(REVEAL_MS)
        self._reveal_timer.timeout.connect(self._flush)
        self._collecting: asyncio.Task[None] | None = None

    def narrow(self, base: FlowFilter) -> FlowFilter | NarrowedFilter:
        """The filter the table is to use for ``base``, starting a search
        when it needs one (and ending the previous search either way)."""
        self.stop(quiet=True)
        self.status = SearchStatus()
        if not base.needs_flow:
            self.filter = None
            self.changed.emit()
            return base
        verdicts = Verdicts()
        self.filter = NarrowedFilter(base, verdicts)
        path = self.session_of()
        source: HelperSearch | EngineSearch
        if path is not None:
            source = HelperSearch(path, base.text, self)
            where = "file"
        else:
            source = EngineSearch(self.link, self.tasks, base.text, self)
            where = "engine"
        self._source = source
        source.judged.connect(self._judged)
        source.progressed.connect(self._progressed)
        source.scanned.connect(self._scanned)
        source.failed.connect(self._failed)
        self.status = SearchStatus(running=True, where=where)
        self._started = time.monotonic()
        if isinstance(source, EngineSearch):
            # The engine judges what the window names: every row the
            # table may show.
            self._collect(source.scan, source.listed)
        source.start()
        self.changed.emit()
        return self.filter

    def watch(self, ids: list[int]) -> None:
        """These flows ended and the table may show them: judge them."""
        if self._source is not None and ids:
            self._source.watch(ids)

    def stop(self, quiet: bool = False) -> None:
        """End the search; what it found stays shown."""
        if self._collecting is not None:
            self._collecting.cancel()
            self._collecting = None
        source, self._source = self._source, None
        if source is None:
            return
        with contextlib.suppress(RuntimeError):
            source.judged.disconnect(self._judged)
        source.stop()
        self._flush()
        if self.status.running:
            self.status.running = False
            self.status.stopped = self.status.done < self.status.total or not self.status.total
            self.status.seconds = time.monotonic() - self._started
        if not quiet:
            self.changed.emit()

    # From the source

    def _judged(self, matches: list[int], misses: list[int]) -> None:
        if self.filter is None:
            return
        verdicts = self.filter.verdicts
        verdicts.set(misses, MISS)
        fresh = verdicts.set(matches, MATCH)
        status = self.status
        status.matches = verdicts.matches
        if not status.running:
            # Flows judged after the scan count as searched too.
            status.done = max(status.done, verdicts.judged)
            status.total = max(status.total, status.done)
        if fresh or not status.running:
            self._pending.extend(fresh)
            if not self._reveal_timer.isActive():
                self._reveal_timer.start()

    def _flush(self) -> None:
        self._reveal_timer.stop()
        pending, self._pending = self._pending, []
        if pending:
            self.reveal(pending)
        self.changed.emit()

    def _progressed(self, done: int, total: int) -> None:
        self.status.done, self.status.total = done, total
        self.changed.emit()

    def _scanned(self) -> None:
        """The scan is over: judge what it could not see (flows over but
        not in the file yet, or over since it began)."""
        status = self.status
        status.running = False
        status.done = max(status.done, status.total)
        status.seconds = time.monotonic() - self._started
        self._flush()  # says it changed
        source = self._source
        if source is not None:
            self._collect(source.watch)

    def _failed(self, message: str) -> None:
        self.status.error = message
        self.stop()

    def _collect(
        self, send: Callable[[list[int]], None], then: Callable[[], None] | None = None
    ) -> None:
        self._collecting = self.tasks.spawn(self._awaiting(send, then), "Finding flows to search")

    async def _awaiting(
        self, send: Callable[[list[int]], None], then: Callable[[], None] | None
    ) -> None:
        """Send every row that ended and is awaiting a verdict, a chunk
        of the mirror per turn of the loop; then call ``then``."""
        narrowed, mirror = self.filter, self.mirror
        if narrowed is None:
            return
        last = mirror.last_id
        for start in range(mirror.first_id, last + 1, COLLECT_CHUNK):
            end = min(start + COLLECT_CHUNK - 1, last)
            ids = [
                row.id for row in mirror.rows(start, end) if row.finished and narrowed.awaits(row)
            ]
            if ids:
                send(ids)
            await asyncio.sleep(0)
        self._collecting = None
        if then is not None:
            then()
