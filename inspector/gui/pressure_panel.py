"""The pressure panel: the relay's live metrics and a 60-second plot.

It says in plain words how the window keeps up with the proxy: updates
waiting, merged, dropped (display only: no traffic is ever lost) and the
delivery delay, each with a one-sentence tooltip, and plots the updates
waiting over the last minute. Its header turns amber while the relay merges
heavily and red while it drops (or refreshes everything): the user sees
event pressure as it happens, and sees that the proxy itself is unaffected.
The exact figures (per class of event, flush times, the table's pacing)
are behind a details toggle. The status bar carries its compact form
(``status_badges.PressureBadge``).
"""

from __future__ import annotations

import enum
import time
from collections import deque

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from inspector.core.relay_metrics import ClassCounts, RelayStats

HISTORY_SECONDS = 60.0
COALESCE_AMBER = 0.5
"""Amber when over half of the recent flow events were coalesced."""
GREEN = QColor(46, 170, 98)
AMBER = QColor(230, 150, 30)
RED = QColor(215, 58, 73)
DEPTH_COLOR = QColor(76, 154, 255)
PLAIN = (
    (
        "waiting",
        "Updates waiting",
        "Updates the proxy has queued for this window and not yet delivered.",
    ),
    (
        "merged",
        "Updates merged",
        "Updates folded into a later one for the same flow, so the window redraws less.",
    ),
    (
        "dropped",
        "Updates dropped (display only, no traffic lost)",
        "Progress and warning notices skipped under load; requests and responses are"
        " untouched and every flow is still recorded.",
    ),
    (
        "delay",
        "Delivery delay",
        "How long the oldest update waited before it reached the window.",
    ),
)
"""The panel's figures in plain words: key, label, tooltip."""
DETAILS = {
    "depth": ("Queue depth", "Entries queued in the proxy's relay right now."),
    "hwm": ("High-water", "The most entries the relay has held at once."),
    "rate": ("Events/s", "Lifecycle events the proxy produced per second, recently."),
    "flush": ("Flush p99", "The 99th percentile of the time one delivery took to prepare."),
    "lag": ("Delivery lag", "Age of the oldest event when the last delivery left."),
    "resyncs": (
        "Full refreshes",
        "Times the window re-read every flow instead of a list of changes.",
    ),
    "refresh": ("Table refresh", "How often the table takes what changed."),
    "apply": ("Apply", "What applying the last batch cost the window."),
}
"""The exact figures behind the details toggle: label, tooltip."""
CLASSES = {
    "critical": ("Important", "Proxy started or stopped, errors: never merged or dropped."),
    "flow": ("Flow updates", "A flow created, answered, finished or failed."),
    "low": ("Progress, warnings", "Byte progress and warnings: counted, and dropped first."),
}


class Pressure(enum.Enum):
    CALM = "calm"
    COALESCING = "coalescing"
    DROPPING = "dropping"


