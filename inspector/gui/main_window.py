"""The main window: flow table with filter box, detail pane, pressure
panel and event log docks, toolbar, menus and status bar.

The window only reads the store and applies relay batches; starting and
stopping the proxy goes through the ProxyController, settings changes
through the callback the composition root passes in.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from inspector.core.filter import FilterError, parse_filter
from inspector.core.format import size
from inspector.core.memory import rss_bytes
from inspector.core.relay import Batch
from inspector.core.relay_metrics import RelayStats
from inspector.core.store import FlowStore
from inspector.gui import icons
from inspector.gui.controller import ProxyController
from inspector.gui.detail_pane import DetailPane
from inspector.gui.event_log import EventLog
from inspector.gui.flow_model import FlowTableModel
from inspector.gui.flow_table import FlowTable
from inspector.gui.pressure_panel import PressurePanel

STATS_INTERVAL_MS = 250
FILTER_DELAY_MS = 150


class MainWindow(QMainWindow):
    def __init__(
        self,
        store: FlowStore,
        controller: ProxyController,
        stats: Callable[[], RelayStats],
        executor: concurrent.futures.Executor,
        icon: QIcon | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Inspector")
        if icon is not None:
            self.setWindowIcon(icon)
        self.resize(1280, 800)
        self.store = store
        self.controller = controller
        self._stats = stats
        self.paused = False
        self._missed = False
        self.on_settings: Callable[[], None] = lambda: None
        self.on_toggle_proxy: Callable[[], None] = lambda: None
        self.on_quit: Callable[[], None] = lambda: None
        self.on_ca: Callable[[], None] = lambda: None
        self.on_paint: Callable[[float], None] | None = None
        """Told how long each repaint of the window took (the relay bridge
        paces itself with it)."""
        self.refresh_interval: Callable[[], tuple[int, int] | None] = lambda: None
        """(current, base) ms between table refreshes, for the pressure panel."""
        self._paint_started = 0.0
        self.installEventFilter(self)

        self.model = FlowTableModel(store, self)
        self.table = FlowTable(self.model)
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText(
            "Filter: text in URL, method:POST, status:4xx, host:api   (Ctrl+F)"
        )
        self.filter_box.setClearButtonEnabled(True)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.filter_box.textChanged.connect(lambda _t: self._filter_timer.start())
        self.detail = DetailPane(executor)
        self.table.flow_selected.connect(self._show_flow)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(4)
        top_layout.addWidget(self.filter_box)
        top_layout.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.setCentralWidget(split)

        self.pressure = PressurePanel()
        self.pressure_dock = self._dock(
            "Event Pressure", self.pressure, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.log = EventLog()
        self.log_dock = self._dock("Event Log", self.log, Qt.DockWidgetArea.RightDockWidgetArea)
        self.warning_banner = QLabel()

        self._build_actions()
        self._build_status_bar()
        self.model.busy.connect(self._busy)
        self.model.progress.connect(self.progress.setValue)
        controller.state_changed.connect(self._proxy_state)

        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(STATS_INTERVAL_MS)
        self._stats_timer.timeout.connect(self.refresh_stats)
        self._stats_timer.start()

    # Building

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", ""))
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(
        self,
        text: str,
        shortcut: str | QKeySequence.StandardKey,
        slot: Callable[[], object],
        tip: str,
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(
            f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
        )
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.toggle_action = self._action(
            "Stop", "Ctrl+R", lambda: self.on_toggle_proxy(), "Start or stop the proxy"
        )
        self.clear_action = self._action("Clear", "Ctrl+K", self.clear, "Remove every flow")
        self.pause_action = self._action(
            "Pause", "Ctrl+P", self.toggle_pause, "Pause or resume the live display"
        )
        self.pause_action.setCheckable(True)
        self.settings_action = self._action(
            "Settings",
            QKeySequence.StandardKey.Preferences,
            lambda: self.on_settings(),
            "Open the settings",
        )
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.ca_action = self._action(
            "CA Certificate",
            "Ctrl+Shift+A",
            lambda: self.on_ca(),
            "Inspector's certificate authority: fingerprint, export, install steps",
        )
        self.find_action = self._action(
            "Filter", QKeySequence.StandardKey.Find, self.focus_filter, "Filter the flows"
        )
        self.quit_action = self._action(
            "Quit", QKeySequence.StandardKey.Quit, lambda: self.on_quit(), "Quit Inspector"
        )

        ink = self.palette().color(QPalette.ColorRole.WindowText)
        for action, name in (
            (self.toggle_action, "stop"),
            (self.clear_action, "clear"),
            (self.pause_action, "pause"),
            (self.settings_action, "settings"),
            (self.ca_action, "certificate"),
        ):
            action.setIcon(icons.icon(name, ink))
        toolbar = QToolBar("Main")
        toolbar.setObjectName("MainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (
            self.toggle_action,
            self.clear_action,
            self.pause_action,
            self.settings_action,
            self.ca_action,
        ):
            toolbar.addAction(action)
        toolbar.addSeparator()
        # A widget in a toolbar is shown and hidden through its action.
        self._warning_action = toolbar.addWidget(self.warning_banner)
        self._warning_action.setVisible(False)
        self.addToolBar(toolbar)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.quit_action)
        proxy_menu = menu.addMenu("&Proxy")
        for action in (self.toggle_action, self.pause_action, self.clear_action):
            proxy_menu.addAction(action)
        proxy_menu.addSeparator()
        proxy_menu.addAction(self.settings_action)
        proxy_menu.addAction(self.ca_action)
        flows_menu = menu.addMenu("F&lows")
        flows_menu.addAction(self.find_action)
        for action in (
            self.table.copy_url_action,
            self.table.copy_curl_action,
            self.table.copy_body_action,
            self.table.delete_action,
        ):
            flows_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(self.pressure_dock.toggleViewAction())
        view_menu.addAction(self.log_dock.toggleViewAction())

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.address_label = QLabel("Stopped")
        self.count_label = QLabel()
        self.memory_label = QLabel()
        self.busy_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 100)
        self.progress.hide()
        bar.addWidget(self.address_label)
        bar.addWidget(self.busy_label)
        bar.addWidget(self.progress)
        bar.addPermanentWidget(self.count_label)
        bar.addPermanentWidget(self.memory_label)

    # Live updates

    def apply_batch(self, batch: Batch) -> None:
        if batch.critical:
            self.log.add_critical(batch.critical)
        if batch.low:
            self.log.add_warnings(batch.low)
        # Even paused, rows of flows the store dropped at its cap go: they
        # could only show blank.
        self.model.forget_dropped()
        if self.paused:
            self._missed = self._missed or bool(batch.new_ids or batch.changed_ids or batch.resync)
            return
        self.model.apply_batch(batch)
        current = self.detail.flow_id
        if current is not None and (batch.resync or current in batch.changed_ids):
            self.detail.show_flow(self.store.get(current))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self
            and event.type() == QEvent.Type.UpdateRequest
            and self.on_paint is not None
        ):
            # The window's repaint (the table, its scroll bar, the panels)
            # runs right after this returns; a zero timer fires once it is
            # done. Timing it by wrapping the event in Python instead would
            # hold the interpreter lock through all of the C++ painting and
            # stall the engine's thread for as long.
            self._paint_started = time.perf_counter()
            QTimer.singleShot(0, self._painted)
        return False

    def _painted(self) -> None:
        if self.on_paint is not None and self._paint_started:
            self.on_paint(time.perf_counter() - self._paint_started)
            self._paint_started = 0.0

    def refresh_stats(self) -> None:
        self.pressure.update_stats(self._stats(), refresh=self.refresh_interval())
        shown = self.model.rowCount()
        total = len(self.store)
        text = f"{total:,} flows" if shown == total else f"{shown:,} of {total:,} flows"
        # Never silent: flows dropped at the cap, bodies at the memory limit.
        notes = []
        if self.store.flows_dropped:
            notes.append(
                f"{self.store.flows_dropped:,} oldest dropped at the"
                f" {self.store.max_flows:,}-flow limit"
            )
        if self.store.bodies_dropped:
            notes.append(f"{self.store.bodies_dropped:,} bodies dropped at the memory limit")
        if notes:
            text += f" ({'; '.join(notes)})"
        self.count_label.setText(text)
        rss = rss_bytes()
        self.memory_label.setText(f"Memory {size(rss)}" if rss else "")

    def set_warning(self, text: str) -> None:
        """A permanent warning in the toolbar (empty text hides it)."""
        self.warning_banner.setText(f"  ⚠ {text}  " if text else "")
        self.warning_banner.setStyleSheet(
            "background: #d73a49; color: white; font-weight: bold; border-radius: 4px;"
        )
        self._warning_action.setVisible(bool(text))

    # Actions

    def focus_filter(self) -> None:
        self.filter_box.setFocus()
        self.filter_box.selectAll()

    def _apply_filter(self) -> None:
        text = self.filter_box.text()
        try:
            flow_filter = parse_filter(text)
        except FilterError as exc:
            self.filter_box.setStyleSheet("QLineEdit { border: 2px solid #d73a49; }")
            self.filter_box.setToolTip(str(exc))
            self.statusBar().showMessage(str(exc), 5000)
            return
        self.filter_box.setStyleSheet("")
        self.filter_box.setToolTip("")
        self.model.set_filter(flow_filter)

    def clear(self) -> None:
        self.model.clear()
        self.detail.show_flow(None)

    def toggle_pause(self) -> None:
        self.paused = self.pause_action.isChecked()
        self.pause_action.setText("Resume" if self.paused else "Pause")
        if not self.paused and self._missed:
            self._missed = False
            self.model.apply_batch(Batch(resync=True))

    def _show_flow(self, flow_id: object) -> None:
        flow = self.store.get(flow_id) if isinstance(flow_id, int) else None
        self.detail.show_flow(flow)

    def _busy(self, label: str) -> None:
        self.busy_label.setText(f"{label}…" if label else "")
        self.progress.setVisible(bool(label))
        self.progress.setValue(0)

    def _proxy_state(self, running: bool, address: str) -> None:
        self.toggle_action.setText("Stop" if running else "Start")
        ink = self.palette().color(QPalette.ColorRole.WindowText)
        self.toggle_action.setIcon(icons.icon("stop" if running else "play", ink))
        self.address_label.setText(f"Listening on {address}" if running else "Proxy stopped")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stats_timer.stop()
        self.on_quit()
        event.accept()
