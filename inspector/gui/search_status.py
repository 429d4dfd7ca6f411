"""The line under the filter while a body or header search runs: how far
it got, how many flows match, and Stop; afterwards what it searched, or
why it failed. Hidden when the filter needs no search.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from inspector.gui.body_search import BodySearch, SearchStatus


def describe(status: SearchStatus) -> str:
    """The status line's words."""
    where = "the session file" if status.where == "file" else "the engine's flows"
    found = "1 match" if status.matches == 1 else f"{status.matches:,} matches"
    if status.error:
        return f"Search failed: {status.error}"
    if status.running:
        if not status.total:
            return f"Searching bodies and headers in {where}…"
        return (
            f"Searching bodies and headers in {where}: "
            f"{status.done:,} of {status.total:,} flows, {found}"
        )
    searched = f"{status.done:,} flows" if status.done != 1 else "1 flow"
    if status.stopped:
        return f"Search stopped after {searched} of {status.total:,}: {found}"
    return (
        f"Searched {searched} in {status.seconds:.1f} s: {found}; "
        "flows that end from now on are matched as they come"
    )


class SearchStatusBar(QWidget):
    def __init__(self, search: BodySearch, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = search
        self.label = QLabel()
        self.label.setStyleSheet("color: palette(placeholder-text);")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(180)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop searching; the matches found so far stay shown")
        self.stop_button.clicked.connect(lambda: search.stop())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.stop_button)
        search.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        search = self.search
        status = search.status
        if search.filter is None and not status.error:
            self.hide()
            return
        self.label.setText(describe(status))
        self.label.setStyleSheet(
            "color: #d73a49;" if status.error else "color: palette(placeholder-text);"
        )
        self.bar.setVisible(status.running)
        self.stop_button.setVisible(status.running)
        if status.total:
            self.bar.setRange(0, status.total)
            self.bar.setValue(min(status.done, status.total))
        else:
            self.bar.setRange(0, 0)  # busy
        self.show()
