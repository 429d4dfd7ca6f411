"""The Timing tab: a flow's phases (``core.timing``) drawn as bars on one
time axis, phases that did not happen named as such (a reused connection,
no TLS for http, unknown for an imported flow), and the proxy time."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspector.core.flow import Flow
from inspector.core.format import duration
from inspector.core.timing import PROXY, Phase, phases, proxy_time, short
from inspector.gui.phase_colors import PHASE_COLORS, phase_text

ROW_HEIGHT = 26
LABEL_WIDTH = 90
VALUE_WIDTH = 130


class TimingView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._phases: list[Phase] = []
        self._total = 0.0
        self._proxy: float | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_flow(self, flow: Flow | None) -> None:
        if flow is None:
            self._phases, self._total, self._proxy = [], 0.0, None
        else:
            self._phases = phases(flow)
            ends = (p.end for p in self._phases if p.end is not None)
            self._total = flow.duration or max(ends, default=0.0)
            self._proxy = proxy_time(flow)
        self.updateGeometry()
        self.update()

    def rows(self) -> list[tuple[str, str]]:
        """What each row says: the phase's name and its text, then the
        total and the proxy time (the tests read this)."""
        result = [(p.name, phase_text(p)) for p in self._phases]
        if self._phases:
            result.append(("Total", duration(self._total)))
            added = short(self._proxy) if self._proxy is not None else "unknown"
            result.append(("Proxy time", added))
        return result

    def sizeHint(self) -> QSize:
        return QSize(400, ROW_HEIGHT * (len(self._phases) + 2) + 16)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().color(QPalette.ColorRole.Text)
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText)
        painter.setPen(text)
        if not self._phases:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No timing yet")
            return
        width = max(self.width() - LABEL_WIDTH - VALUE_WIDTH - 24, 20)
        scale = width / self._total if self._total > 0 else 0.0
        left = LABEL_WIDTH + 8
        y = 8
        for phase in self._phases:
            painter.setPen(text)
            painter.drawText(
                QRectF(8, y, LABEL_WIDTH, ROW_HEIGHT), Qt.AlignmentFlag.AlignVCenter, phase.name
            )
            value = QRectF(self.width() - VALUE_WIDTH - 8, y, VALUE_WIDTH, ROW_HEIGHT)
            right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
            if phase.start is not None and phase.end is not None:
                bar = QRectF(
                    left + phase.start * scale, y + 6, max((phase.end - phase.start) * scale, 2), 14
                )
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(PHASE_COLORS[phase.name])
                painter.drawRoundedRect(bar, 3, 3)
                painter.setPen(text)
            else:
                painter.setPen(muted)
            painter.drawText(value, right, phase_text(phase))
            y += ROW_HEIGHT
        painter.setPen(text)
        added = short(self._proxy) if self._proxy is not None else "unknown"
        painter.setPen(PHASE_COLORS[PROXY])
        painter.drawText(
            QRectF(8, y + 4, self.width() - 16, ROW_HEIGHT),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            f"Proxy time {added}",
        )
        painter.setPen(text)
        painter.drawText(
            QRectF(8, y + 4, self.width() - 16, ROW_HEIGHT),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            f"Total {duration(self._total)}",
        )
