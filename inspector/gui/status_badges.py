"""The status bar's compact forms of the side panels, and the frozen
display's notice.

The pressure panel and the event log took a quarter of the window's width
for figures most users glance at once. Here each is a small button in the
status bar: the pressure as a coloured dot and a word (with how many
updates wait, when any do), the log as its count of lines not yet read
(red when one is an error). Clicking one opens its panel; clicking again
closes it.

While the display is frozen (the user asked the table to stop moving; no
traffic is held) a bright notice says so and what is waiting, so a table
that stopped changing is never mistaken for a filter or for flows held at
a breakpoint.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget, QToolButton, QWidget

from inspector.gui.event_log import ERROR_COLOR
from inspector.gui.pressure_panel import AMBER, GREEN, RED, Pressure

PRESSURE_WORDS = {
    Pressure.CALM: (GREEN, "Calm"),
    Pressure.COALESCING: (AMBER, "Busy"),
    Pressure.DROPPING: (RED, "Overloaded"),
}
PRESSURE_TIP = (
    "How the window keeps up with the proxy's updates. The proxy never waits for the"
    " window: when it is busy, updates are merged or dropped, never traffic."
    " Click for the figures."
)
FROZEN_STYLE = (
    "background: #f0b429; color: #1f2328; font-weight: bold; border-radius: 3px; padding: 0 6px;"
)


class DockButton(QToolButton):
    """A status-bar button that opens and closes a dock."""

    def __init__(self, dock: QDockWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dock = dock
        self.setAutoRaise(True)
        self.setCheckable(True)
        self.setChecked(dock.isVisible())
        self.clicked.connect(self._toggle)
        dock.visibilityChanged.connect(self._dock_shown)

    def _toggle(self) -> None:
        shown = not self.dock.isVisible()
        self.dock.setVisible(shown)
        if shown:
            self.dock.raise_()

    def _dock_shown(self, visible: bool) -> None:
        self.setChecked(visible)


class PressureBadge(DockButton):
    def __init__(self, dock: QDockWidget, parent: QWidget | None = None) -> None:
        super().__init__(dock, parent)
        self.setToolTip(PRESSURE_TIP)
        self.show_state(Pressure.CALM, 0)

    def show_state(self, state: Pressure, waiting: int) -> None:
        color, word = PRESSURE_WORDS[state]
        text = f"● {word}"
        if waiting:
            text += f" · {waiting:,} update{'s' if waiting != 1 else ''} waiting"
        if state is Pressure.DROPPING:
            text += " · display updates dropped"
        self.setText(text)
        self.setStyleSheet(f"QToolButton {{ color: {color.name()}; font-weight: bold; }}")


class LogBadge(DockButton):
    """``Log · 3 new``: lines added while the log was closed."""

    def __init__(self, dock: QDockWidget, log: QListWidget, parent: QWidget | None = None) -> None:
        super().__init__(dock, parent)
        self.log = log
        self.unread = 0
        self.error = False
        self.setToolTip("The event log: the proxy starting and stopping, warnings, errors")
        log.model().rowsInserted.connect(self._added)
        dock.visibilityChanged.connect(self._read)
        self._show()

    def _added(self, _parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        if self.dock.isVisible():
            return
        self.unread += last - first + 1
        for row in range(first, last + 1):
            item = self.log.item(row)
            if item is not None and item.foreground().color() == ERROR_COLOR:
                self.error = True
        self._show()

    def _read(self, visible: bool) -> None:
        if visible:
            self.unread, self.error = 0, False
            self._show()

    def _show(self) -> None:
        self.setText(f"Log · {self.unread:,} new" if self.unread else "Log")
        color = ERROR_COLOR.name() if self.error else "palette(button-text)"
        self.setStyleSheet(
            f"QToolButton {{ color: {color}; {'font-weight: bold;' if self.error else ''} }}"
        )


class FrozenNotice(QLabel):
    """``Display frozen: 3 new flows, 12 updates waiting (Ctrl+P resumes)``."""

    def __init__(self, shortcut: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shortcut = shortcut
        self.setStyleSheet(FROZEN_STYLE)
        self.setAlignment(Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip(
            "The table stopped moving so you can read it; capture goes on and nothing"
            " is held. Unfreeze to see what arrived. (Flows held at a breakpoint are"
            " shown as Paused in the Status column.)"
        )
        self.hide()

    def show_waiting(self, new_flows: int, updates: int) -> None:
        parts = []
        if new_flows:
            parts.append(f"{new_flows:,} new flow{'s' if new_flows != 1 else ''}")
        if updates:
            parts.append(f"{updates:,} update{'s' if updates != 1 else ''}")
        waiting = f": {', '.join(parts)} waiting" if parts else ""
        self.setText(f"❄ Display frozen{waiting} ({self.shortcut} unfreezes)")
        self.show()
