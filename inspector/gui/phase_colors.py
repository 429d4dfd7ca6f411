"""The colour of each timing phase, shared by the Timing tab and the
waterfall so a phase looks the same in both, and the one-line text of a
phase (its duration, or why it has none)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from inspector.core.timing import CONNECT, DNS, PROXY, RECEIVE, SEND, TLS, WAIT, Phase, short

PHASE_COLORS = {
    PROXY: QColor(222, 76, 138),
    DNS: QColor(38, 166, 154),
    CONNECT: QColor(241, 162, 52),
    TLS: QColor(171, 71, 188),
    SEND: QColor(76, 154, 255),
    WAIT: QColor(137, 160, 181),
    RECEIVE: QColor(46, 170, 98),
}
UNFINISHED = QColor(160, 160, 160)
"""A flow whose phases are not known (yet): its bar is plain grey."""

NOTES = {
    "reused": "reused connection",
    "none": "not needed",
    "unknown": "unknown",
}


def phase_text(phase: Phase) -> str:
    """``12.3 ms``, or what the phase's note means (``reused connection``)."""
    if phase.known:
        return short(phase.seconds)
    return NOTES.get(phase.note, phase.note)