class PressurePlot(QWidget):
    """Depth (line) and drops per sample (bars) over the last minute."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples: deque[tuple[float, int, int]] = deque()
        self.setMinimumHeight(110)
        self.setToolTip(
            "Updates waiting over the last minute (blue line); red bars are updates dropped"
            " from the display (no traffic lost)."
        )

    def sizeHint(self) -> QSize:
        return QSize(260, 130)

    def add(self, now: float, depth: int, drops: int) -> None:
        self.samples.append((now, depth, drops))
        while self.samples and self.samples[0][0] < now - HISTORY_SECONDS:
            self.samples.popleft()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        area = QRectF(self.rect()).adjusted(4, 18, -4, -16)
        painter.fillRect(area, palette.color(QPalette.ColorRole.Base))
        grid = QColor(palette.color(QPalette.ColorRole.Text))
        grid.setAlpha(40)
        painter.setPen(QPen(grid, 1))
        for i in range(1, 4):
            y = area.top() + area.height() * i / 4
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        text = palette.color(QPalette.ColorRole.PlaceholderText)
        painter.setPen(text)
        below = QRectF(area.left(), area.bottom(), area.width(), 16)
        painter.drawText(
            below, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "60 s ago"
        )
        painter.drawText(
            below, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, "time"
        )
        painter.drawText(below, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "now")
        peak_depth = max((d for _, d, _ in self.samples), default=0)
        peak_drops = max((x for _, _, x in self.samples), default=0)
        above = QRectF(area.left(), area.top() - 16, area.width(), 16)
        painter.setPen(DEPTH_COLOR)
        painter.drawText(
            above,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            f"Updates waiting (top: {peak_depth:,})",
        )
        if peak_drops:
            painter.setPen(RED)
            painter.drawText(
                above,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"dropped (top: {peak_drops:,} a sample)",
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
        plain = QGridLayout()
        plain.setHorizontalSpacing(12)
        plain.setVerticalSpacing(2)
        for row, (key, label, tip) in enumerate(PLAIN):
            name = _dim(label, tip)
            name.setWordWrap(True)
            plain.addWidget(name, row, 0)
            self.figures[key] = _figure(tip)
            plain.addWidget(self.figures[key], row, 1)
        plain.setColumnStretch(0, 1)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        for i, (key, (label, tip)) in enumerate(DETAILS.items()):
            row, col = divmod(i, 2)
            grid.addWidget(_dim(label, tip), row, col * 2)
            self.figures[key] = _figure(tip)
            grid.addWidget(self.figures[key], row, col * 2 + 1)
        table = QGridLayout()
        table.setHorizontalSpacing(12)
        table.setVerticalSpacing(2)
        columns = (
            ("Emitted", "Events the proxy produced."),
            ("Delivered", "Events that reached the window."),
            ("Merged", "Events folded into a later one for the same flow or kind."),
            ("Dropped", "Events skipped under load (display only)."),
        )
        for col, (title, tip) in enumerate(columns, start=1):
            table.addWidget(_dim(title, tip), 0, col)
        for row, (cls, (label, tip)) in enumerate(CLASSES.items(), start=1):
            table.addWidget(_dim(label, tip), row, 0)
            for col, what in enumerate(("emitted", "delivered", "coalesced", "dropped"), start=1):
                self.figures[f"{cls}.{what}"] = _figure()
                table.addWidget(self.figures[f"{cls}.{what}"], row, col)
        self.details = QWidget()
        details_layout = QVBoxLayout(self.details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addLayout(grid)
        details_layout.addSpacing(4)
        details_layout.addLayout(table)
        self.details.hide()
        self.details_toggle = QToolButton()
        self.details_toggle.setText("Exact figures")
        self.details_toggle.setCheckable(True)
        self.details_toggle.setAutoRaise(True)
        self.details_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.details_toggle.setToolTip("The relay's own counters, per class of event")
        self.details_toggle.toggled.connect(self._show_details)
        self.plot = PressurePlot()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.header)
        layout.addLayout(plain)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.details_toggle)
        layout.addWidget(self.details)
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
        f["waiting"].setText(f"{stats.depth:,}")
        f["merged"].setText(f"{stats.flow.coalesced + stats.low.coalesced:,}")
        dropped = stats.flow.dropped + stats.low.dropped
        f["dropped"].setText(f"{dropped:,}")
        f["delay"].setText(f"{stats.lag_last * 1000:.0f} ms")
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

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )

    def _set_state(self, state: Pressure) -> None:
        self.state = state
        color, text = {
            Pressure.CALM: (GREEN, "Calm: every update delivered"),
            Pressure.COALESCING: (AMBER, "Busy: merging updates"),
            Pressure.DROPPING: (RED, "Overloaded: dropping display updates (no traffic lost)"),
        }[state]
        self.header.setText(text)
        self.header.setStyleSheet(
            f"background: {color.name()}; color: white; font-weight: bold; border-radius: 4px;"
        )


def _dim(text: str, tip: str = "") -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("color: palette(placeholder-text);")
    label.setToolTip(tip)
    return label


def _figure(tip: str = "") -> QLabel:
    label = QLabel("0")
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    label.setToolTip(tip)
    return label
