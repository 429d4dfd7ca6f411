"""Making Inspector the desktop's proxy, and undoing it: on toggle-off, on
quit, at the next start after a crash, or from a watchdog process that
outlives a killed window.

The order keeps a crash at any point recoverable: the state file (what was
there, what Inspector is about to write, the window's pid) is written and
synced before the first setting changes, and removed only after the last
one is restored. Whoever restores first removes it, so the window, the
next start and the watchdog never restore twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from inspector.core.sysproxy import (
    STATE_FILE,
    ProxyTarget,
    SavedState,
    choose_backend,
    restore_plan,
    state_from_json,
    state_to_json,
)
from inspector.sysproxy.backends import (
    Backend,
    GnomeBackend,
    KdeBackend,
    MacBackend,
    Runner,
    SystemProxyError,
    WindowsBackend,
    backend_named,
    run_command,
)

log = logging.getLogger(__name__)

WATCHDOG_COMMAND = "__sysproxy-watchdog__"
"""The hidden subcommand that runs the watchdog (a frozen build has no
``-m``)."""


def detect_backend(run: Runner = run_command) -> Backend | None:
    name = choose_backend(sys.platform, os.environ, lambda tool: shutil.which(tool) is not None)
    if name == "gnome":
        return GnomeBackend(run)
    if name == "kde":
        return KdeBackend(run)
    if name == "macos":
        return MacBackend(run)
    if name == "windows":
        return WindowsBackend()
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    restored: bool
    message: str
    """One line for the window's log and status bar."""


class SystemProxy:
    """The desktop's proxy setting, with its state file in ``confdir``."""

    def __init__(
        self,
        confdir: Path,
        backend: Backend | None,
        pid: int | None = None,
        run: Runner = run_command,
    ) -> None:
        self.state_path = confdir / STATE_FILE
        self.backend = backend
        self.pid = os.getpid() if pid is None else pid
        self._run = run

    @property
    def available(self) -> bool:
        return self.backend is not None

    @property
    def active(self) -> bool:
        """Whether a state file says the proxy is (or may be) Inspector's."""
        return self.state_path.exists()

    def enable(self, target: ProxyTarget) -> str:
        """Point the desktop at ``target``; SystemProxyError when it cannot.
        An earlier setting of ours (another address) is restored first."""
        backend = self.backend
        if backend is None:
            raise SystemProxyError("this desktop has no proxy setting Inspector can change")
        if self.active:
            self.restore()
        plan = backend.plan(target)
        saved = backend.read(list(plan))
        state = SavedState(backend.name, self.pid, target.authority, saved, plan)
        self._write_state(state)
        try:
            backend.write(plan)
        except SystemProxyError:
            # Half written: put back what was there, as far as it goes.
            with contextlib.suppress(SystemProxyError):
                backend.write(saved)
            self.state_path.unlink(missing_ok=True)
            raise
        message = f"The system proxy is now Inspector ({target.authority}, {backend.name})"
        log.info("%s", message)
        return message

    def restore(self) -> Outcome:
        """Put back what was there if it is still what Inspector wrote;
        the state file goes either way (the choice is made)."""
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Outcome(False, "")
        except OSError as exc:
            raise SystemProxyError(f"cannot read {self.state_path}: {exc.strerror}") from None
        try:
            state = state_from_json(text)
        except ValueError as exc:
            self.state_path.unlink(missing_ok=True)
            message = f"{self.state_path} is unreadable ({exc}); the system proxy is left as it is"
            log.warning("%s", message)
            return Outcome(False, message)
        backend = self.backend
        if backend is None or backend.name != state.backend:
            backend = backend_named(state.backend, self._run)
        current = backend.read(list(state.written))
        plan = restore_plan(state.saved, state.written, current)
        if plan.changed:
            self.state_path.unlink(missing_ok=True)
            message = (
                "The system proxy was changed since Inspector set it "
                f"({', '.join(plan.changed)}); left as it is"
            )
            log.warning("%s", message)
            return Outcome(False, message)
        backend.write(plan.values)
        self.state_path.unlink(missing_ok=True)
        message = "The system proxy is restored to what it was before Inspector"
        log.info("%s", message)
        return Outcome(True, message)

    def recover(self) -> Outcome | None:
        """At start: restore after a window that died with the proxy set
        (its pid gone). None when there is nothing to recover, or the
        window that set it is still running."""
        try:
            state = state_from_json(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return self.restore()
        if state.pid != self.pid and pid_alive(state.pid):
            return None
        return self.restore()

    def _write_state(self, state: SavedState) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w", encoding="utf-8") as file:
            file.write(state_to_json(state))
            file.flush()
            os.fsync(file.fileno())
        tmp.replace(self.state_path)

    def spawn_watchdog(self) -> subprocess.Popen[bytes] | None:
        """A detached process that restores the setting once this process
        ends without having done so (a crash, a kill -9)."""
        command = watchdog_command(["--pid", str(self.pid), "--state", str(self.state_path)])
        options: dict[str, object] = {}
        if sys.platform == "win32":
            flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
            options["creationflags"] = flags
        else:
            options["start_new_session"] = True
        try:
            return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                **options,
            )
        except OSError as exc:
            log.warning("cannot start the system proxy watchdog: %s", exc)
            return None


def watchdog_command(args: list[str]) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, WATCHDOG_COMMAND, *args]
    return [sys.executable, "-m", "inspector.sysproxy.watchdog", *args]


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one owned by another user
    counts: the id is taken)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
