"""Composition root of the desktop app.

The GUI thread runs Qt's event loop with qasync's asyncio loop inside it.
The engine runs apart: in a child process by default (``--engine
process``), so nothing the window does in Python can slow the proxy; on a
thread of this process or on this very loop for comparison (``--engine
thread|qasync``). The window speaks the engine protocol to all three
(``EngineLink``): batches of rows in, commands and detail requests out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

# qasync picks its Qt binding from QT_API or from what is already imported;
# PySide6 is imported first below, and this makes the choice explicit.
os.environ.setdefault("QT_API", "pyside6")

import PySide6  # noqa: F401  (before qasync, which binds to the Qt already imported)
import qasync
from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from inspector import engine, selftest
from inspector.core import gcpolicy, onboarding
from inspector.core.ca import CAError
from inspector.core.ca_info import PublishedCA
from inspector.core.config import ConfigError, save_settings
from inspector.core.memory import pin_mmap_threshold
from inspector.core.mirror import RowMirror
from inspector.core.protocol import Message, ProtocolError
from inspector.core.session_files import new_path
from inspector.gui import window_layout
from inspector.gui.ca_dialog import CADialog
from inspector.gui.controller import ProxyController
from inspector.gui.engine_link import EngineLink
from inspector.gui.launch import WindowOpener
from inspector.gui.main_window import MainWindow
from inspector.gui.recent import RecentState
from inspector.gui.session_actions import SessionActions
from inspector.gui.settings_dialog import SettingsDialog
from inspector.gui.system_proxy import SystemProxyToggle
from inspector.gui.tasks import ErrorReporter, GuiTasks, install_excepthook
from inspector.gui.theme import apply_theme
from inspector.gui.window_state import WindowStateFile
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError
from inspector.link.launcher import EngineHandle
from inspector.options import Options
from inspector.resources import resource
from inspector.sysproxy.manager import SystemProxy, detect_backend

log = logging.getLogger(__name__)
SIGNAL_POLL_MS = 200
"""Python runs signal handlers only when it gets control; Qt's loop is C++,
so a timer hands control back this often to let Ctrl+C and SIGTERM in."""
SHUTDOWN_WAIT = 1.0
"""How long quitting waits for the engine to stop before it is killed."""


class DesktopApp:
    """Builds and wires every part, runs until quit, tears down."""

    def __init__(self, qt_app: QApplication, options: Options) -> None:
        self.qt_app = qt_app
        self.options = options
        self.settings = options.settings
        self.reporter = ErrorReporter(show_dialogs=not options.selftest)
        install_excepthook(self.reporter)
        self.tasks = GuiTasks(self.reporter)
        self.executor = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="render")
        self.exit_code = 0
        self._quit = asyncio.get_event_loop().create_future()
        self._quitting = False
        self.ready = asyncio.Event()
        """Set once start-up is over (the proxy listening, or the settings
        dialog open after a failure to listen)."""
        self.ca: PublishedCA | None = None
        self._ca_dialog: CADialog | None = None

        self.mirror = RowMirror()
        self.link = EngineLink(
            self._launch_engine,
            self.tasks,
            self.settings.relay.flush_interval_ms,
        )
        self.controller = ProxyController(self.link, self.settings)

        icon_path = resource("inspector.svg")
        icon = QIcon(str(icon_path)) if icon_path is not None else None
        if icon is not None:
            qt_app.setWindowIcon(icon)
        self.window = MainWindow(
            self.mirror, self.link, self.controller, self.tasks, self.executor, icon
        )
        self.reporter.window = self.window
        self.window.quit_requested.connect(self.quit)
        self.window.settings_requested.connect(self.open_settings)
        self.window.filter_bar.set_saved(self.settings.gui.saved_filters)
        self.window.filter_bar.saved_changed.connect(self._save_filters)
        self.window.filter_bar.set_history(self.settings.gui.filter_history)
        self.window.filter_bar.history_changed.connect(self._save_history)
        self.window.breakpoints.book.saved.connect(self._save_rules)
        self.window.toggle_requested.connect(
            lambda: self.tasks.spawn(self.toggle_proxy(), "Starting or stopping the proxy")
        )
        self.window.ca_requested.connect(self.open_ca_dialog)
        self.window.restart_requested.connect(
            lambda: self.tasks.spawn(self.restart_engine(), "Restarting the engine")
        )
        self.link.lost.connect(self._engine_lost)
        self.sessions = SessionActions(
            self.window,
            self.tasks,
            RecentState(options.confdir if options.persist else None),
            WindowOpener(options.window_args),
            options.sessions_dir,
            self._live_session,
            opened=options.open_path,
        )
        self.window.search.session_of = lambda: self.sessions.session
        self.window.rules.install_file_menu(self.window.file_menu, self.window.quit_action)
        self.sessions.menu.new_session.connect(
            lambda: self.tasks.spawn(self.new_session(), "Starting a new session")
        )
        self.window.ca_action.setEnabled(False)
        self.window_state = WindowStateFile(options.confdir if options.persist else None)
        self._layout = self.window_state.load()
        if options.theme != "system":
            self._layout.theme = options.theme  # --theme wins over the View menu's choice
        self._restore_layout()
        self.window.ca_hint.done.connect(self._save_layout)
        self._wire_system_proxy()
        self._show_insecure_warning()
        for problem in options.problems:
            self.window.statusBar().showMessage(problem, 10_000)
            log.warning("%s", problem)

    @property
    def engine_pid(self) -> int | None:
        handle = self.link.handle
        return handle.pid if handle is not None else None

    async def main(self) -> int:
        try:
            await self._start_engine()
        except (ProtocolError, OSError, EngineError) as exc:
            print(f"inspector: the engine did not start: {exc}", file=sys.stderr)
            if self.options.selftest:
                return 2
            self.window.show()
            self.window.notice.show_failed(str(exc))
        else:
            if self.options.open_path is not None:
                self.window.show_opened(self.options.open_path)
                self.window.show()
            elif await self._start_proxy() is None:
                return 2
        self._install_signal_handlers()
        self.ready.set()
        if self.options.selftest:
            self.tasks.spawn(self._selftest(), "The selftest")
        else:
            self.sessions.offer_reopen()
        await self._quit
        await self._shutdown()
        return self.exit_code

    async def _start_proxy(self) -> str | None:
        """Start listening and show the window; None when the selftest
        cannot go on (the settings open otherwise, to pick another port)."""
        try:
            address = await self.controller.start()
        except EngineError as exc:
            print(f"inspector: {exc}", file=sys.stderr)
            if self.options.selftest:
                await self.link.shutdown(SHUTDOWN_WAIT)
                return None
            self.window.show()
            self.open_settings(str(exc))
            return ""
        print(f"listening on {address}", flush=True)
        self.window.show()
        return address

    def quit(self, code: int = 0) -> None:
        if not self._quit.done():
            self.exit_code = code
            self._quit.set_result(None)

    async def _shutdown(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        started = time.monotonic()
        if hasattr(self, "_signal_timer"):
            self._signal_timer.stop()
        self.sessions.stop()
        self._save_layout()
        self.window.search.stop(quiet=True)
        self.system_proxy.shutdown()
        await self.link.shutdown(SHUTDOWN_WAIT)
        self.tasks.cancel_all()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.window.hide()
        self.window.close()
        log.debug("shutdown took %.3f s", time.monotonic() - started)

    def _restore_layout(self) -> None:
        w = self.window
        args = (w.workbench, w.columns, w.view_options, w.ca_hint)
        window_layout.restore(w, self._layout, *args, closed=w.first_run_closed)

    def _save_layout(self) -> None:
        w = self.window
        args = (w.workbench, w.columns, w.view_options, w.ca_hint)
        self.window_state.save(window_layout.capture(w, self._layout, *args))

    def _install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.quit(0))
        self._signal_timer = QTimer(self.window)
        self._signal_timer.timeout.connect(lambda: None)
        self._signal_timer.start(SIGNAL_POLL_MS)

    # The engine

    def _launch_engine(self, first_id: int) -> EngineHandle:
        # Built at each start: New Session changes the file recorded to.
        options = self.options
        engine_options = engine.EngineOptions(
            options.confdir,
            options.relay,
            session=options.session,
            open_path=options.open_path,
            control=options.control,
        )
        return engine.launcher(engine_options, options.engine, options.loop)(first_id)

    def _live_session(self) -> Path | None:
        """The file the engine said it records to (none if it could not)."""
        path = self.link.hello.get("session")
        return Path(path) if isinstance(path, str) and self.options.session else None

    async def _start_engine(self) -> None:
        """Start an engine (flow ids after the rows already shown), take
        its CA, and give it the settings."""
        hello = await self.link.start(self.mirror.last_id)
        self._take_ca(hello)
        self.sessions.update_actions()
        await self.controller.configure()
        await self.window.breakpoints.engine_started(self.settings.gui.rules)
        # A search under way searched the old engine or file: start again.
        self.window.search_again()

    def _take_ca(self, hello: Message) -> None:
        if self.options.open_path is not None:
            return  # a session opened from a file intercepts nothing
        try:
            self.ca = PublishedCA.from_hello(hello.get("ca"))
        except CAError as exc:
            self.ca = None
            log.warning("%s", exc)
        self.window.ca_action.setEnabled(self.ca is not None)

    def _engine_lost(self, description: str) -> None:
        log.error("the engine stopped unexpectedly: %s", description)
        self.window.engine_lost(description)

    async def restart_engine(self) -> None:
        try:
            await self._start_engine()
            if self.options.open_path is not None:
                self.window.engine_back()
                return
            address = await self.controller.start()
        except (ProtocolError, OSError, EngineError, ChannelClosed) as exc:
            self.window.notice.show_failed(str(exc))
            return
        self.window.engine_back()
        self.window.statusBar().showMessage(f"Engine restarted; listening on {address}", 5000)

    async def new_session(self) -> None:
        """Record to a fresh session file: a new engine, an empty table;
        the old file stays where it is (and in Open Recent)."""
        directory = self.options.sessions_dir
        if directory is None or self.options.session is None or self.options.open_path:
            return
        action = self.sessions.menu.new_action
        action.setEnabled(False)
        listening = self.controller.running
        try:
            await self.link.shutdown(SHUTDOWN_WAIT)
            self.controller.forget()
            self.window.forget_rows()
            self.options.session = new_path(directory)
            await self._start_engine()
            if listening:
                await self.controller.start()
        except EngineError as exc:
            self.open_settings(str(exc))
        except (ProtocolError, OSError, ChannelClosed) as exc:
            self.window.notice.show_failed(str(exc))
        else:
            self.window.notice.hide()
            self.sessions.reopen_bar.hide()
            self.window.log.add_note(f"New session: recording to {self.options.session}")
            self.window.statusBar().showMessage(
                f"New session, recorded to {self.options.session.name}", 5000
            )
        finally:
            self.sessions.update_actions()

    # Proxy control and settings

    async def toggle_proxy(self) -> None:
        if self.options.open_path is not None:
            return  # a session opened from a file does not capture
        if not self.link.connected:
            # No engine (it was lost): starting the proxy starts one.
            await self.restart_engine()
            return
        if self.controller.running:
            await self.controller.stop()
            return
        try:
            await self.controller.start()
        except EngineError as exc:
            self.open_settings(str(exc))

    def open_settings(self, message: str = "") -> None:
        dialog = SettingsDialog(self.settings, message, self.window)
        dialog.setModal(True)
        dialog.accepted.connect(
            lambda: self.tasks.spawn(self._apply_settings(dialog), "Applying settings")
        )
        dialog.show()

    def _save_filters(self, saved: list[list[str]]) -> None:
        self.settings.gui.saved_filters = saved
        self._save_gui()

    def _save_history(self, items: list[str]) -> None:
        self.settings.gui.filter_history = items
        self._save_gui()

    def _save_rules(self, rules: list[dict[str, Any]]) -> None:
        if rules != self.settings.gui.rules:
            self.settings.gui.rules = rules
            self._save_gui()

    def _wire_system_proxy(self) -> None:
        backend = None if self.options.selftest else detect_backend()
        self.system_proxy = SystemProxyToggle(
            SystemProxy(self.options.confdir, backend), self.window
        )
        self.window.proxy_menu.insertAction(self.window.settings_action, self.system_proxy.action)
        self.controller.state_changed.connect(self.system_proxy.set_listening)
        self.system_proxy.message.connect(
            lambda text: self.window.statusBar().showMessage(text, 8000)
        )
        self.system_proxy.changed.connect(self._system_proxy_changed)
        if backend is not None and self.options.open_path is None:
            self.system_proxy.recover()
            self.system_proxy.set_wanted(self.settings.gui.system_proxy)

    def _system_proxy_changed(self, on: bool) -> None:
        if self.settings.gui.system_proxy != on:
            self.settings.gui.system_proxy = on
            self._save_gui()

    def _save_gui(self) -> None:
        if self.options.persist:
            try:
                save_settings(self.options.confdir, self.settings)
            except ConfigError as exc:
                self.reporter.report(str(exc))

    async def _apply_settings(self, dialog: SettingsDialog) -> None:
        new = dialog.result_settings
        if new is None:
            return
        # Every field the dialog edits, as a whole: the engine then decides
        # what needs a new listener (only the address does).
        for section in ("proxy", "relay"):
            target, source = getattr(self.settings, section), getattr(new, section)
            for name in type(source).__dataclass_fields__:
                setattr(target, name, getattr(source, name))
        self._show_insecure_warning()
        self.system_proxy.set_wanted(new.gui.system_proxy)
        self.link.set_interval(new.relay.flush_interval_ms)
        if self.options.persist:
            try:
                save_settings(self.options.confdir, self.settings)
            except ConfigError as exc:
                self.reporter.report(str(exc))
        try:
            address = await self.controller.configure()
            if not address:
                address = await self.controller.start()
        except EngineError as exc:
            self.open_settings(f"{exc}. Pick another port.")
            return
        self.window.statusBar().showMessage(f"Settings applied; listening on {address}", 5000)

    def _show_insecure_warning(self) -> None:
        insecure = self.settings.proxy.insecure_upstream
        self.window.set_warning(
            "Upstream certificates are NOT verified (insecure upstream)" if insecure else ""
        )

    def open_ca_dialog(self) -> None:
        if self.ca is None:
            return
        if self._ca_dialog is None:
            self._ca_dialog = CADialog(self.ca, onboarding.URL, self.window)
            self._ca_dialog.exported.connect(
                lambda path: self.window.statusBar().showMessage(
                    f"CA certificate saved to {path}", 5000
                )
            )
        self._ca_dialog.show()
        self._ca_dialog.raise_()
        self._ca_dialog.activateWindow()

    async def _selftest(self) -> None:
        try:
            selftest.check_trust_store()
        except Exception as exc:
            print(f"inspector: selftest failed: {exc}", file=sys.stderr, flush=True)
            self.quit(1)
            return
        code = await selftest.run(
            self.window,
            self.controller.address,
            self.ca.ca_cert_path if self.ca is not None else None,
            self.options.confdir / "selftest-upstream",
            self.options.screenshot,
        )
        self.quit(code)


def run(options: Options) -> int:
    gcpolicy.install()
    pin_mmap_threshold()
    if options.selftest:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    qt_app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qt_app, QApplication)
    qt_app.setApplicationName("Inspector")
    qt_app.setOrganizationName("Inspector")
    qt_app.setQuitOnLastWindowClosed(False)
    apply_theme(qt_app, options.theme)

    async def main() -> int:
        app = DesktopApp(qt_app, options)
        return await app.main()

    try:
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            return runner.run(main())
    finally:
        if options.selftest:
            # The selftest's configuration directory holds throwaway CAs.
            shutil.rmtree(options.confdir, ignore_errors=True)
