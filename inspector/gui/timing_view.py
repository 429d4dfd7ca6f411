"""The Timing tab: a flow's phases drawn as bars on one time axis."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspector.core.flow import Flow
from inspector.core.format import duration

PHASE_COLORS = {
    "Connect": QColor(241, 162, 52),
    "Send": QColor(76, 154, 255),
    "Wait": QColor(137, 110, 233),
    "Receive": QColor(46, 170, 98),
}
ROW_HEIGHT = 26
LABEL_WIDTH = 90
VALUE_WIDTH = 80


def phases(flow: Flow) -> list[tuple[str, float, float]]:
    """``(name, start, end)`` in seconds from the flow's start, for each
    phase whose bounds are known."""
    t0 = flow.t_start
    marks = [
        ("Connect", t0, flow.t_upstream_connected),
        ("Send", flow.t_upstream_connected or t0, flow.t_request_sent),
        ("Wait", flow.t_request_sent, flow.t_response_start),
        ("Receive", flow.t_response_start, flow.t_end),
    ]
    result = []
    for name, start, end in marks:
        if start is not None and end is not None and end >= start:
            result.append((name, start - t0, end - t0))
    return result


class TimingView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._phases: list[tuple[str, float, float]] = []
        self._total = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_flow(self, flow: Flow | None) -> None:
        if flow is None:
            self._phases, self._total = [], 0.0
        else:
            self._phases = phases(flow)
            self._total = flow.duration or max((end for _, _, end in self._phases), default=0.0)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(400, ROW_HEIGHT * (len(self._phases) + 2) + 16)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().color(QPalette.ColorRole.Text)
        painter.setPen(text)
        if not self._phases:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No timing yet")
            return
        width = max(self.width() - LABEL_WIDTH - VALUE_WIDTH - 24, 20)
        scale = width / self._total if self._total > 0 else 0.0
        y = 8
        for name, start, end in self._phases:
            painter.setPen(text)
            painter.drawText(
                QRectF(8, y, LABEL_WIDTH, ROW_HEIGHT), Qt.AlignmentFlag.AlignVCenter, name
            )
            bar = QRectF(LABEL_WIDTH + 8 + start * scale, y + 6, max((end - start) * scale, 2), 14)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PHASE_COLORS[name])
            painter.drawRoundedRect(bar, 3, 3)
            painter.setPen(text)
            painter.drawText(
                QRectF(self.width() - VALUE_WIDTH - 8, y, VALUE_WIDTH, ROW_HEIGHT),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                duration(end - start),
            )
            y += ROW_HEIGHT
        painter.drawText(
            QRectF(8, y + 4, self.width() - 16, ROW_HEIGHT),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            f"Total {duration(self._total)}",
        )
