"""The proxies the benchmark suite puts under load, as subprocesses.

Every mode is started the same way and answers the same questions (its
address, its CPU time so far), so a scenario can go through them one after
the other in one run. The modes:

- ``bare``: the minimal h11 proxy (``bare_proxy.py``), the floor;
- ``headless``: ``inspector --headless -q``;
- ``desktop``: the desktop app offscreen, live table and pressure panel,
  through ``gui_target.py`` (which adds the instrumentation and a command
  channel), its engine in a process of its own (the app's default);
  ``desktop-thread`` and ``desktop-qasync`` run the engine on a thread of
  the window's process and on the window's own loop (``--engine``); each
  has a ``-naive`` variant with ``--relay naive``;
- ``mitmdump``: the peer, from the suite's own virtualenv (``peers.py``).

Pipes are drained by threads so a chatty process never blocks on a full
pipe; lines a GUI target prints are kept for ``expect``. A desktop target
with an engine process counts that process too: its CPU time and RSS are
the two processes' together.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

DESKTOP_MODES = {
    "desktop": (),
    "desktop-naive": ("--relay", "naive"),
    "desktop-thread": ("--engine", "thread"),
    "desktop-thread-naive": ("--engine", "thread", "--relay", "naive"),
    "desktop-qasync": ("--engine", "qasync"),
    "desktop-qasync-naive": ("--engine", "qasync", "--relay", "naive"),
}
MODES = ("bare", "headless", "headless-naive", *DESKTOP_MODES, "mitmdump")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all threads) so far."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def process_rss_bytes(pid: int) -> int:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def inspector_launcher() -> list[str]:
    script = Path(sys.executable).parent / "inspector"
    return [str(script)] if script.exists() else [sys.executable, "-m", "inspector"]


class Proc:
    """A server subprocess; ready when it prints ``listening on HOST:PORT``
    (or, with ``port`` given, when that port accepts connections)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self.name = name
        self.argv = argv
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**os.environ, **(env or {})},
        )
        self.engine_pid: int | None = None
        """A desktop target's engine process, when it has one."""
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr_tail: list[str] = []
        threading.Thread(target=self._pump_out, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()
        if port is None:
            line = self.expect("listening on ", ready_timeout)
            self.address = line.split()[-1]
        else:
            self.address = f"127.0.0.1:{port}"
            self._wait_port(port, ready_timeout)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def _pump_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail = [*self.stderr_tail[-40:], line.rstrip("\n")]

    def _wait_port(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.name} did not start: {self.errors()}")

    def errors(self) -> str:
        return "\n".join(self.stderr_tail[-15:])

    def expect(self, prefix: str, timeout: float) -> str:
        """The next stdout line starting with ``prefix`` (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no '{prefix.strip()}' within {timeout:g} s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(5)
                raise RuntimeError(
                    f"{self.name} exited ({self.proc.returncode}) before '{prefix.strip()}': "
                    f"{self.errors()}"
                )
            if line.startswith(prefix):
                return line[len(prefix) :].strip() if prefix.endswith(" ") else line

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    @property
    def pids(self) -> list[int]:
        return [self.pid] if self.engine_pid is None else [self.pid, self.engine_pid]

    def cpu_seconds(self) -> float:
        """User plus system CPU time so far (all threads; with an engine
        process, both processes)."""
        return sum(map(process_cpu_seconds, self.pids))

    def rss_bytes(self) -> int:
        """Resident memory now (with an engine process, both together)."""
        return sum(map(process_rss_bytes, self.pids))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> float:
        """Signal the process and wait; returns the seconds until it exited."""
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipes()
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()


@dataclass
class Launch:
    """How to start one mode; ``extra`` goes to inspector's own options."""

    mode: str
    extra: list[str] = field(default_factory=list)
    bench: list[str] = field(default_factory=list)
    """Options for gui_target.py (desktop modes only)."""
    confdir: Path | None = None
    mitmdump: Path | None = None
    mitm_confdir: Path | None = None
    upstream_ca: Path | None = None


def split_mode(label: str) -> tuple[str, list[str]]:
    """``"desktop@--flush-ms 100"`` -> ``("desktop", ["--flush-ms", "100"])``:
    a mode with extra options for inspector, for experiments. A desktop
    mode may also carry ``#MODULE[:ARG]`` patches for ``gui_target.py``
    (``"desktop#tests.bench.my_patch:fast"``); they are not returned here."""
    label = label.split("#", 1)[0]
    mode, _, extra = label.partition("@")
    return mode, extra.split()


def patches(label: str) -> list[str]:
    """The ``--patch`` options a desktop mode label asks for."""
    return [arg for spec in label.split("#")[1:] for arg in ("--patch", spec)]


def start(launch: Launch) -> Proc:
    mode, more = split_mode(launch.mode)
    label = launch.mode
    common = ["--listen", "127.0.0.1:0"]
    if launch.confdir is not None:
        common += ["--confdir", str(launch.confdir)]
    if launch.upstream_ca is not None:
        common += ["--upstream-ca", str(launch.upstream_ca)]
    if mode == "bare":
        return Proc(label, [sys.executable, "-m", "tests.bench.bare_proxy"])
    if mode in ("headless", "headless-naive"):
        argv = [*inspector_launcher(), "--headless", "-q", *common, *launch.extra, *more]
        if mode == "headless-naive":
            argv += ["--relay", "naive"]
        return Proc(label, argv)
    if mode in DESKTOP_MODES:
        argv = [
            sys.executable,
            "-m",
            "tests.bench.gui_target",
            *launch.bench,
            *patches(label),
            "--",
            *common,
            *DESKTOP_MODES[mode],
            *launch.extra,
            *more,
        ]
        proc = Proc(label, argv, env={"QT_QPA_PLATFORM": "offscreen"})
        ready = json.loads(proc.expect("bench-ready ", READY_TIMEOUT))
        engine_pid = ready.get("engine_pid")
        if engine_pid is not None and engine_pid != proc.pid:
            proc.engine_pid = int(engine_pid)
        return proc
    if mode == "mitmdump":
        if launch.mitmdump is None or launch.mitm_confdir is None:
            raise RuntimeError("mitmdump is not installed (run with --peers mitmproxy)")
        port = free_port()
        argv = [
            str(launch.mitmdump),
            "-q",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--set",
            f"confdir={launch.mitm_confdir}",
        ]
        if launch.upstream_ca is not None:
            argv += ["--set", f"ssl_verify_upstream_trusted_ca={launch.upstream_ca}"]
        return Proc(label, argv + more, port=port)
    raise ValueError(f"unknown mode {mode!r}")


def wait_exit(proc: Proc, timeout: float) -> float:
    """Block until the process exits; return ``time.monotonic()`` then (NaN
    if it had to be killed). A blocking wait, not ``wait(timeout)``, which
    polls with sleeps of up to 50 ms."""
    watchdog = threading.Timer(timeout, proc.proc.kill)
    watchdog.start()
    try:
        code = proc.proc.wait()
        exited = time.monotonic()
    finally:
        watchdog.cancel()
    proc._close_pipes()
    return exited if code != -signal.SIGKILL else float("nan")


def quit_gui(proc: Proc, timeout: float = 15.0) -> float:
    """Ask a desktop target to quit; seconds from its quit to its exit."""
    proc.send("quit")
    quit_at = float(proc.expect("quit_at ", timeout))
    return wait_exit(proc, timeout) - quit_at


def stop(proc: Proc) -> None:
    mode, _ = split_mode(proc.name)
    if mode in DESKTOP_MODES:
        try:
            quit_gui(proc)
            return
        except (TimeoutError, RuntimeError, OSError):
            pass
    proc.stop(signal.SIGINT if mode in ("bare", "headless", "headless-naive") else signal.SIGTERM)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
