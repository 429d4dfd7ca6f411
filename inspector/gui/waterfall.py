"""The waterfall: many flows on one time axis, like a browser's network
panel. Each flow is a bar from its start to its end, split into its phases
(``core.timing``: proxy, DNS, connect, TLS, send, wait, receive) once its
details are here; a time scale runs along the top, and hovering a bar says
what each phase took.

``WaterfallView`` paints rows it is given; ``WaterfallPanel`` chooses them
(the selected flows when two or more are, else the rows the table shows)
from the row mirror, and asks the engine for the stamps of those it has not
seen finished (``detail`` with no body inline), a bounded number at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPoint, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from inspector.core.flow import Flow
from inspector.core.format import duration
from inspector.core.mirror import RowMirror
from inspector.core.summary import FlowRow
from inspector.core.timing import PHASE_NAMES, PROXY, Phase, phases, short
from inspector.gui.flow_cells import status_text
from inspector.gui.phase_colors import PHASE_COLORS, UNFINISHED, phase_text

ROW_HEIGHT = 20
SCALE_HEIGHT = 24
LABEL_WIDTH = 260
MARGIN = 8
MIN_TICK_PX = 70
MAX_FLOWS = 300
"""The most rows drawn: a selection or a view larger than this shows its first ones."""
FETCH_AT_ONCE = 40
"""Details asked of the engine per refresh; the rest come on the next."""
REFRESH_MS = 500


@dataclass(slots=True)
class WaterfallRow:
    """One flow as the waterfall draws it: times in epoch seconds."""

    flow_id: int
    label: str
    url: str
    status: str
    start: float
    duration: float | None
    """None while unfinished (the bar runs to now)."""
    proxy: float | None
    phases: list[Phase] | None = None
    """None until the flow's details are here."""


def row_from(flow: FlowRow, known: list[Phase] | None) -> WaterfallRow:
    target = flow.path or flow.host
    return WaterfallRow(
        flow.id,
        f"{flow.method} {flow.host}{target if target.startswith('/') else ''}",
        flow.url,
        status_text(flow),
        flow.t_start,
        flow.duration,
        flow.proxy_time,
        known,
    )


def tick_step(span: float, pixels: float) -> float:
    """A round step in seconds (1, 2 or 5 times a power of ten) that puts
    ticks at least ``MIN_TICK_PX`` apart across ``pixels`` for ``span``."""
    if span <= 0 or pixels <= 0:
        return 1.0
    wanted = span * MIN_TICK_PX / pixels
    power = 10.0 ** math.floor(math.log10(wanted))
    for factor in (1, 2, 5, 10):
        if factor * power >= wanted:
            return factor * power
    return 10 * power


def tick_label(seconds: float, step: float) -> str:
    """A mark's text in the unit its step reads best in."""
    if step >= 0.1:
        return f"{round(seconds, 3):g} s"
    if step >= 0.0001:
        return f"{round(seconds * 1000, 3):g} ms"
    return f"{round(seconds * 1e6, 3):g} µs"


