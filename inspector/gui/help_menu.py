"""The Help menu: About, the keyboard shortcuts, and the onboarding page.

The shortcuts dialog reads the window's actions when it opens, so what it
lists is what the keys do, not a copy that drifts; the flow list's own
keys (which are not actions) are added to it.

The onboarding page (``core.onboarding``: CA downloads and install steps)
is served by the proxy itself at a name that never resolves, so a browser
reaches it only through the proxy: the menu opens it in the default
browser and says so.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector import __version__
from inspector.core import onboarding

TABLE_KEYS = (
    ("First flow", "Home, Ctrl+Home"),
    ("Last flow", "End, Ctrl+End"),
    ("Previous / next flow", "Up, Down"),
    ("Back to the flow list from the filter", "Escape"),
)
"""Keys of the flow list that are not actions."""
ABOUT = (
    "<h3>Inspector {version}</h3>"
    "<p>An HTTP and HTTPS debugging proxy. The proxy runs in a process of its own"
    " and never waits for this window: when the window is busy, display updates"
    " are merged or dropped, never traffic.</p>"
)


def shortcuts(window: QWidget) -> list[tuple[str, str]]:
    """Every action of ``window`` with a shortcut, by name, and the table's keys."""
    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        keys = [k for k in action.shortcuts() if not k.isEmpty()]
        name = action.text().replace("&", "").rstrip("…").strip()
        if not keys or not name or name in seen:
            continue
        native = QKeySequence.SequenceFormat.NativeText
        seen[name] = ", ".join(k.toString(native) for k in keys)
    return sorted(seen.items(), key=lambda item: item[0].lower()) + list(TABLE_KEYS)


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        entries = shortcuts(window)
        self.table = QTableWidget(len(entries), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for row, (name, keys) in enumerate(entries):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(460, 520)


class HelpMenu:
    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        menu = window.menuBar().addMenu("&Help")
        self.menu = menu
        self.shortcuts_action = QAction("Keyboard Shortcuts", window)
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        window.addAction(self.shortcuts_action)
        self.onboarding_action = QAction("Open the Onboarding Page", window)
        self.onboarding_action.setStatusTip(
            f"Opens {onboarding.URL} (CA downloads and install steps); the browser"
            " must use Inspector as its proxy (Intercept starts one that does)"
        )
        self.onboarding_action.triggered.connect(self.open_onboarding)
        self.about_action = QAction("About Inspector", window)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        for action in (self.shortcuts_action, self.onboarding_action, self.about_action):
            menu.addAction(action)
        self.dialog: ShortcutsDialog | None = None

    def show_shortcuts(self) -> None:
        self.dialog = ShortcutsDialog(self.window)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.show()

    def open_onboarding(self) -> None:
        QDesktopServices.openUrl(QUrl(onboarding.URL))
        self.window.statusBar().showMessage(
            f"Opened {onboarding.URL}: it loads in a browser that uses Inspector as its proxy",
            8000,
        )

    def show_about(self) -> None:
        QMessageBox.about(self.window, "About Inspector", ABOUT.format(version=__version__))
