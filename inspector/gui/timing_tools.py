"""The window's timing and comparison tools, wired in one place: the
waterfall dock (View menu), the proxy time in the status bar, and the
Compare dialog for two selected flows.

The window builds one ``TimingTools`` after its table, menus and status
bar exist; everything here reaches the engine through the link only.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from inspector.core.flow import Flow
from inspector.core.flow_diff import compare
from inspector.core.mirror import RowMirror
from inspector.core.wire import flow_from_wire
from inspector.gui.compare_dialog import CompareDialog
from inspector.gui.details import fetch_flow
from inspector.gui.engine_link import EngineLink
from inspector.gui.flow_table import FlowTable
from inspector.gui.proxy_time_label import ProxyTimeLabel
from inspector.gui.tasks import GuiTasks
from inspector.gui.waterfall import WaterfallPanel
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

LABEL_MS = 1000


class TimingTools(QObject):
    def __init__(
        self,
        window: QMainWindow,
        table: FlowTable,
        mirror: RowMirror,
        link: EngineLink,
        tasks: GuiTasks,
    ) -> None:
        super().__init__(window)
        self.window, self.table, self.mirror = window, table, mirror
        self.link, self.tasks = link, tasks
        self.compare_dialog: CompareDialog | None = None

        self.proxy_label = ProxyTimeLabel(mirror)
        window.statusBar().addPermanentWidget(self.proxy_label)
        self._label_timer = QTimer(self)
        self._label_timer.setInterval(LABEL_MS)
        self._label_timer.timeout.connect(self.proxy_label.refresh)
        self._label_timer.start()

        self.waterfall = WaterfallPanel(
            mirror, self.waterfall_ids, self._details, lambda c: tasks.spawn(c, "Waterfall")
        )
        dock = QDockWidget("Waterfall", window)
        dock.setObjectName("waterfall_dock")
        dock.setWidget(self.waterfall)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()
        self.waterfall_dock = dock
        self._sized = False
        dock.visibilityChanged.connect(self._first_shown)
        toggle = dock.toggleViewAction()
        toggle.setText("Waterfall")
        toggle.setShortcut("Ctrl+Shift+W")
        self.waterfall_action = toggle
        menu = _menu_named(window, "View")
        if menu is not None:
            menu.addAction(toggle)
        flows = _menu_named(window, "Flows")
        if flows is not None:
            flows.addMenu(table.copy_as_menu)
            flows.addAction(table.compare_action)
        table.compare_requested.connect(self.compare)

    def _first_shown(self, visible: bool) -> None:
        # A dock comes up as small as its contents allow; the waterfall
        # wants a good part of the window the first time it opens.
        if visible and not self._sized and not self.waterfall_dock.isFloating():
            self._sized = True
            height = max(self.window.height() // 2, 200)
            self.window.resizeDocks([self.waterfall_dock], [height], Qt.Orientation.Vertical)

    def waterfall_ids(self) -> tuple[str, list[int]]:
        """The selected flows when two or more are, else the rows in view."""
        selected = self.table.selected_ids()
        if len(selected) >= 2:
            return f"{len(selected):,} selected flows", selected
        model, view = self.table.flow_model, self.table
        count = model.rowCount()
        if not count:
            return "no flows", []
        first = max(view.rowAt(0), 0)
        last = view.rowAt(view.viewport().height() - 1)
        last = count - 1 if last < 0 else last
        ids = [i for i in map(model.id_at, range(first, last + 1)) if i is not None]
        return f"{len(ids):,} flows in view", ids

    async def _details(self, flow_id: int) -> Flow | None:
        try:
            result = await self.link.request("detail", id=flow_id, inline=0)
        except (EngineError, ChannelClosed):
            return None
        if not isinstance(result, dict) or result.get("flow") is None:
            return None
        return flow_from_wire(result["flow"]).flow

    def compare(self, ids: list[int]) -> None:
        if len(ids) == 2:
            self.tasks.spawn(self._compare(ids[0], ids[1]), "Comparing flows")

    async def _compare(self, left_id: int, right_id: int) -> None:
        try:
            left = await fetch_flow(self.link, left_id)
            right = await fetch_flow(self.link, right_id)
        except (EngineError, ChannelClosed) as exc:
            self.window.statusBar().showMessage(f"Nothing compared: {exc}", 5000)
            return
        if left is None or right is None:
            self.window.statusBar().showMessage("Nothing compared: a flow is gone", 5000)
            return
        dialog = CompareDialog(compare(left, right), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.compare_dialog = dialog
        dialog.destroyed.connect(self._forget_dialog)
        dialog.show()

    def _forget_dialog(self) -> None:
        self.compare_dialog = None


def _menu_named(window: QMainWindow, title: str) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == title:
            return menu
    return None
