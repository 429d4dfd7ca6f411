"""The main window: flow table with filter box, detail pane, pressure
panel and event log docks, toolbar, menus and status bar.

The window holds rows (the mirror) and applies batches; everything else it
asks of the engine through the link: a flow's details when one is
selected, clearing and deleting, copies that need headers or bodies. What
the composition root does (settings, the proxy's start and stop, the CA
dialog, restarting a lost engine, quitting) the window asks for by signal.

Signals:
    settings_requested(): open the settings.
    toggle_requested(): start or stop the proxy.
    ca_requested(): show the CA dialog.
    restart_requested(): start a new engine after one was lost.
    quit_requested(): quit the app.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from inspector.core.filter import FlowFilter
from inspector.core.format import size
from inspector.core.memory import rss_bytes
from inspector.core.mirror import RowMirror
from inspector.core.relay_metrics import ClassCounts, RelayStats
from inspector.core.rowbatch import RowBatch, StoreCounters
from inspector.gui import icons
from inspector.gui.body_search import BodySearch
from inspector.gui.breakpoint_control import BreakpointControl
from inspector.gui.ca_hint import CaHint
from inspector.gui.clipboard import copy_flows
from inspector.gui.column_chooser import ColumnChooser
from inspector.gui.composer import ComposerOpener
from inspector.gui.controller import ProxyController
from inspector.gui.detail_follower import DetailFollower
from inspector.gui.detail_pane import DetailPane
from inspector.gui.empty_hint import EmptyHint
from inspector.gui.engine_link import EngineLink
from inspector.gui.engine_notice import EngineNotice
from inspector.gui.event_log import EventLog
from inspector.gui.filter_bar import FilterBar
from inspector.gui.flow_model import FlowTableModel
from inspector.gui.flow_table import FlowTable
from inspector.gui.help_menu import HelpMenu
from inspector.gui.intercept_menu import InterceptMenu
from inspector.gui.pressure_panel import PressurePanel
from inspector.gui.rules_control import RulesControl
from inspector.gui.search_status import SearchStatusBar
from inspector.gui.status_badges import FrozenNotice, LogBadge, PressureBadge
from inspector.gui.table_nav import TableNavigation
from inspector.gui.tasks import GuiTasks
from inspector.gui.timing_tools import TimingTools
from inspector.gui.view_options import ViewOptions
from inspector.gui.workbench import Workbench
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

STATS_INTERVAL_MS = 250
NO_STATS = RelayStats(ClassCounts(), ClassCounts(), ClassCounts())


class MainWindow(QMainWindow):
    settings_requested = Signal()
    toggle_requested = Signal()
    ca_requested = Signal()
    restart_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self,
        mirror: RowMirror,
        link: EngineLink,
        controller: ProxyController,
        tasks: GuiTasks,
        executor: concurrent.futures.Executor,
        icon: QIcon | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Inspector")
        if icon is not None:
            self.setWindowIcon(icon)
        self.resize(1280, 800)
        self.mirror = mirror
        self.link = link
        self.controller = controller
        self.tasks = tasks
        self.paused = False
        self._missed = False
        self.stats = NO_STATS
        self.counters = StoreCounters()
        self._cleared_through = 0
        self._paint_started = 0.0
        self.installEventFilter(self)

        self.model = FlowTableModel(mirror, self)
        self.table = FlowTable(self.model)
        self.filter_bar = FilterBar()
        self.filter_box = self.filter_bar.box
        self.search = BodySearch(mirror, link, tasks, self.model.reveal, self)
        self.filter_bar.filter_changed.connect(self._filter_changed)
        self.model.search_wanted.connect(self.search.watch)
        self.search_status = SearchStatusBar(self.search)
        self.filter_bar.escaped.connect(self.table.setFocus)
        self.detail = DetailPane(executor)
        self.filter_bar.filter_changed.connect(lambda f: self.detail.set_highlight(f.body_values))
        self.follower = DetailFollower(self.detail, link, tasks)
        self.table.flow_selected.connect(
            lambda flow_id: self.follower.select(flow_id if isinstance(flow_id, int) else None)
        )
        self.table.copy_requested.connect(self._copy)
        self.table.delete_requested.connect(self._delete_rows)
        self.table.replay_requested.connect(self._replay)
        self.notice = EngineNotice()
        self.notice.restart_requested.connect(self.restart_requested)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(4)
        top_layout.addWidget(self.notice)
        self._top_layout = top_layout
        top_layout.addWidget(self.filter_bar)
        top_layout.addWidget(self.search_status)
        top_layout.addWidget(self.table, 1)
        self.workbench = Workbench(top, self.detail)
        self.setCentralWidget(self.workbench)
        self.table.flow_selected.connect(
            lambda flow_id: self.workbench.show_detail(isinstance(flow_id, int))
        )
        self.navigation = TableNavigation(self.table)
        self.columns = ColumnChooser(self.table)
        self.empty_hint = EmptyHint(self.table, lambda: len(self.mirror))
        self.empty_hint.ca_requested.connect(self.ca_requested)
        self.ca_hint = CaHint()
        self.ca_hint.ca_requested.connect(self.ca_requested)
        top_layout.insertWidget(1, self.ca_hint)
        self._frozen_from = 0
        self._frozen_updates = 0

        self.pressure = PressurePanel()
        self.pressure_dock = self._dock(
            "Event Pressure", self.pressure, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.log = EventLog()
        self.log_dock = self._dock("Event Log", self.log, Qt.DockWidgetArea.RightDockWidgetArea)
        self.breakpoints = BreakpointControl(
            mirror, link, tasks, self.table, self.filter_box.text, self
        )
        self.breakpoints.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.table.break_requested.connect(self.breakpoints.break_on)
        self.breakpoints_dock = self._dock(
            "Breakpoints", self.breakpoints.panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.rules = RulesControl(link, tasks, mirror, self.breakpoints.book, self)
        self.rules.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.rules.fill_menu(self.table.rule_menu, self.table.current_flow_id)
        self.rules_dock = self._dock(
            "Rules", self.rules.panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tabifyDockWidget(self.breakpoints_dock, self.rules_dock)
        self.warning_banner = QLabel()
        self.first_run_closed = [
            self.pressure_dock,
            self.log_dock,
            self.breakpoints_dock,
            self.rules_dock,
        ]
        """Docks a first run keeps closed, for the flow list's room."""

        self._build_actions()
        self._build_status_bar()
        self.model.busy.connect(self._busy)
        self.model.progress.connect(self.progress.setValue)
        controller.state_changed.connect(self._proxy_state)
        link.batch_received.connect(self.apply_batch)
        self.composer = ComposerOpener(mirror, link, tasks, executor, self)
        self.table.edit_requested.connect(self.composer.edit_flow)
        self._build_tools_menu()
        self.intercept = InterceptMenu(link, controller, tasks, self)
        self.intercept.install(self)
        self.timing_tools = TimingTools(self, self.table, mirror, link, tasks)
        self.help_menu = HelpMenu(self)
        self._proxy_state(controller.running, controller.address)

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
        slot: object,
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
            "Stop", "Ctrl+R", self.toggle_requested.emit, "Start or stop the proxy"
        )
        self.clear_action = self._action("Clear", "Ctrl+K", self.clear, "Remove every flow")
        self.pause_action = self._action(
            "Freeze Display",
            "Ctrl+P",
            self.toggle_pause,
            "Stop the table moving to read it; capture goes on and no flow is held",
        )
        self.pause_action.setCheckable(True)
        self.settings_action = self._action(
            "Settings",
            QKeySequence.StandardKey.Preferences,
            self.settings_requested.emit,
            "Open the settings",
        )
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.ca_action = self._action(
            "CA Certificate",
            "Ctrl+Shift+A",
            self.ca_requested.emit,
            "Inspector's certificate authority: fingerprint, export, install steps",
        )
        self.find_action = self._action(
            "Filter", QKeySequence.StandardKey.Find, self.focus_filter, "Filter the flows"
        )
        self.quit_action = self._action(
            "Quit", QKeySequence.StandardKey.Quit, self.quit_requested.emit, "Quit Inspector"
        )

        self._paint_icons()
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
        toolbar.addWidget(self.breakpoints.badge)
        toolbar.addSeparator()
        # A widget in a toolbar is shown and hidden through its action.
        self._warning_action = toolbar.addWidget(self.warning_banner)
        self._warning_action.setVisible(False)
        self.addToolBar(toolbar)

        menu = self.menuBar()
        self.file_menu = menu.addMenu("&File")
        self.file_menu.addAction(self.quit_action)
        proxy_menu = menu.addMenu("&Proxy")
        self.proxy_menu = proxy_menu
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
        self.view_options = ViewOptions(view_menu, self.workbench, self.columns)
        self.view_options.theme_changed.connect(self._paint_icons)
        view_menu.addAction(self.pressure_dock.toggleViewAction())
        view_menu.addAction(self.log_dock.toggleViewAction())
        view_menu.addAction(self.breakpoints_dock.toggleViewAction())
        view_menu.addAction(self.rules_dock.toggleViewAction())
        self.paused_action = self._action(
            "Paused Flows", "Ctrl+Shift+B", self.breakpoints.editor.open, "Edit the held flows"
        )
        view_menu.addAction(self.paused_action)

    def _paint_icons(self) -> None:
        """Draw the toolbar's icons in the palette's ink (again when the theme changes)."""
        ink = self.palette().color(QPalette.ColorRole.WindowText)
        running = self.toggle_action.text() == "Stop"
        for action, name in (
            (self.toggle_action, "stop" if running else "play"),
            (self.clear_action, "clear"),
            (self.pause_action, "pause"),
            (self.settings_action, "settings"),
            (self.ca_action, "certificate"),
        ):
            action.setIcon(icons.icon(name, ink))

    def _build_tools_menu(self) -> None:
        self.composer_action = self._action(
            "Composer", "Ctrl+Shift+N", self.composer.show_empty, "Write a request and send it"
        )
        tools_menu = self.menuBar().addMenu("&Tools")
        tools_menu.addAction(self.composer_action)
        tools_menu.addAction(self.table.edit_action)

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
        self.frozen_notice = FrozenNotice("Ctrl+P")
        self.pressure_badge = PressureBadge(self.pressure_dock)
        self.log_badge = LogBadge(self.log_dock, self.log)
        bar.insertWidget(0, self.frozen_notice)
        bar.addPermanentWidget(self.count_label)
        bar.addPermanentWidget(self.pressure_badge)
        bar.addPermanentWidget(self.log_badge)
        bar.addPermanentWidget(self.memory_label)

    # Live updates

    def apply_batch(self, batch: RowBatch) -> None:
        if batch.critical:
            self.log.add_critical(batch.critical)
            self.breakpoints.apply_critical(batch.critical)
        if batch.low:
            self.log.add_warnings(batch.low)
        if batch.stats is not None:
            self.stats = batch.stats
        if batch.store is not None:
            self.counters = batch.store
        if batch.cleared_through > self._cleared_through:
            self._forget_all(batch.cleared_through)
        if batch.rows and not self.ca_hint.given:
            self.ca_hint.check(batch.rows)
        changed = self.model.apply_batch(batch, show=not self.paused)
        if self.paused:
            self._missed = self._missed or bool(batch.rows or batch.resync)
            self._frozen_updates += sum(1 for i in changed if i <= self._frozen_from)
            return
        self.follower.changed(changed, batch.resync)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self and event.type() == QEvent.Type.UpdateRequest:
            # The window's repaint (the table, its scroll bar, the panels)
            # runs right after this returns; a zero timer fires once it is
            # done. Timing it by wrapping the event in Python instead would
            # hold the interpreter lock through all of the C++ painting.
            self._paint_started = time.perf_counter()
            QTimer.singleShot(0, self._painted)
        return False

    def _painted(self) -> None:
        if self._paint_started:
            self.link.note_paint(time.perf_counter() - self._paint_started)
            self._paint_started = 0.0

    def refresh_stats(self) -> None:
        link = self.link
        self.pressure.update_stats(
            self.stats,
            refresh=(link.interval_ms, link.base_interval_ms),
            apply_seconds=link.apply_seconds,
        )
        self.pressure_badge.show_state(self.pressure.state, self.stats.depth)
        shown = self.model.rowCount()
        counters = self.counters
        total = len(self.mirror)
        text = f"{total:,} flows" if shown == total else f"{shown:,} of {total:,} flows"
        if self.paused:
            text = f"{shown:,} flows shown"
            new = max(self.mirror.last_id - self._frozen_from, 0)
            self.frozen_notice.show_waiting(new, self._frozen_updates)
        self.empty_hint.update_shown()
        # Never silent: flows dropped at the cap, bodies at the memory limit.
        notes = []
        if counters.flows_dropped:
            notes.append(
                f"{counters.flows_dropped:,} oldest dropped at the"
                f" {counters.max_flows:,}-flow limit"
            )
        if counters.bodies_dropped:
            notes.append(f"{counters.bodies_dropped:,} bodies dropped at the memory limit")
        if notes:
            text += f" ({'; '.join(notes)})"
        self.count_label.setText(text)
        window, engine = rss_bytes(), counters.rss if link.connected else 0
        parts = [f"window {size(window)}"] if window else []
        if engine:
            parts.append(f"engine {size(engine)}")
        self.memory_label.setText(f"Memory: {', '.join(parts)}" if parts else "")

    def set_warning(self, text: str) -> None:
        """A permanent warning in the toolbar (empty text hides it)."""
        self.warning_banner.setText(f"  ⚠ {text}  " if text else "")
        self.warning_banner.setStyleSheet(
            "background: #d73a49; color: white; font-weight: bold; border-radius: 4px;"
        )
        self._warning_action.setVisible(bool(text))

    def engine_lost(self, description: str) -> None:
        """The engine ended unasked: say so, keep the rows, offer a restart."""
        self.notice.show_lost(description)
        self.log.add_note(f"Engine stopped unexpectedly ({description})", error=True)
        self.statusBar().showMessage("The engine stopped; the flows shown are kept", 10_000)
        self.controller.forget()
        self.follower.engine_lost()
        self.breakpoints.engine_lost()

    def add_notice(self, widget: QWidget) -> None:
        """Another bar over the filter box, below the engine's notice."""
        self._top_layout.insertWidget(1, widget)

    def engine_back(self) -> None:
        self.notice.hide()
        self.log.add_note("Engine restarted")

    # Actions

    def _filter_changed(self, flow_filter: FlowFilter) -> None:
        """Rows alone decide most filters; header and body terms start a
        search, and the table shows its matches as they come."""
        self.model.set_filter(self.search.narrow(flow_filter))

    def search_again(self) -> None:
        """Search anew with the current filter, if it needs a search (the
        engine or its session file changed)."""
        narrowed = self.search.filter
        if narrowed is not None:
            self._filter_changed(narrowed.base)

    def focus_filter(self) -> None:
        self.filter_box.setFocus()
        self.filter_box.selectAll()

    def clear(self) -> None:
        self.tasks.spawn(self._clear(), "Clearing the flows")

    async def _clear(self) -> None:
        if not self.link.connected:
            # No engine to ask (it was lost): the rows are all there is.
            self._forget_all(self.mirror.last_id)
            return
        try:
            result = await self.link.request("clear")
        except ChannelClosed:
            self._forget_all(self.mirror.last_id)
            return
        self._forget_all(int(result["cleared_through"]))

    def forget_rows(self) -> None:
        """Empty the table, asking the engine nothing (a new session)."""
        self._forget_all(self.mirror.last_id)

    def _forget_all(self, through: int) -> None:
        self._cleared_through = max(self._cleared_through, through)
        self.mirror.forget_through(through)
        self.model.clear()
        self.follower.forget()

    def _delete_rows(self, rows: list[int]) -> None:
        ids = self.model.delete_rows(rows)
        if ids and self.link.connected:
            self.tasks.spawn(self._delete(ids), "Deleting flows")

    async def _delete(self, ids: list[int]) -> None:
        # A lost engine takes its flows with it: nothing left to delete.
        with contextlib.suppress(ChannelClosed):
            await self.link.request("delete", ids=ids)

    def _copy(self, what: str, ids: list[int]) -> None:
        self.tasks.spawn(self._copy_now(what, ids), "Copying")

    async def _copy_now(self, what: str, ids: list[int]) -> None:
        if what != "url" and not self.link.connected:
            self.statusBar().showMessage("Nothing to copy: the engine holding it is gone", 5000)
            return
        try:
            count = await copy_flows(self.link, self.mirror, what, ids)
        except (ChannelClosed, EngineError) as exc:
            self.statusBar().showMessage(f"Nothing copied: {exc}", 5000)
            return
        if not count:
            self.statusBar().showMessage("Nothing to copy", 3000)

    def _replay(self, ids: list[int], count: int) -> None:
        if not self.link.connected:
            self.statusBar().showMessage("Nothing replayed: the engine is gone", 5000)
            return
        self.tasks.spawn(self._replay_now(ids, count), "Replaying")

    async def _replay_now(self, ids: list[int], count: int) -> None:
        """Ask the engine to send each flow's request again; the new flows
        arrive as rows like any other."""
        sent = 0
        for flow_id in ids:
            try:
                result = await self.link.request("replay", id=flow_id, count=count)
            except (ChannelClosed, EngineError) as exc:
                self.statusBar().showMessage(f"Not replayed: {exc}", 5000)
                self.log.add_note(f"Replay of #{flow_id} refused: {exc}", error=True)
                continue
            sent += len(result["ids"])
        if sent:
            what = f"#{ids[0]}" if len(ids) == 1 else f"{len(ids)} flows"
            times = f" ({sent} requests)" if sent > 1 else ""
            self.statusBar().showMessage(f"Replaying {what}{times}", 3000)

    def toggle_pause(self) -> None:
        self.paused = self.pause_action.isChecked()
        self.pause_action.setText("Unfreeze Display" if self.paused else "Freeze Display")
        self._frozen_from, self._frozen_updates = self.mirror.last_id, 0
        if self.paused:
            self.frozen_notice.show_waiting(0, 0)
        else:
            self.frozen_notice.hide()
        if not self.paused and self._missed:
            self._missed = False
            self.model.resume()

    def _busy(self, label: str) -> None:
        self.busy_label.setText(f"{label}…" if label else "")
        self.progress.setVisible(bool(label))
        self.progress.setValue(0)

    def show_opened(self, path: Path) -> None:
        """This window shows a session file: nothing to start, stop or set."""
        self.setWindowTitle(f"{path.name} — Inspector")
        for action in (self.toggle_action, self.settings_action, self.ca_action):
            action.setEnabled(False)
        self.address_label.setText(f"Opened {path} (read-only; nothing is captured)")

    def _proxy_state(self, running: bool, address: str) -> None:
        self.toggle_action.setText("Stop" if running else "Start")
        ink = self.palette().color(QPalette.ColorRole.WindowText)
        self.toggle_action.setIcon(icons.icon("stop" if running else "play", ink))
        self.address_label.setText(f"Listening on {address}" if running else "Proxy stopped")
        self.empty_hint.set_address(address if running else "")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stats_timer.stop()
        self.quit_requested.emit()
        event.accept()
