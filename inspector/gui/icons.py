"""Toolbar icons drawn with QPainter in the palette's text colour, so they
read well on light and dark themes alike and need no image files."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

SIZE = 32
Drawer = Callable[[QPainter], None]


def _play(p: QPainter) -> None:
    path = QPainterPath(QPointF(9, 6))
    path.lineTo(26, 16)
    path.lineTo(9, 26)
    path.closeSubpath()
    p.fillPath(path, p.pen().color())


def _stop(p: QPainter) -> None:
    p.fillRect(QRectF(8, 8, 16, 16), p.pen().color())


def _pause(p: QPainter) -> None:
    p.fillRect(QRectF(8, 7, 6, 18), p.pen().color())
    p.fillRect(QRectF(18, 7, 6, 18), p.pen().color())


def _clear(p: QPainter) -> None:
    p.drawEllipse(QRectF(6, 6, 20, 20))
    p.drawLine(QPointF(11, 11), QPointF(21, 21))
    p.drawLine(QPointF(21, 11), QPointF(11, 21))


def _settings(p: QPainter) -> None:
    for y, knob in ((9, 20), (16, 11), (23, 17)):
        p.drawLine(QPointF(6, y), QPointF(26, y))
        p.setBrush(p.pen().color())
        p.drawEllipse(QPointF(knob, y), 3, 3)
        p.setBrush(Qt.BrushStyle.NoBrush)


def _certificate(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(5, 6, 22, 15), 2, 2)
    p.drawLine(QPointF(9, 11), QPointF(20, 11))
    p.drawLine(QPointF(9, 15), QPointF(16, 15))
    p.setBrush(p.pen().color())
    p.drawEllipse(QPointF(22, 22), 3.5, 3.5)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawLine(QPointF(20.5, 25), QPointF(19.5, 29))
    p.drawLine(QPointF(23.5, 25), QPointF(24.5, 29))


DRAWERS: dict[str, Drawer] = {
    "certificate": _certificate,
    "play": _play,
    "stop": _stop,
    "pause": _pause,
    "clear": _clear,
    "settings": _settings,
}


def icon(name: str, color: QColor) -> QIcon:
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color, 2.5)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    DRAWERS[name](painter)
    painter.end()
    return QIcon(pixmap)
