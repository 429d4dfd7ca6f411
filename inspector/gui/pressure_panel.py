"""The pressure panel: the relay's live metrics and a 60-second plot.

It shows queue depth and its high-water mark, events per second, what
happened to each class of event (delivered, coalesced, dropped), flush p99
and delivery lag, and plots depth and drops over the last minute. Its
header turns amber while the relay coalesces heavily and red while it drops
(or resyncs): the user sees event pressure as it happens, and sees that the
proxy itself is unaffected.
"""

from __future__ import annotations

import enum
import time
from collections import deque

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from inspector.core.relay_metrics import ClassCounts, RelayStats

HISTORY_SECONDS = 60.0
COALESCE_AMBER = 0.5
"""Amber when over half of the recent flow events were coalesced."""
GREEN = QColor(46, 170, 98)
AMBER = QColor(230, 150, 30)
RED = QColor(215, 58, 73)
DEPTH_COLOR = QColor(76, 154, 255)


class Pressure(enum.Enum):
    CALM = "calm"
    COALESCING = "coalescing"
    DROPPING = "dropping"


class PressurePlot(QWidget):
    """Depth (line) and drops per sample (bars) over the last minute."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples: deque[tuple[float, int, int]] = deque()
        self.setMinimumHeight(90)

    def sizeHint(self) -> QSize:
        return QSize(260, 110)

    def add(self, now: float, depth: int, drops: int) -> None:
        self.samples.append((now, depth, drops))
        while self.samples and self.samples[0][0] < now - HISTORY_SECONDS:
            self.samples.popleft()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        area = QRectF(self.rect()).adjusted(4, 4, -4, -16)
        painter.fillRect(area, palette.color(QPalette.ColorRole.Base))
        grid = QColor(palette.color(QPalette.ColorRole.Text))
        grid.setAlpha(40)
        painter.setPen(QPen(grid, 1))
        for i in range(1, 4):
            y = area.top() + area.height() * i / 4
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        text = palette.color(QPalette.ColorRole.PlaceholderText)
        painter.setPen(text)
        painter.drawText(
            QRectF(area.left(), area.bottom(), area.width(), 16),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            "-60 s",
        )
        peak_depth = max((d for _, d, _ in self.samples), default=0)
        peak_drops = max((x for _, _, x in self.samples), default=0)
        painter.drawText(
            QRectF(area.left(), area.bottom(), area.width(), 16),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"depth max {peak_depth}" + (f", drops max {peak_drops}/s" if peak_drops else ""),
        )
        if not self.samples:
            return
        now = self.samples[-1][0]

        def x_of(t: float) -> float:
            return area.right() - (now - t) / HISTORY_SECONDS * area.width()

        if peak_drops:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(RED)
            for t, _, drops in self.samples:
                if drops:
                    h = drops / peak_drops * area.height() * 0.9
                    painter.drawRect(QRectF(x_of(t) - 1.5, area.bottom() - h, 3, h))
        scale = area.height() * 0.9 / peak_depth if peak_depth else 0.0
        path = QPainterPath()
        for i, (t, depth, _) in enumerate(self.samples):
            point = QPointF(x_of(t), area.bottom() - depth * scale)
            if i == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        painter.setPen(QPen(DEPTH_COLOR, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)


class PressurePanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = Pressure.CALM
        self._last: RelayStats | None = None
        self._last_time = 0.0
        self.header = QLabel()
        self.header.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.header.setMargin(4)
        self.figures: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        singles = [
            ("depth", "Depth"),
            ("hwm", "High-water"),
            ("rate", "Events/s"),
            ("flush", "Flush p99"),
            ("lag", "Delivery lag"),
            ("resyncs", "Resyncs"),
            ("refresh", "Refresh"),
            ("apply", "Apply"),
        ]
        for i, (key, label) in enumerate(singles):
            row, col = divmod(i, 2)
            grid.addWidget(_dim(label), row, col * 2)
            self.figures[key] = _figure()
            grid.addWidget(self.figures[key], row, col * 2 + 1)
        table = QGridLayout()
        table.setHorizontalSpacing(12)
        table.setVerticalSpacing(2)
        for col, title in enumerate(("", "Emitted", "Delivered", "Coalesced", "Dropped"), start=0):
            table.addWidget(_dim(title), 0, col)
        for row, cls in enumerate(("critical", "flow", "low"), start=1):
            table.addWidget(_dim(cls.capitalize()), row, 0)
            for col, what in enumerate(("emitted", "delivered", "coalesced", "dropped"), start=1):
                self.figures[f"{cls}.{what}"] = _figure()
                table.addWidget(self.figures[f"{cls}.{what}"], row, col)
        self.plot = PressurePlot()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.header)
        layout.addLayout(grid)
        layout.addSpacing(4)
        layout.addLayout(table)
        layout.addWidget(self.plot, 1)
        self._set_state(Pressure.CALM)

    def update_stats(
        self,
        stats: RelayStats,
        now: float | None = None,
        refresh: tuple[int, int] | None = None,
        apply_seconds: float = 0.0,
    ) -> None:
        """Show ``stats`` (the engine's relay); ``refresh`` is the table's
        refresh interval now and its base, in ms (paced above the base
        under load), ``apply_seconds`` what the window spent applying the
        last batch."""
        now = time.monotonic() if now is None else now
        last = self._last
        drops = resyncs = 0
        coalesced_share = 0.0
        if last is not None:
            drops = (stats.low.dropped - last.low.dropped) + (
                stats.flow.dropped - last.flow.dropped
            )
            resyncs = stats.resyncs - last.resyncs
            emitted = stats.flow.emitted - last.flow.emitted
            if emitted > 0:
                coalesced_share = (stats.flow.coalesced - last.flow.coalesced) / emitted
        self._last, self._last_time = stats, now
        f = self.figures
        f["depth"].setText(f"{stats.depth:,}")
        f["hwm"].setText(f"{stats.high_water:,}")
        f["rate"].setText(f"{stats.events_per_second:,.0f}")
        f["flush"].setText(f"{stats.flush_p99 * 1000:.1f} ms")
        f["lag"].setText(f"{stats.lag_last * 1000:.0f} ms")
        f["resyncs"].setText(f"{stats.resyncs:,}")
        if refresh is None:
            f["refresh"].setText("every event")
            f["refresh"].setToolTip("The naive relay applies each event as it comes")
        else:
            current, base = refresh
            f["refresh"].setText(f"{current} ms" + (", paced" if current > base else ""))
            f["refresh"].setToolTip(
                f"The table takes what changed every {base} ms; under load, less often, "
                "so that repainting takes at most about a seventh of the GUI's time"
            )
        f["apply"].setText(f"{apply_seconds * 1000:.1f} ms")
        f["apply"].setToolTip("What applying the last batch cost the window")
        for name in ("critical", "flow", "low"):
            counts: ClassCounts = getattr(stats, name)
            for what in ("emitted", "delivered", "coalesced", "dropped"):
                f[f"{name}.{what}"].setText(f"{getattr(counts, what):,}")
        self.plot.add(now, stats.depth, max(drops, 0))
        if drops > 0 or resyncs > 0 or stats.resync_pending:
            self._set_state(Pressure.DROPPING)
        elif coalesced_share > COALESCE_AMBER:
            self._set_state(Pressure.COALESCING)
        else:
            self._set_state(Pressure.CALM)

    def _set_state(self, state: Pressure) -> None:
        self.state = state
        color, text = {
            Pressure.CALM: (GREEN, "Calm: every event delivered"),
            Pressure.COALESCING: (AMBER, "Busy: coalescing updates"),
            Pressure.DROPPING: (RED, "Overloaded: dropping low-priority events"),
        }[state]
        self.header.setText(text)
        self.header.setStyleSheet(
            f"background: {color.name()}; color: white; font-weight: bold; border-radius: 4px;"
        )


def _dim(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _figure() -> QLabel:
    label = QLabel("0")
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label