class WaterfallView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[WaterfallRow] = []
        self._t0 = 0.0
        self._span = 0.0
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    # Data

    def set_rows(self, rows: list[WaterfallRow], now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._rows = rows
        if rows:
            self._t0 = min(r.start for r in rows)
            ends = [
                r.start + (r.duration if r.duration is not None else now - r.start) for r in rows
            ]
            self._span = max(max(ends) - self._t0, 1e-3)
        else:
            self._t0, self._span = 0.0, 0.0
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def rows(self) -> list[WaterfallRow]:
        return list(self._rows)

    # Geometry

    @property
    def bar_left(self) -> float:
        return LABEL_WIDTH + MARGIN

    @property
    def bar_width(self) -> float:
        return max(self.width() - self.bar_left - MARGIN, 40.0)

    def x_of(self, seconds: float) -> float:
        """The x of ``seconds`` after the first flow's start."""
        if self._span <= 0:
            return self.bar_left
        return self.bar_left + seconds / self._span * self.bar_width

    def ticks(self) -> list[tuple[float, str]]:
        """The scale's marks: ``(x, label)``, from zero to the span."""
        if not self._rows:
            return []
        step = tick_step(self._span, self.bar_width)
        marks = []
        count = int(self._span / step + 1e-9)
        for i in range(count + 1):
            marks.append((self.x_of(i * step), tick_label(i * step, step)))
        return marks

    def row_at(self, pos: QPoint) -> WaterfallRow | None:
        index = (pos.y() - SCALE_HEIGHT) // ROW_HEIGHT
        if pos.y() < SCALE_HEIGHT or not 0 <= index < len(self._rows):
            return None
        return self._rows[index]

    def sizeHint(self) -> QSize:
        return QSize(600, SCALE_HEIGHT + ROW_HEIGHT * max(len(self._rows), 1) + 4)

    # Hover

    def hover_text(self, pos: QPoint) -> str:
        row = self.row_at(pos)
        if row is None:
            return ""
        lines = [f"#{row.flow_id} {row.url}", f"Status {row.status}"]
        lines.append(f"Starts at +{duration(row.start - self._t0) or '0.0 ms'}")
        if row.phases is None:
            lines.append("Phases: waiting for the engine" if row.duration is not None else "")
        else:
            proxies = 0
            for phase in row.phases:
                name = phase.name
                if name == PROXY:
                    # Before the upstream, then holding its answer.
                    name = ("Proxy, request", "Proxy, response")[min(proxies, 1)]
                    proxies += 1
                lines.append(f"{name}: {phase_text(phase)}")
        total = duration(row.duration) if row.duration is not None else "still running"
        lines.append(f"Total: {total}")
        if row.proxy is not None:
            lines.append(f"Proxy time: {short(row.proxy)}")
        return "\n".join(line for line in lines if line)

    def event(self, event: object) -> bool:
        if isinstance(event, QHelpEvent):
            text = self.hover_text(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)  # type: ignore[arg-type]

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # Follow the pointer while a tooltip is up, so moving to the next
        # bar tells of that bar without waiting for the hover delay again.
        if QToolTip.isVisible():
            pos = event.position().toPoint()
            text = self.hover_text(pos)
            if text:
                QToolTip.showText(event.globalPosition().toPoint(), text, self)
        super().mouseMoveEvent(event)

    # Painting

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        grid = palette.color(QPalette.ColorRole.Mid)
        if not self._rows:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No flows to draw")
            return
        bottom = SCALE_HEIGHT + ROW_HEIGHT * len(self._rows)
        metrics = painter.fontMetrics()
        for x, label in self.ticks():
            painter.setPen(grid)
            painter.drawLine(int(x), SCALE_HEIGHT - 4, int(x), bottom)
            if x + 3 + metrics.horizontalAdvance(label) > self.width():
                continue  # the last mark's text would be cut at the edge
            painter.setPen(text)
            painter.drawText(
                QRectF(x + 3, 2, 90, SCALE_HEIGHT - 6), Qt.AlignmentFlag.AlignLeft, label
            )
        alternate = palette.color(QPalette.ColorRole.AlternateBase)
        now = time.time()
        for index, row in enumerate(self._rows):
            y = SCALE_HEIGHT + index * ROW_HEIGHT
            if index % 2:
                painter.fillRect(QRectF(0, y, self.width(), ROW_HEIGHT), alternate)
            painter.setPen(text)
            label = painter.fontMetrics().elidedText(
                row.label, Qt.TextElideMode.ElideMiddle, LABEL_WIDTH - MARGIN
            )
            painter.drawText(
                QRectF(MARGIN, y, LABEL_WIDTH - MARGIN, ROW_HEIGHT),
                Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            self._paint_bar(painter, row, y, now)

    def _paint_bar(self, painter: QPainter, row: WaterfallRow, y: float, now: float) -> None:
        offset = row.start - self._t0
        top, height = y + 4, ROW_HEIGHT - 8
        painter.setPen(Qt.PenStyle.NoPen)
        known = [p for p in row.phases or () if p.start is not None and p.end is not None]
        if not known:
            length = row.duration if row.duration is not None else now - row.start
            x = self.x_of(offset)
            painter.setBrush(UNFINISHED)
            painter.drawRect(QRectF(x, top, max(self.x_of(offset + length) - x, 2), height))
            return
        for phase in known:
            assert phase.start is not None
            assert phase.end is not None
            x = self.x_of(offset + phase.start)
            width = max(self.x_of(offset + phase.end) - x, 1.0)
            painter.setBrush(PHASE_COLORS.get(phase.name, UNFINISHED))
            painter.drawRect(QRectF(x, top, width, height))


class Legend(QWidget):
    """The phases' colours, in order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        for name in PHASE_NAMES:
            swatch = QLabel("■")
            color: QColor = PHASE_COLORS[name]
            swatch.setStyleSheet(f"color: {color.name()}")
            layout.addWidget(swatch)
            layout.addWidget(QLabel(name))
            layout.setSpacing(4)
        layout.addStretch(1)


Fetch = Callable[[int], Awaitable[Flow | None]]
"""A flow's details by id (None when the engine no longer has it)."""
Spawn = Callable[[Coroutine[Any, Any, None]], object]


class WaterfallPanel(QWidget):
    """The waterfall with its title and legend, kept up to date while shown.

    ``flow_ids`` says which flows to draw and how to name them (``("12
    selected flows", ids)``); ``fetch`` gets a flow's details; ``spawn``
    runs a coroutine in the background.
    """

    def __init__(
        self,
        mirror: RowMirror,
        flow_ids: Callable[[], tuple[str, list[int]]],
        fetch: Fetch,
        spawn: Spawn,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.mirror = mirror
        self._flow_ids = flow_ids
        self._fetch = fetch
        self._spawn = spawn
        self._phases: dict[int, list[Phase]] = {}
        """Phases of finished flows (they no longer change)."""
        self._asking: set[int] = set()
        self.title = QLabel()
        self.view = WaterfallView()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(Legend())
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    def showEvent(self, event: object) -> None:
        self.timer.start()
        self.refresh()
        super().showEvent(event)  # type: ignore[arg-type]

    def hideEvent(self, event: object) -> None:
        self.timer.stop()
        super().hideEvent(event)  # type: ignore[arg-type]

    def refresh(self) -> None:
        what, ids = self._flow_ids()
        rows: list[WaterfallRow] = []
        missing: list[int] = []
        for flow_id in ids[:MAX_FLOWS]:
            flow = self.mirror.get(flow_id)
            if flow is None:
                continue
            known = self._phases.get(flow_id)
            if known is None and flow.finished and flow_id not in self._asking:
                missing.append(flow_id)
            rows.append(row_from(flow, known))
        shown = f"{what}" if len(ids) <= MAX_FLOWS else f"the first {MAX_FLOWS} of {what}"
        self.title.setText(f"<b>Waterfall</b> · {shown}" if rows else "<b>Waterfall</b> · no flows")
        self.view.set_rows(rows)
        if missing:
            batch = missing[:FETCH_AT_ONCE]
            self._asking.update(batch)
            self._spawn(self._ask(batch))

    async def _ask(self, ids: list[int]) -> None:
        try:
            for flow_id in ids:
                flow = await self._fetch(flow_id)
                if flow is not None and flow.finished:
                    self._phases[flow_id] = phases(flow)
        finally:
            self._asking.difference_update(ids)
        self.refresh()
