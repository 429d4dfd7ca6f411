"""Composition root of the desktop app.

The GUI thread runs Qt's event loop with qasync's asyncio loop inside it,
for the GUI's own coroutines. The proxy engine runs on its own stock
asyncio loop in a dedicated thread (``EngineHost``), or, with
``--engine-loop qasync``, on the GUI's loop (kept for benchmarks). Events
travel through the relay and are drained on the GUI thread by a QTimer in
batches; the window only reads the store and applies batches.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# qasync picks its Qt binding from QT_API or from what is already imported;
# PySide6 is imported first below, and this makes the choice explicit.
os.environ.setdefault("QT_API", "pyside6")

import PySide6  # noqa: F401  (before qasync, which binds to the Qt already imported)
import qasync
from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from inspector import selftest
from inspector.core import gcpolicy, onboarding
from inspector.core.ca import CAError
from inspector.core.certs import CertStore
from inspector.core.config import ConfigError, load_settings, save_settings
from inspector.core.events import CAFailed
from inspector.core.memory import pin_mmap_threshold
from inspector.core.naive_relay import NaiveRelay
from inspector.core.relay import Relay, RelayLimits
from inspector.core.settings import Settings
from inspector.core.store import FlowStore
from inspector.gui.ca_dialog import CADialog
from inspector.gui.controller import ProxyController
from inspector.gui.main_window import MainWindow
from inspector.gui.relay_bridge import NaiveRelayBridge, RelayBridge
from inspector.gui.settings_dialog import SettingsDialog
from inspector.gui.tasks import ErrorReporter, GuiTasks, install_excepthook
from inspector.gui.theme import apply_theme
from inspector.proxy.errors import ListenError
from inspector.proxy.host import EngineHost
from inspector.resources import resource

log = logging.getLogger(__name__)
SIGNAL_POLL_MS = 200
"""Python runs signal handlers only when it gets control; Qt's loop is C++,
so a timer hands control back this often to let Ctrl+C and SIGTERM in."""


@dataclass
class Options:
    settings: Settings
    confdir: Path
    relay: str = "coalescing"
    engine_loop: str = "thread"
    theme: str = "system"
    selftest: bool = False
    screenshot: str | None = None
    persist: bool = True
    problems: list[str] = field(default_factory=list)


class DesktopApp:
    """Builds and wires every part, runs until quit, tears down."""

    def __init__(self, qt_app: QApplication, options: Options) -> None:
        self.qt_app = qt_app
        self.options = options
        self.settings = options.settings
        self.store = FlowStore(self.settings.proxy.body_memory_limit, self.settings.proxy.max_flows)
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

        limits = RelayLimits(max_pending_flow_ids=self.settings.relay.capacity)
        if options.relay == "naive":
            self.relay: Relay | NaiveRelay = NaiveRelay(limits)
            self.bridge: RelayBridge | NaiveRelayBridge = NaiveRelayBridge(self.relay)
        else:
            self.relay = Relay(limits)
            self.bridge = RelayBridge(self.relay, self.settings.relay.flush_interval_ms)

        if options.engine_loop == "qasync":
            self.host = EngineHost.borrow(asyncio.get_event_loop())
        else:
            self.host = EngineHost()
            self.host.start()
        self.certs = self._load_certs()
        self.controller = ProxyController(
            self.host, self.store, self.relay, self.settings.proxy, self.certs
        )
        self._ca_dialog: CADialog | None = None

        icon_path = resource("inspector.svg")
        icon = QIcon(str(icon_path)) if icon_path is not None else None
        if icon is not None:
            qt_app.setWindowIcon(icon)
        self.window = MainWindow(
            self.store, self.controller, self.relay.snapshot, self.executor, icon
        )
        self.reporter.window = self.window
        self.window.on_quit = self.quit
        self.window.on_settings = self.open_settings
        self.window.on_toggle_proxy = self._toggle_proxy_soon
        self.window.on_ca = self.open_ca_dialog
        self.window.ca_action.setEnabled(self.certs is not None)
        self._show_insecure_warning()
        self.bridge.batch_ready.connect(self.window.apply_batch)
        if isinstance(self.bridge, RelayBridge):
            bridge = self.bridge
            self.window.on_paint = bridge.note_paint
            self.window.refresh_interval = lambda: (bridge.interval_ms, bridge.base_interval_ms)
        for problem in options.problems:
            self.window.statusBar().showMessage(problem, 10_000)
            log.warning("%s", problem)

    async def main(self) -> int:
        self.bridge.start()
        try:
            address = await self.controller.start()
        except ListenError as exc:
            if self.options.selftest:
                print(f"inspector: selftest failed: {exc}", file=sys.stderr)
                return 2
            print(f"inspector: {exc}", file=sys.stderr)
            self.window.show()
            self.open_settings(str(exc))
        else:
            print(f"listening on {address}", flush=True)
            self.window.show()
        self._install_signal_handlers()
        self.ready.set()
        if self.options.selftest:
            self.tasks.spawn(self._selftest(), "The selftest")
        await self._quit
        await self._shutdown()
        return self.exit_code

    def quit(self, code: int = 0) -> None:
        if not self._quit.done():
            self.exit_code = code
            self._quit.set_result(None)

    async def _shutdown(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        started = time.monotonic()
        self.bridge.stop()
        if hasattr(self, "_signal_timer"):
            self._signal_timer.stop()
        try:
            await self.controller.stop()
        except Exception as exc:
            log.warning("stopping the proxy: %s", exc)
        self.host.stop()
        if self.certs is not None:
            self.certs.close()
        self.tasks.cancel_all()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.window.hide()
        self.window.close()
        log.debug("shutdown took %.3f s", time.monotonic() - started)

    def _install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.quit(0))
        self._signal_timer = QTimer(self.window)
        self._signal_timer.timeout.connect(lambda: None)
        self._signal_timer.start(SIGNAL_POLL_MS)

    # Proxy control and settings

    def _toggle_proxy_soon(self) -> None:
        self.tasks.spawn(self.toggle_proxy(), "Starting or stopping the proxy")

    async def toggle_proxy(self) -> None:
        if self.controller.running:
            await self.controller.stop()
            return
        try:
            await self.controller.start()
        except ListenError as exc:
            self.open_settings(str(exc))

    def open_settings(self, message: str = "") -> None:
        dialog = SettingsDialog(self.settings, message, self.window)
        dialog.setModal(True)
        dialog.accepted.connect(
            lambda: self.tasks.spawn(self._apply_settings(dialog), "Applying settings")
        )
        dialog.show()

    async def _apply_settings(self, dialog: SettingsDialog) -> None:
        new = dialog.result_settings
        if new is None:
            return
        self.settings.proxy.listen_host = new.proxy.listen_host
        self.settings.proxy.listen_port = new.proxy.listen_port
        self.settings.proxy.allow_remote = new.proxy.allow_remote
        self.settings.proxy.body_capture_limit = new.proxy.body_capture_limit
        self.settings.proxy.body_memory_limit = new.proxy.body_memory_limit
        self.store.body_memory_limit = new.proxy.body_memory_limit
        self.settings.proxy.max_flows = new.proxy.max_flows
        self.store.set_max_flows(new.proxy.max_flows)
        self.settings.relay.flush_interval_ms = new.relay.flush_interval_ms
        self.settings.relay.capacity = new.relay.capacity
        self.settings.proxy.intercept_tls = new.proxy.intercept_tls
        self.settings.proxy.ignore_hosts = new.proxy.ignore_hosts
        self.settings.proxy.insecure_upstream = new.proxy.insecure_upstream
        self._show_insecure_warning()
        if isinstance(self.bridge, RelayBridge):
            self.bridge.set_interval(new.relay.flush_interval_ms)
        if self.options.persist:
            try:
                save_settings(self.options.confdir, self.settings)
            except ConfigError as exc:
                self.reporter.report(str(exc))
        if self.controller.running:
            await self.controller.stop()
        try:
            address = await self.controller.start()
        except ListenError as exc:
            self.open_settings(f"{exc}. Pick another port.")
            return
        self.window.statusBar().showMessage(f"Proxy restarted on {address}", 5000)

    def _load_certs(self) -> CertStore | None:
        """The CA (created on first start). If it cannot be used, the
        problem is shown as a critical event and HTTPS passes through."""
        try:
            return CertStore.load_or_create(self.options.confdir)
        except CAError as exc:
            self.relay.emit(CAFailed(f"{exc}; HTTPS will pass through undecrypted"))
            return None

    def _show_insecure_warning(self) -> None:
        insecure = self.settings.proxy.insecure_upstream
        self.window.set_warning(
            "Upstream certificates are NOT verified (insecure upstream)" if insecure else ""
        )

    def open_ca_dialog(self) -> None:
        if self.certs is None:
            return
        if self._ca_dialog is None:
            self._ca_dialog = CADialog(self.certs, onboarding.URL, self.window)
            self._ca_dialog.exported.connect(
                lambda path: self.window.statusBar().showMessage(
                    f"CA certificate saved to {path}", 5000
                )
            )
        self._ca_dialog.show()
        self._ca_dialog.raise_()
        self._ca_dialog.activateWindow()

    # Selftest

    async def _selftest(self) -> None:
        loop = asyncio.get_running_loop()
        server, port = await asyncio.wrap_future(self.host.submit(selftest.start_origin()))
        try:
            proxy = self.controller.address
            wanted = selftest.expected(port)
            for url, status in wanted.items():
                got = await loop.run_in_executor(None, selftest.fetch, proxy, url)
                if got != status:
                    raise RuntimeError(f"{url} answered {got}, expected {status}")
            await self._selftest_https()
            deadline = time.monotonic() + 10
            while True:
                shown = self._table_statuses()
                if all(shown.get(url) == str(status) for url, status in wanted.items()):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the table shows {shown}, expected {wanted}")
                await asyncio.sleep(0.05)
            if self.options.screenshot:
                self.window.table.selectRow(1)
                await asyncio.sleep(0.5)
                if not self.window.grab().save(self.options.screenshot):
                    raise RuntimeError(f"cannot save the screenshot to {self.options.screenshot}")
            print("selftest ok", flush=True)
            self.quit(0)
        except Exception as exc:
            print(f"inspector: selftest failed: {exc}", file=sys.stderr, flush=True)
            self.quit(1)
        finally:
            self.host.submit(_close_server(server))

    async def _selftest_https(self) -> None:
        """One HTTPS request through interception, against an origin whose
        certificate comes from a throwaway CA the proxy was told to trust:
        proves OpenSSL, the CA, leaf issuance and upstream verification."""
        selftest.check_trust_store()
        upstream_dir = self.options.confdir / "selftest-upstream"
        if self.certs is None or self.settings.proxy.upstream_ca_file is None:
            raise RuntimeError("HTTPS interception is not available")
        with CertStore.load_or_create(upstream_dir) as upstream:
            tls = upstream.server_context("localhost")
            server, port = await asyncio.wrap_future(self.host.submit(selftest.start_origin(tls)))
            try:
                status = await asyncio.get_running_loop().run_in_executor(
                    None,
                    selftest.fetch_https,
                    self.controller.address,
                    "localhost",
                    port,
                    "/hello",
                    str(self.certs.ca_cert_path),
                )
            finally:
                self.host.submit(_close_server(server))
        if status != 200:
            raise RuntimeError(f"the HTTPS request through the proxy answered {status}")
        url = f"https://localhost:{port}/hello"
        deadline = time.monotonic() + 10
        while self._table_statuses().get(url) != "200":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not appear in the table")
            await asyncio.sleep(0.05)

    def _table_statuses(self) -> dict[str, str]:
        from inspector.gui.flow_cells import Column

        model = self.window.model
        result = {}
        for row in range(model.rowCount()):
            flow = model.flow_at(row)
            if flow is not None:
                result[flow.request.url] = model.data(model.index(row, Column.STATUS))
        return result


async def _close_server(server: asyncio.Server) -> None:
    server.close()


def options_from(args: argparse.Namespace, listen_given: bool) -> Options:
    """Settings for the app: persisted ones, overridden by the command line."""
    from inspector.cli import apply_shared_options, parse_listen
    from inspector.core.config import config_dir

    selftest_mode = bool(args.selftest)
    confdir = config_dir(args.confdir)
    if selftest_mode:
        confdir = Path(tempfile.mkdtemp(prefix="inspector-selftest-"))
    settings, problems = load_settings(confdir)
    if listen_given:
        settings.proxy.listen_host, settings.proxy.listen_port = parse_listen(args.listen)
    if selftest_mode:
        settings.proxy.listen_host, settings.proxy.listen_port = "127.0.0.1", 0
        # The selftest's HTTPS origin uses a throwaway CA made here.
        with CertStore.load_or_create(confdir / "selftest-upstream") as upstream:
            settings.proxy.upstream_ca_file = str(upstream.ca_cert_path)
    settings.proxy.allow_remote = args.allow_remote or settings.proxy.allow_remote
    apply_shared_options(settings.proxy, args)
    if args.flush_ms is not None:
        settings.relay.flush_interval_ms = args.flush_ms
    return Options(
        settings=settings,
        confdir=confdir,
        relay=args.relay,
        engine_loop=args.engine_loop,
        theme=args.theme,
        selftest=selftest_mode,
        screenshot=args.screenshot,
        persist=not selftest_mode,
        problems=problems,
    )


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
