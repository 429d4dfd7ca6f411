"""The "Use as System Proxy" switch: points the desktop's proxy at the
address the engine listens on while it is on, and puts back what was
there when it goes off, when the window quits, and at start after a window
that died with it on (``inspector/sysproxy``).

The commands (gsettings, networksetup and the like) take tens of
milliseconds each, more than a frame, so they run on a worker thread; the
outcome comes back to the GUI thread through a queued signal. Only the
restore at quit waits for them: nothing is drawn any more by then.

Signals:
    changed(bool): the switch settled on or off (a failed enable settles off).
    message(str): one line about what was done, for the status bar and log.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction

from inspector.core.sysproxy import ProxyTarget
from inspector.sysproxy.backends import SystemProxyError
from inspector.sysproxy.manager import Outcome, SystemProxy

log = logging.getLogger(__name__)

TIP = "Point this desktop's proxy setting at Inspector while it runs; restored on quit"


class SystemProxyToggle(QObject):
    changed = Signal(bool)
    message = Signal(str)
    _done = Signal(object, object)
    """(what to call with the result, the result or the exception)."""

    def __init__(self, manager: SystemProxy, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.action = QAction("Use as System Proxy", self)
        self.action.setCheckable(True)
        self.action.setEnabled(manager.available)
        self.action.setToolTip(
            TIP if manager.available else "This desktop has no proxy setting Inspector can change"
        )
        self.action.toggled.connect(self._toggled)
        self._target: ProxyTarget | None = None
        self._applied: ProxyTarget | None = None
        self._worker = concurrent.futures.ThreadPoolExecutor(1, "system-proxy")
        self._done.connect(self._finish)

    @property
    def wanted(self) -> bool:
        return self.action.isChecked()

    def recover(self) -> None:
        """Restore what a window that died with the switch on left behind."""
        self._submit(self.manager.recover, self._recovered)

    def set_wanted(self, on: bool) -> None:
        """Turn the switch (the settings dialog, the saved setting)."""
        if self.manager.available:
            self.action.setChecked(on)

    def set_listening(self, running: bool, address: str) -> None:
        """The engine's listening state: the system proxy follows its
        address (a new port is written again)."""
        self._target = _target_of(address) if running and address else None
        if self.wanted and self._target is not None and self._target != self._applied:
            self._enable(self._target)

    def shutdown(self) -> None:
        """At quit: restore now, waiting for it."""
        self._worker.shutdown(wait=True, cancel_futures=True)
        if self.manager.active and self._applied is not None:
            try:
                outcome = self.manager.restore()
            except SystemProxyError as exc:
                log.warning("cannot restore the system proxy: %s", exc)
            else:
                if outcome.message:
                    log.info("%s", outcome.message)
            self._applied = None

    def _toggled(self, on: bool) -> None:
        if on and self._target is not None:
            self._enable(self._target)
        elif not on and self._applied is not None:
            self._applied = None
            self._submit(self.manager.restore, self._restored)

    def _enable(self, target: ProxyTarget) -> None:
        self._applied = target

        def enable() -> str:
            message = self.manager.enable(target)
            if self.manager.spawn_watchdog() is None:
                message += " (no watchdog: a crash leaves it to the next start)"
            return message

        self._submit(enable, self._enabled)

    def _submit(self, work: Callable[[], object], then: Callable[[object], None]) -> None:
        def run() -> None:
            try:
                result: object = work()
            except (SystemProxyError, OSError) as exc:
                result = exc
            self._done.emit(then, result)

        self._worker.submit(run)

    def _finish(self, then: Callable[[object], None], result: object) -> None:
        then(result)

    def _enabled(self, result: object) -> None:
        if isinstance(result, Exception):
            self._applied = None
            self._say(f"Cannot set the system proxy: {result}", logging.WARNING)
            self.action.blockSignals(True)
            self.action.setChecked(False)
            self.action.blockSignals(False)
            self.changed.emit(False)
            return
        self._say(str(result))
        self.changed.emit(True)

    def _restored(self, result: object) -> None:
        if isinstance(result, Exception):
            self._say(f"Cannot restore the system proxy: {result}", logging.WARNING)
        elif isinstance(result, Outcome) and result.message:
            self._say(result.message)
        self.changed.emit(False)

    def _recovered(self, result: object) -> None:
        if isinstance(result, Exception):
            self._say(f"Cannot restore the system proxy: {result}", logging.WARNING)
        elif isinstance(result, Outcome) and result.message:
            self._say(f"After the last run: {result.message[0].lower()}{result.message[1:]}")

    def _say(self, text: str, level: int = logging.INFO) -> None:
        log.log(level, "%s", text)
        self.message.emit(text)


def _target_of(address: str) -> ProxyTarget | None:
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return None
    return ProxyTarget.for_listener(host.strip("[]"), int(port))
