"""The soak: minutes of steady mixed traffic through the desktop app, offscreen,
watching that memory, descriptors and tasks level off in both its processes.

The app runs in a subprocess (``QT_QPA_PLATFORM=offscreen``, a throwaway
``--confdir``, ``--listen 127.0.0.1:0``, ``--upstream-ca`` for the local TLS
origin), built exactly as ``inspector`` builds it, with a probe added on the
GUI thread (``--app`` mode of this module). The app runs its engine in a
child process of its own (the default layout; ``--engine thread|qasync``
after ``--`` is measured too, with the two processes' figures then one).
Once a second the probe prints one ``soak-sample {json}`` line with both:

- the GUI process, read in place: RSS, open descriptors, threads, CPU,
  tasks on its qasync loop, and the lateness of a 100 ms timer on it (GUI
  loop lag); table rows;
- the engine process, through the protocol (``diagnostics``, as a script
  would ask it, with a timeout of ``ENGINE_TIMEOUT``: an engine that does
  not answer in time counts as not answering): its RSS, descriptors,
  threads, CPU, tasks on its loop, the lateness of its own 100 ms timer
  since the last sample (engine loop lag), the relay's depth, and the
  store's counters (flows held, last id, flows dropped, body bytes held,
  bodies dropped);
- the two together: RSS, descriptors, threads and CPU summed.

The driver (this process) serves an HTTP and an HTTPS origin on 127.0.0.1
and sends paced traffic through the proxy, about 200 requests a second:
small JSON GETs, POSTs of 1-64 KiB and a few 404s over kept-alive
connections and over a new connection per request, plain and through
CONNECT with TLS checked against the app's CA; 3 large downloads a second
(1-4 MiB, every 16th 16 MiB); and 2 faults a second (a download the client
cancels, a body the origin cuts short). After the traffic it closes
everything, origins included, waits for the app to let go of its
connections (the drain), asks the probe for a final count (the engine's
census of every flow it holds, ``diagnostics`` with ``census``) and quits
the app.

The body memory limit is set small (32 MiB) unless the warm-up alone brings
twice the app's default in bodies (10 minutes at the default rates), so that
the cap is full, and dropping, before the windows below are compared.
Likewise the flow cap (``--max-flows``) is set so that the traffic reaches
it in the first half of the warm-up: from then on every new flow drops the
oldest, in the engine's store and in the window's row mirror alike, the
flow count is level, and so must memory be.

Level-off criteria (``evaluate``), on the traffic phase split into warm-up
(the first quarter), a middle window and a late window (halves of the rest),
each compared by medians, not maxima, so that a large download in flight at
the wrong moment does not decide the verdict (samples in which the engine
did not answer are left out of the engine's figures):

- Memory: the RSS of both processes together less the bodies the engine's
  store counts may grow from the middle to the late window by
  ``RSS_SLACK`` + ``RSS_PER_FLOW`` per flow added. At the flow cap no flow
  is added, so only the slack is allowed; below it (``--max-flows``
  raised, or ``app`` for the app's default) every flow's metadata stays,
  in the engine and as a row in the window, and RSS rises with the flow
  count: measured 1.3 KiB a flow over 10 minutes in one process, 4-6 KiB a
  flow in the first minute while the allocator settles; 6 KiB a flow and
  16 MiB of slack (up to 12 MiB was seen between the medians in 30 s runs,
  both processes together) leave room for noise yet fail a leak of 16 KiB
  a request in 30 s, in either process, finer ones over 10 minutes.
  Uncounted bodies (this traffic brings about 8 MiB a second) fail at once.
  Each process's share is reported beside the sum.
- Flows: past the cap the store holds exactly the cap, every flow made is
  held or counted in ``flows_dropped``, and the table shows as many rows
  as the store holds.
- Bodies: those held (the store's ``body_bytes``) stay within the body
  memory limit plus one large body; and once more than twice the limit
  went by, ``bodies_dropped`` must be above zero: dropping is counted,
  never silent.
- Descriptors, tasks and threads, each process on its own (the engine's
  follow the open connections, about 20 here; the window's should not move
  at all): median(late) - median(middle) within a small band (16
  descriptors, 16 tasks, 8 threads); and after the drain, the engine's
  descriptors and tasks and the window's descriptors are back within 4 of
  the idle baseline. A leak of one descriptor or task per 100 requests in
  either process already fails both (about 2,000 requests go by between
  the middle and late medians of a 30 s run).
- Traffic: at least half the target rate got through and under 1 % failed,
  so a quiet run cannot pass by accident; the app exits 0 with no traceback.
- Loop lag: p99 of the GUI and engine timers' lateness reported, and only
  a frozen loop fails (p99 over a second, or the engine not answering the
  probe within ``ENGINE_TIMEOUT`` in more than 1 % of the samples).

``--patch MODULE`` has the app call ``MODULE.apply()`` first, in the
window's process and in the engine's (started through
``tests/bench/engine_wrapper.py``): a way to plant a leak and see the soak
fail, or to measure a change.

Run as ``python -m tests.soak.soak --seconds N [--json PATH]``; it prints a
table every few seconds and a verdict line, and exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import json
import math
import os
import random
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import h11

from inspector.core.certs import CertStore
from inspector.core.settings import ProxySettings
from tests.proxy.harness import Origin, Received, Reply

if TYPE_CHECKING:
    from inspector.app import DesktopApp
    from inspector.options import Options

KiB = 1024
MiB = 1024 * KiB
ROOT = Path(__file__).resolve().parents[2]

SAMPLE_SECONDS = 1.0
LAG_TICK = 0.1
"""Interval of the timers whose lateness is the loop lag."""
ENGINE_TIMEOUT = 2.0
"""How long the probe waits for the engine's diagnostics."""

WARMUP_FRACTION = 0.25
RSS_SLACK = 16 * MiB
"""Allocator noise between two windows' medians (seen: up to 12 MiB in 30 s)."""
RSS_PER_FLOW = 6 * KiB
"""Flow metadata kept forever (seen: 1.3 KiB/flow over 10 min, up to 5 at first)."""
BODY_SLACK = 16 * MiB
"""One largest body, which may be counted while it is still arriving."""
FD_SLACK = 16
TASK_SLACK = 16
THREAD_SLACK = 8
DRAIN_FD_SLACK = 4
DRAIN_TASK_SLACK = 4
DRAIN_TIMEOUT = 20.0
"""The engine sweeps idle pooled connections every 5 s."""
LAG_P99_LIMIT = 1.0
MIN_RATE_FRACTION = 0.5
MAX_ERROR_RATIO = 0.01
STDERR_PROBLEMS = ("Traceback", " ERROR ", " CRITICAL ", "Exception ignored", "Fatal Python")

SMALL_TIMEOUT = 15.0
LARGE_TIMEOUT = 60.0
CLOSE_TIMEOUT = 2.0
STOP_GRACE = 10.0
MAX_REQUESTS_PER_CONNECTION = 100
LARGE_SIZES = (1 * MiB, 4 * MiB)
HUGE_SIZE = 16 * MiB
HUGE_EVERY = 16
LARGE_CAPTURED_MEAN = (HUGE_EVERY - 1) / HUGE_EVERY * 2.5 * MiB + 8 * MiB / HUGE_EVERY
"""Mean body kept per large download (a 16 MiB one keeps the 8 MiB capture limit)."""
SMALL_BODY_LIMIT = 32 * MiB
MIN_MAX_FLOWS = 1000
FAULT_SIZE = 1 * MiB
FAULT_READ = 128 * KiB
READ_SIZE = 256 * KiB
_CHUNK = bytes(64 * KiB)
_PAYLOAD = b"0123456789abcdef" * (4 * KiB)


def _say(name: str, payload: object) -> None:
    print(f"{name} {json.dumps(payload)}", flush=True)


# The app side: runs in the subprocess, on the app's GUI thread.


class _Probe:
    """Samples the app once a second, the GUI process in place and the
    engine through the protocol, and answers the driver's commands
    (``final``, ``quit``; end of input quits too)."""

    def __init__(self, app: DesktopApp) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.app = app
        self._gui_lag: list[float] = []
        self._last_tick = 0.0
        self._timer = QTimer(app.window)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(round(LAG_TICK * 1000))
        self._timer.timeout.connect(self._tick)
        self._loop = asyncio.get_running_loop()
        self._shared = False
        """The engine runs in this process (``--engine thread|qasync``)."""

    async def start(self) -> None:
        engine = await self._engine(ENGINE_TIMEOUT * 5) or {}
        self._shared = engine.get("pid") == os.getpid()
        self._last_tick = time.perf_counter()
        self._timer.start()
        self.app.tasks.spawn(self._sample_forever(), "The soak probe")
        threading.Thread(target=self._read_commands, name="soak-commands", daemon=True).start()
        proxy = self.app.settings.proxy
        _say(
            "soak-config",
            {
                "pid": os.getpid(),
                "engine_pid": engine.get("pid"),
                "engine": self.app.options.engine,
                "body_capture_limit": proxy.body_capture_limit,
                "body_memory_limit": proxy.body_memory_limit,
                "max_flows": engine.get("max_flows"),
                "store_counts_bodies": "body_bytes" in engine,
                "store_counts_drops": "bodies_dropped" in engine,
            },
        )

    def _tick(self) -> None:
        now = time.perf_counter()
        self._gui_lag.append(max(0.0, now - self._last_tick - LAG_TICK))
        self._last_tick = now

    async def _engine(self, timeout: float, **args: Any) -> dict[str, Any] | None:
        """The engine's diagnostics, or None when it does not answer in time."""
        from inspector.link.channel import ChannelClosed
        from inspector.link.client import EngineError

        try:
            result = await asyncio.wait_for(self.app.link.request("diagnostics", **args), timeout)
        except (TimeoutError, ChannelClosed, EngineError):
            return None
        return dict(result)

    async def _sample_forever(self) -> None:
        next_at = time.monotonic()
        while True:
            next_at += SAMPLE_SECONDS
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            _say("soak-sample", await self.sample())

    async def sample(self) -> dict[str, Any]:
        started = time.perf_counter()
        engine = await self._engine(ENGINE_TIMEOUT)
        engine_rtt = time.perf_counter() - started
        gui_lag, self._gui_lag = self._gui_lag, []
        gui = _process_figures()
        sample: dict[str, Any] = {
            "mono": time.monotonic(),
            **{f"gui_{key}": value for key, value in gui.items()},
            "gui_tasks": len(asyncio.all_tasks(self._loop)),
            "gui_lag_ms": [round(lag * 1e3, 1) for lag in gui_lag],
            "rows": self.app.window.model.rowCount(),
            "engine_ok": engine is not None,
            "engine_rtt_ms": round(engine_rtt * 1e3, 2),
        }
        if engine is None:
            # Not answering counts under loop lag; its figures are unknown.
            sample.update({key: None for key in ENGINE_KEYS})
            sample.update(engine_tasks=-1, engine_lag_ms=[])
            sample.update({key: None for key in SUMMED})
            return sample
        sample.update(
            {
                **{f"engine_{key}": engine.get(key) for key in PROCESS_KEYS},
                "engine_tasks": engine["tasks"],
                "engine_lag_ms": engine["loop_lag_ms"],
                "relay_depth": engine["relay_depth"],
                **{key: engine[key] for key in STORE_KEYS},
            }
        )
        for key in SUMMED:
            mine, theirs = sample[f"gui_{key}"], sample[f"engine_{key}"]
            sample[key] = mine if self._shared or theirs is None else mine + theirs
        return sample

    async def final(self) -> dict[str, Any]:
        """The engine's census of every flow it holds, its counters, and
        both processes' memory; the window's rows and its commonest objects."""
        engine = await self._engine(60.0, census=True)
        gui_rss = _rss()
        objects = _object_counts()
        if engine is None:
            return {"engine": "did not answer", "rows": self.app.window.model.rowCount()}
        census = engine["census"]
        engine_rss = 0 if self._shared else engine["rss"]
        return {
            "flows": engine["flows"],
            "states": census["states"],
            "errors": census["errors"],
            "bodies_held": engine["body_bytes"],
            "bodies_scanned": census["bodies_held"],
            "bodies_dropped": engine["bodies_dropped"],
            "bodies_on_disk": engine.get("bodies_on_disk", 0),
            "flows_dropped": engine["flows_dropped"],
            "last_id": engine["last_id"],
            "rows": self.app.window.model.rowCount(),
            "mirror_rows": len(self.app.mirror),
            "rss": gui_rss + engine_rss,
            "gui_rss": gui_rss,
            "engine_rss": engine_rss,
            "gui_objects": objects,
        }

    def _read_commands(self) -> None:
        for line in sys.stdin:
            self._post(line.strip())
        self._post("quit")

    def _post(self, command: str) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            self._loop.call_soon_threadsafe(self._command, command)

    def _command(self, command: str) -> None:
        if command == "final":
            self.app.tasks.spawn(self._final(), "The soak's final count")
        elif command == "quit":
            self.app.quit(0)

    async def _final(self) -> None:
        _say("soak-final", await self.final())


PROCESS_KEYS = ("rss", "rss_anon", "cpu", "fds", "threads")
"""What each process reports of itself (the engine in ``diagnostics``)."""
SUMMED = ("rss", "rss_anon", "cpu", "fds", "threads")
"""Figures also given for both processes together."""
STORE_KEYS = ("flows", "last_id", "flows_dropped", "bodies_dropped", "body_bytes", "max_flows")
ENGINE_KEYS = (*(f"engine_{key}" for key in PROCESS_KEYS), "relay_depth", *STORE_KEYS)


def _process_figures() -> dict[str, Any]:
    """This process's memory, descriptors, threads and CPU seconds, as the
    engine reports its own."""
    return {
        "rss": _rss(),
        "rss_anon": _status_kib("RssAnon") * KiB,
        "cpu": round(sum(os.times()[:2]), 3),
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": len(os.listdir("/proc/self/task")),
    }


def _object_counts(top: int = 15) -> dict[str, int]:
    """The most numerous kinds of objects the collector tracks: what grows
    with the flows, for a report. The app's collector policy freezes
    survivors, which ``gc.get_objects`` skips, so they are thawed first (the
    app is about to quit)."""
    import gc

    gc.unfreeze()
    counts = Counter(type(obj).__name__ for obj in gc.get_objects())
    return dict(counts.most_common(top))


def _rss() -> int:
    from inspector.core.memory import rss_bytes

    return rss_bytes()


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def app_main(argv: list[str]) -> int:
    """``--app [--body-memory-limit B] [--body-capture-limit B] -- ARGS``:
    the desktop app as ``inspector ARGS`` runs it, plus the probe."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import logging

    from inspector import app as app_module
    from inspector import cli
    from tests.bench import engine_wrapper

    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="tests.soak.soak --app")
    parser.add_argument("--body-memory-limit", type=int)
    parser.add_argument("--body-capture-limit", type=int)
    parser.add_argument("--patch", action="append", default=[])
    ours = parser.parse_args(argv[:split])
    for name in ours.patch:
        importlib.import_module(name).apply()
    if ours.patch:
        engine_wrapper.use(ours.patch)
    logging.basicConfig(
        level=logging.WARNING, format="inspector: %(levelname)s %(name)s: %(message)s"
    )
    args = cli.build_parser().parse_args(argv[split + 1 :])
    options = cli.options_from(args, listen_given=args.listen is not None)
    _apply_limits(options, ours.body_memory_limit, ours.body_capture_limit)
    base = app_module.DesktopApp

    class SoakApp(base):  # type: ignore[misc, valid-type]
        async def main(self) -> int:
            async def when_ready() -> None:
                await self.ready.wait()
                self.probe = _Probe(self)
                await self.probe.start()

            self.tasks.spawn(when_ready(), "Starting the soak probe")
            return await super().main()

    app_module.DesktopApp = SoakApp  # type: ignore[misc]
    return app_module.run(options)


def _apply_limits(options: Options, memory_limit: int | None, capture_limit: int | None) -> None:
    options.persist = False
    proxy = options.settings.proxy
    if capture_limit is not None:
        proxy.body_capture_limit = capture_limit
    if memory_limit is not None:
        proxy.body_memory_limit = memory_limit


# The traffic: origins, clients and paced workers, in the driver's process.


async def _answer(req: Received) -> Reply:
    path, _, query = req.target.partition(b"?")
    if path.startswith(b"/bytes/"):
        size = int(path[len(b"/bytes/") :])
        full, rest = divmod(size, len(_CHUNK))
        chunks = [_CHUNK] * full + ([_CHUNK[:rest]] if rest else [])
        headers = [(b"Content-Type", b"application/octet-stream")]
        return Reply(200, [*headers, (b"Content-Length", str(size).encode())], chunks)
    if path.startswith(b"/cut/"):
        size = int(path[len(b"/cut/") :])
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode()
        return head + bytes(size // 2)  # then the origin hangs up
    if path == b"/json":
        size = max(int(query.partition(b"=")[2] or b"512"), 16)
        body = b'{"pad": "' + b"x" * (size - 11) + b'"}'
    elif path == b"/submit" and req.method == b"POST":
        body = json.dumps({"received": req.size}).encode()
    else:
        return Reply(404, [(b"Content-Length", b"10")], b"not found\n")
    return Reply(
        200,
        [(b"Content-Type", b"application/json"), (b"Content-Length", str(len(body)).encode())],
        body,
    )


class _Conn:
    """One client connection to the proxy: absolute-form requests, or a
    CONNECT tunnel with TLS and origin-form requests inside."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.authority = authority
        self.tunnel = False
        self.used = 0
        self.h11 = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, proxy: int, origin: int, tls: ssl.SSLContext | None) -> _Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy, limit=READ_SIZE)
        conn = cls(reader, writer, f"127.0.0.1:{origin}")
        if tls is None:
            return conn
        conn.tunnel = True
        try:
            writer.write(
                f"CONNECT {conn.authority} HTTP/1.1\r\nHost: {conn.authority}\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                status_line = head.split(b"\r\n", 1)[0]
                raise ConnectionError(f"CONNECT answered {status_line!r}")
            await writer.start_tls(tls, server_hostname="127.0.0.1")
        except BaseException:
            writer.transport.abort()
            raise
        return conn

    async def request(self, method: str, path: str, body: bytes, close: bool) -> tuple[int, int]:
        """Send one request, read the whole answer; (status, body bytes)."""
        target = path if self.tunnel else f"http://{self.authority}{path}"
        headers = [(b"Host", self.authority.encode()), (b"User-Agent", b"inspector-soak/1")]
        if body:
            headers += [
                (b"Content-Type", b"application/json"),
                (b"Content-Length", str(len(body)).encode()),
            ]
        if close:
            headers.append((b"Connection", b"close"))
        data = self.h11.send(h11.Request(method=method, target=target, headers=headers)) or b""
        if body:
            data += self.h11.send(h11.Data(data=body)) or b""
        data += self.h11.send(h11.EndOfMessage()) or b""
        self.writer.write(data)
        await self.writer.drain()
        status = received = 0
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(await self.reader.read(READ_SIZE))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                received += len(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the proxy closed the connection mid-answer")
        self.used += 1
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
        return status, received

    async def hang_up_after(self, path: str, enough: int) -> int:
        """GET ``path``, read at least ``enough`` bytes of body, then abort
        the connection: a download cancelled by the user."""
        target = path if self.tunnel else f"http://{self.authority}{path}"
        headers = [(b"Host", self.authority.encode()), (b"User-Agent", b"inspector-soak/1")]
        self.writer.write(
            (self.h11.send(h11.Request(method="GET", target=target, headers=headers)) or b"")
            + (self.h11.send(h11.EndOfMessage()) or b"")
        )
        received = 0
        while received < enough:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(await self.reader.read(READ_SIZE))
            elif isinstance(event, h11.Data):
                received += len(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                raise ValueError(f"{path} ended after {received} bytes")
        self.writer.transport.abort()
        return received

    @property
    def reusable(self) -> bool:
        return self.h11.our_state is h11.IDLE and self.used < MAX_REQUESTS_PER_CONNECTION

    async def close(self) -> None:
        self.writer.close()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.writer.wait_closed()
        except (OSError, TimeoutError, ssl.SSLError):
            self.writer.transport.abort()


@dataclass(frozen=True)
class Lane:
    """Workers sending one kind of traffic, together at ``rate`` a second."""

    name: str
    tls: bool
    workers: int
    rate: float
    keepalive: bool
    kind: str
    """``small`` (JSON GETs, POSTs, 404s), ``large`` (downloads) or ``fault``
    (downloads the client cancels, and bodies the origin cuts short)."""


def lanes_for(rate: float, large_rate: float, fault_rate: float) -> list[Lane]:
    return [
        Lane("http", False, 6, 0.50 * rate, True, "small"),
        Lane("https", True, 4, 0.30 * rate, True, "small"),
        Lane("http-new", False, 2, 0.12 * rate, False, "small"),
        Lane("https-new", True, 2, 0.08 * rate, False, "small"),
        Lane("http-large", False, 2, 0.6 * large_rate, True, "large"),
        Lane("https-large", True, 2, 0.4 * large_rate, True, "large"),
        Lane("http-fault", False, 1, 0.5 * fault_rate, False, "fault"),
        Lane("https-fault", True, 1, 0.5 * fault_rate, False, "fault"),
    ]


@dataclass
class LaneStats:
    ok: int = 0
    errors: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    connections: int = 0
    late: int = 0
    """Requests that could not start on time (the proxy or this driver lagged)."""
    kinds: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)

    def failed(self, exc: BaseException) -> None:
        self.errors += 1
        self.kinds[type(exc).__name__] += 1
        if len(self.messages) < 5:
            self.messages.append(f"{type(exc).__name__}: {exc}")


class Traffic:
    """Paced workers: each sends a request, then waits for its next slot, so
    the rate stays steady and concurrency is bounded by the worker count."""

    def __init__(self, lanes: list[Lane], seed: int) -> None:
        self.lanes = lanes
        self.seed = seed
        self.stats = {lane.name: LaneStats() for lane in lanes}
        self.stopping = False
        self.crashes: list[str] = []
        """Workers that died of an exception the soak did not expect."""
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, proxy: int, http: int, https: int, tls: ssl.SSLContext) -> None:
        for lane in self.lanes:
            for index in range(lane.workers if lane.rate > 0 else 0):
                port, context = (https, tls) if lane.tls else (http, None)
                rng = random.Random(f"{self.seed}-{lane.name}-{index}")
                worker = self._work(lane, rng, proxy, port, context)
                self._tasks.append(asyncio.get_running_loop().create_task(worker))

    async def stop(self) -> None:
        self.stopping = True
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE)
        for task in pending:
            task.cancel()
        for result in await asyncio.gather(*self._tasks, return_exceptions=True):
            if isinstance(result, Exception):
                self.crashes.append(f"{type(result).__name__}: {result}")
        self._tasks.clear()

    def totals(self) -> tuple[int, int, int]:
        stats = self.stats.values()
        return (
            sum(s.ok for s in stats),
            sum(s.errors for s in stats),
            sum(s.bytes_in + s.bytes_out for s in stats),
        )

    async def _work(
        self, lane: Lane, rng: random.Random, proxy: int, port: int, tls: ssl.SSLContext | None
    ) -> None:
        stats = self.stats[lane.name]
        interval = lane.workers / lane.rate
        next_at = time.monotonic() + rng.random() * interval
        conn: _Conn | None = None
        count = 0
        try:
            while not self.stopping:
                now = time.monotonic()
                if next_at > now:
                    await asyncio.sleep(next_at - now)
                elif now - next_at > interval:
                    stats.late += 1
                    next_at = now
                next_at += interval
                if self.stopping:
                    break
                count += 1
                method, path, body, expected = _pick(lane, rng, count)
                try:
                    async with asyncio.timeout(
                        SMALL_TIMEOUT if lane.kind == "small" else LARGE_TIMEOUT
                    ):
                        if conn is None:
                            conn = await _Conn.open(proxy, port, tls)
                            stats.connections += 1
                        if lane.kind == "fault":
                            size = await _fault(conn, path)
                            conn = None
                        else:
                            status, size = await conn.request(
                                method, path, body, not lane.keepalive
                            )
                            if status != expected[0] or expected[1] not in (-1, size):
                                raise ValueError(f"{path} answered {status} with {size} bytes")
                    stats.ok += 1
                    stats.bytes_in += size
                    stats.bytes_out += len(body)
                    if conn is not None and (not lane.keepalive or not conn.reusable):
                        await conn.close()
                        conn = None
                except (OSError, EOFError, ssl.SSLError, h11.ProtocolError, ValueError) as exc:
                    stats.failed(exc)
                    if conn is not None:
                        conn.writer.transport.abort()
                        conn = None
                    await asyncio.sleep(min(interval, 0.5))
        finally:
            if conn is not None:
                await conn.close()


async def _fault(conn: _Conn, path: str) -> int:
    """A cancelled download or a cut body; the bytes received. Either way
    the connection is gone afterwards."""
    if path.startswith("/bytes/"):
        return await conn.hang_up_after(path, FAULT_READ)
    try:
        status, size = await conn.request("GET", path, b"", True)
    except (ConnectionError, ssl.SSLError, h11.RemoteProtocolError):
        return 0
    finally:
        conn.writer.transport.abort()
    if status != 502:
        raise ValueError(f"{path} was cut by the origin but answered {status}, {size} bytes")
    return size


def _pick(lane: Lane, rng: random.Random, count: int) -> tuple[str, str, bytes, tuple[int, int]]:
    """(method, path, body, (status, body size or -1)) for the next request."""
    if lane.kind == "fault":
        return "GET", f"/cut/{FAULT_SIZE}" if count % 2 else f"/bytes/{FAULT_SIZE}", b"", (0, -1)
    if lane.kind == "large":
        size = HUGE_SIZE if count % HUGE_EVERY == 0 else rng.randint(*LARGE_SIZES)
        return "GET", f"/bytes/{size}", b"", (200, size)
    draw = rng.random()
    if draw < 0.70:
        size = rng.randint(200, 4000)
        return "GET", f"/json?size={size}", b"", (200, size)
    if draw < 0.95:
        return "POST", "/submit", _PAYLOAD[: rng.randint(1 * KiB, 64 * KiB)], (200, -1)
    return "GET", "/missing", b"", (404, -1)


# The driver: starts the app and the traffic, samples, evaluates.


@dataclass
class SoakConfig:
    seconds: float = 600.0
    rate: float = 200.0
    """Small requests a second, all lanes together."""
    large_rate: float = 3.0
    """Large downloads a second."""
    fault_rate: float = 2.0
    """Cancelled downloads and cut bodies a second."""
    body_memory_limit: int | str = "auto"
    """Bytes, ``app`` (the app's default) or ``auto`` (see ``body_limit_for``)."""
    body_capture_limit: int | None = None
    max_flows: int | str = "auto"
    """Flows the app keeps: a number, ``app`` (its default) or ``auto``
    (see ``max_flows_for``)."""
    idle: float = 3.0
    every: float | None = None
    """Seconds between table rows (default: about 20 rows a run)."""
    rss_ceiling: int | None = None
    """Stop early above this RSS (default: 4 GiB or half the free memory)."""
    seed: int = 1
    patches: list[str] = field(default_factory=list)
    """Modules whose ``apply()`` the app calls first: a way to check that the
    soak catches a leak planted on purpose, or to measure a change."""


@dataclass
class Check:
    name: str
    ok: bool | None
    """None: not applicable to this build of the app."""
    detail: str


class _AppProcess:
    """The app subprocess: its samples, its final report, its stderr."""

    def __init__(self, proc: asyncio.subprocess.Process, on_sample: Callable[[dict], None]):
        self.proc = proc
        self.on_sample = on_sample
        self.port = 0
        self.config: dict[str, Any] = {}
        self.final: dict[str, Any] | None = None
        self.stderr: list[str] = []
        self.listening = asyncio.Event()
        self.got_final = asyncio.Event()
        self._readers = [
            asyncio.get_running_loop().create_task(self._read_stdout()),
            asyncio.get_running_loop().create_task(self._read_stderr()),
        ]

    @classmethod
    async def start(
        cls, confdir: Path, upstream_ca: Path, config: SoakConfig, on_sample: Callable[[dict], None]
    ) -> _AppProcess:
        ours = []
        limit = body_limit_for(config)
        if limit is not None:
            ours += ["--body-memory-limit", str(limit)]
        if config.body_capture_limit is not None:
            ours += ["--body-capture-limit", str(config.body_capture_limit)]
        for patch in config.patches:
            ours += ["--patch", patch]
        inspector_args = ["--listen", "127.0.0.1:0", "--confdir", str(confdir)]
        cap = max_flows_for(config)
        if cap is not None:
            inspector_args += ["--max-flows", str(cap)]
        inspector_args += ["--upstream-ca", str(upstream_ca)]
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", INSPECTOR_HOME=str(confdir))
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "tests.soak.soak", "--app", *ours, "--", *inspector_args],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=env,
            limit=4 * MiB,
        )
        return cls(proc, on_sample)

    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            name, _, payload = line.partition(" ")
            if name == "soak-sample":
                self.on_sample(json.loads(payload))
            elif name == "soak-config":
                self.config = json.loads(payload)
            elif name == "soak-final":
                self.final = json.loads(payload)
                self.got_final.set()
            elif line.startswith("listening on "):
                self.port = int(line.rpartition(":")[2])
                self.listening.set()
        self.listening.set()
        self.got_final.set()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.stderr.append(raw.decode(errors="replace").rstrip())

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def send(self, command: str) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.write(command.encode() + b"\n")

    async def quit(self, timeout: float = 30.0) -> tuple[int | None, float]:
        """Ask the app to quit; (exit status or None if it had to be killed,
        seconds it took)."""
        started = time.monotonic()
        self.send("quit")
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        code: int | None
        try:
            async with asyncio.timeout(timeout):
                code = await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            code = None
        await asyncio.gather(*self._readers, return_exceptions=True)
        return code, time.monotonic() - started


class Soak:
    """One soak run: phases, samples and the printed table."""

    def __init__(self, config: SoakConfig, out: TextIO | None) -> None:
        self.config = config
        self.out = out
        self.lanes = lanes_for(config.rate, config.large_rate, config.fault_rate)
        self.traffic = Traffic(self.lanes, config.seed)
        self.phase = "start"
        self.t0 = 0.0
        self.samples: list[dict[str, Any]] = []
        self.every = config.every or max(1.0, round(config.seconds / 20))
        self._row_at = 0.0
        self._row_prev: dict[str, Any] | None = None
        self._row_lags: tuple[list[float], list[float]] = ([], [])
        self._idle_cpu = 0.0
        self.stopped_early = ""

    def print(self, text: str) -> None:
        if self.out is not None:
            print(text, file=self.out, flush=True)

    def on_sample(self, sample: dict[str, Any]) -> None:
        ok, errors, moved = self.traffic.totals()
        sample.update(phase=self.phase, t=round(sample["mono"] - self.t0, 2))
        sample.update(ok=ok, errors=errors, bytes=moved)
        self.samples.append(sample)
        self._row_lags[0].extend(sample["gui_lag_ms"])
        self._row_lags[1].extend(sample["engine_lag_ms"])
        if self.phase in ("traffic", "drain") and sample["t"] >= self._row_at:
            self._print_row(sample)
            self._row_at = sample["t"] + self.every - 0.5

    def _print_row(self, sample: dict[str, Any]) -> None:
        if self._row_prev is None:
            self.print(
                f"{'t s':>6} {'phase':>7} {'req/s':>6} {'err':>4} {'flows':>7} {'rows':>7}"
                f" {'RSS MiB gui+eng':>16} {'fds g/e':>9} {'thr g/e':>7} {'tasks g/e':>10}"
                f" {'GUI lag p99/max ms':>19} {'eng lag max':>11} {'body MiB':>9}"
                f" {'dropped':>8} {'cpu %':>6}"
            )
        prev = self._row_prev or {"mono": self.t0, "ok": 0, "cpu": self._idle_cpu}
        elapsed = max(sample["mono"] - prev["mono"], 1e-9)
        rate = (sample["ok"] - prev["ok"]) / elapsed
        cpu = (
            f"{(sample['cpu'] - prev['cpu']) / elapsed * 100:6.0f}"
            if sample["cpu"] is not None and prev["cpu"] is not None
            else f"{'?':>6}"
        )
        gui, engine = self._row_lags

        def shown(key: str, scale: float = 1.0, spec: str = ".0f") -> str:
            value = sample.get(key)
            return "?" if value is None or value < 0 else f"{value / scale:{spec}}"

        memory = f"{shown('gui_rss', MiB)}+{shown('engine_rss', MiB)}"
        self.print(
            f"{sample['t']:6.0f} {sample['phase']:>7} {rate:6.0f} {sample['errors']:4d}"
            f" {shown('flows'):>7} {sample['rows']:7d} {memory:>16}"
            f" {shown('gui_fds') + '/' + shown('engine_fds'):>9}"
            f" {shown('gui_threads') + '/' + shown('engine_threads'):>7}"
            f" {sample['gui_tasks']:>4}/{sample['engine_tasks']:<5}"
            f" {_pct(gui, 0.99):9.1f}/{max(gui, default=0):<9.1f}"
            f" {max(engine, default=0):11.1f}"
            f" {shown('body_bytes', MiB, '.1f'):>9} {shown('bodies_dropped'):>8} {cpu}"
        )
        self._row_prev = sample
        self._row_lags = ([], [])

    async def run(self) -> dict[str, Any]:
        config = self.config
        with (
            tempfile.TemporaryDirectory(prefix="inspector-soak-") as tmp,
            contextlib.ExitStack() as certs,
        ):
            confdir = Path(tmp) / "conf"
            app_ca = certs.enter_context(CertStore.load_or_create(confdir))
            origin_ca = certs.enter_context(CertStore.load_or_create(Path(tmp) / "origin-ca"))
            client_tls = ssl.create_default_context(cafile=str(app_ca.ca_cert_path))
            origins = (
                Origin(_answer, keep_bodies=False),
                Origin(_answer, keep_bodies=False, tls=origin_ca.server_context("127.0.0.1")),
            )
            for origin in origins:
                await origin.__aenter__()
            app: _AppProcess | None = None
            try:
                app = await _AppProcess.start(
                    confdir, origin_ca.ca_cert_path, config, self.on_sample
                )
                baseline, seconds, drain = await self._drive(app, origins, client_tls)
                code, quit_seconds = await app.quit()
            finally:
                await self.traffic.stop()
                for origin in origins:
                    await origin.__aexit__(None, None, None)
                if app is not None and app.alive:
                    app.proc.kill()
                    await app.quit(5)
        checks = evaluate(
            self.samples, baseline, drain, app.final, app.config, self.traffic, config, seconds
        )
        problems = [line for line in app.stderr if any(word in line for word in STDERR_PROBLEMS)]
        checks.append(
            Check(
                "app health",
                code == 0 and not problems and not self.stopped_early,
                f"exit status {code} after {quit_seconds:.1f} s, {len(problems)} errors on stderr"
                + (f"; stopped early: {self.stopped_early}" if self.stopped_early else ""),
            )
        )
        return {
            "verdict": "PASS" if all(c.ok is not False for c in checks) else "FAIL",
            "config": {
                **dataclasses.asdict(config),
                "body_memory_limit": body_limit_for(config),
                "max_flows": max_flows_for(config),
            },
            "app": app.config,
            "baseline": baseline,
            "drain": drain,
            "final": app.final,
            "exit_status": code,
            "quit_seconds": quit_seconds,
            "traffic_seconds": seconds,
            "lanes": {
                lane.name: {
                    **dataclasses.asdict(lane),
                    **_lane_stats(self.traffic.stats[lane.name]),
                }
                for lane in self.lanes
            },
            "worker_crashes": self.traffic.crashes,
            "origin_connections": {origin.base: origin.connections for origin in origins},
            "checks": [dataclasses.asdict(c) for c in checks],
            "stderr_tail": app.stderr[-30:],
            "samples": self.samples,
        }

    async def _drive(
        self, app: _AppProcess, origins: tuple[Origin, Origin], tls: ssl.SSLContext
    ) -> tuple[dict[str, Any], float, dict[str, Any]]:
        """Idle, traffic, drain, final count: (idle baseline sample, seconds
        of traffic, drain summary)."""
        config = self.config
        ceiling = config.rss_ceiling or min(4096 * MiB, _mem_available() // 2)
        async with asyncio.timeout(60):
            await app.listening.wait()
            while not self.samples and app.alive:
                await asyncio.sleep(0.1)
        if not app.port or not self.samples:
            raise RuntimeError("the app did not start:\n" + "\n".join(app.stderr[-20:]))
        self.phase = "idle"
        self.t0 = time.monotonic()
        await asyncio.sleep(config.idle)
        baseline = await self._answered(app)
        self._idle_cpu = baseline["cpu"]

        self.phase = "traffic"
        self.t0 = time.monotonic()
        self.traffic.start(app.port, origins[0].port, origins[1].port, tls)
        while time.monotonic() - self.t0 < config.seconds:
            await asyncio.sleep(0.5)
            for origin in origins:
                origin.requests.clear()  # the harness keeps every request
            if not app.alive:
                self.stopped_early = "the app exited during the traffic"
                break
            if (self.samples[-1]["rss"] or 0) > ceiling:
                self.stopped_early = f"RSS went over the ceiling of {ceiling / MiB:.0f} MiB"
                break
        seconds = time.monotonic() - self.t0
        self.phase = "stopping"
        await self.traffic.stop()

        self.phase = "drain"
        for origin in origins:
            await origin.__aexit__(None, None, None)
        drain = await self._drain(app, baseline)
        if app.alive:
            app.send("final")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(60):
                    await app.got_final.wait()
        self.phase = "quit"
        return baseline, seconds, drain

    async def _answered(self, app: _AppProcess) -> dict[str, Any]:
        """The latest sample in which the engine answered (waiting for the
        next ones a little if need be)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and app.alive:
            if self.samples[-1]["engine_ok"]:
                break
            await asyncio.sleep(0.2)
        return dict(self.samples[-1])

    async def _drain(self, app: _AppProcess, baseline: dict[str, Any]) -> dict[str, Any]:
        """Wait until descriptors and tasks are back near the idle baseline
        (or the timeout); return the last sample and how long."""
        started = time.monotonic()
        seen = len(self.samples)
        while time.monotonic() - started < DRAIN_TIMEOUT and app.alive:
            await asyncio.sleep(0.5)
            if len(self.samples) > seen and _drained(self.samples[-1], baseline):
                break
        last = self.samples[-1]
        return {
            "seconds": round(time.monotonic() - started, 1),
            **{key: last[key] for key in DRAIN_KEYS},
            "gui_threads": last["gui_threads"],
            "engine_threads": last["engine_threads"],
            "rss": last["rss"],
            "drained": _drained(last, baseline),
        }


def body_limit_for(config: SoakConfig) -> int | None:
    """The body memory limit to run the app with (None: its default). With
    ``auto``, the app's default when the warm-up alone brings twice that in
    bodies (so the cap is full well before the windows compared), otherwise
    ``SMALL_BODY_LIMIT``: 10 minutes at the default rates test the default
    (512 MiB), a 30-second run a 32 MiB cap."""
    if isinstance(config.body_memory_limit, int):
        return config.body_memory_limit
    if config.body_memory_limit == "app":
        return None
    default = getattr(ProxySettings(), "body_memory_limit", None)
    if default is None:
        return SMALL_BODY_LIMIT
    warmup_bodies = config.large_rate * LARGE_CAPTURED_MEAN * config.seconds * WARMUP_FRACTION
    return None if warmup_bodies >= 2 * default else SMALL_BODY_LIMIT


def max_flows_for(config: SoakConfig) -> int | None:
    """The flow cap to run the app with (None: its default). With ``auto``,
    a cap the traffic reaches in the first half of the warm-up, so that the
    windows compared both run at the cap: memory must then stay level, with
    no allowance for flows kept (10 minutes at the default rates: 15,000;
    a 30-second run: 1,000)."""
    if isinstance(config.max_flows, int):
        return config.max_flows
    if config.max_flows == "app":
        return None
    return max(MIN_MAX_FLOWS, int(config.rate * config.seconds * WARMUP_FRACTION / 2))


DRAIN_KEYS = {"engine_fds": DRAIN_FD_SLACK, "gui_fds": DRAIN_FD_SLACK}
DRAIN_KEYS["engine_tasks"] = DRAIN_TASK_SLACK
"""What must be back near the idle baseline after the drain, and how near."""


def _drained(sample: dict[str, Any], baseline: dict[str, Any]) -> bool:
    return all(
        sample[key] is not None and 0 <= sample[key] <= baseline[key] + slack
        for key, slack in DRAIN_KEYS.items()
    )


def _lane_stats(stats: LaneStats) -> dict[str, Any]:
    data = dataclasses.asdict(stats)
    data["kinds"] = dict(stats.kinds)
    return data


def _mem_available() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * KiB
    return 8192 * MiB


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# Evaluation.


def _flows_capped(final: dict[str, Any] | None, app_config: dict[str, Any]) -> Check:
    """Past the cap, the store holds exactly the cap, every flow ever made
    is either held or counted as dropped, and the table shows what the
    store holds: nothing silently lost, nothing shown that is gone."""
    cap = app_config.get("max_flows")
    if final is None or cap is None or final.get("flows_dropped") is None:
        return Check("flows capped", None, "the app has no flow cap")
    made, held, dropped = final["last_id"], final["flows"], final["flows_dropped"]
    if made <= cap:
        return Check("flows capped", None, f"{made} flows made, under the cap of {cap}")
    return Check(
        "flows capped",
        held == cap and held + dropped == made and final["rows"] == held,
        f"{made} flows made: {held} held (cap {cap}), {dropped} dropped and counted, "
        f"{final['rows']} table rows",
    )


STABLE = (
    ("engine_fds", FD_SLACK),
    ("gui_fds", FD_SLACK),
    ("engine_tasks", TASK_SLACK),
    ("gui_tasks", TASK_SLACK),
    ("engine_threads", THREAD_SLACK),
    ("gui_threads", THREAD_SLACK),
)
"""Per process: what must stay level between the middle and late windows."""


def evaluate(
    samples: list[dict[str, Any]],
    baseline: dict[str, Any],
    drain: dict[str, Any],
    final: dict[str, Any] | None,
    app_config: dict[str, Any],
    traffic: Traffic,
    config: SoakConfig,
    seconds: float,
) -> list[Check]:
    """The level-off criteria (see the module docstring) over the samples of
    the traffic phase; ``seconds`` is how long the traffic ran."""
    during = [s for s in samples if s["phase"] == "traffic"]
    warm = seconds * WARMUP_FRACTION
    split = warm + (seconds - warm) / 2
    middle = [s for s in during if warm <= s["t"] < split and s.get("engine_ok", True)]
    late = [s for s in during if s["t"] >= split and s.get("engine_ok", True)]
    checks: list[Check] = []
    if len(middle) < 2 or len(late) < 2:
        return [Check("samples", False, f"too few samples ({len(middle)} + {len(late)})")]

    def med(window: list[dict[str, Any]], key: str) -> float:
        return statistics.median([s[key] for s in window if s[key] is not None and s[key] >= 0])

    def other(sample: dict[str, Any]) -> int:
        """Both processes' RSS less the bodies the store counts (those have
        their own check)."""
        return int(sample["rss"] - (sample["body_bytes"] or 0))

    ok, errors, _ = traffic.totals()
    target = sum(lane.rate for lane in traffic.lanes) * seconds
    ratio = errors / max(ok + errors, 1)
    checks.append(
        Check(
            "traffic",
            ok >= MIN_RATE_FRACTION * target and ratio <= MAX_ERROR_RATIO and not traffic.crashes,
            f"{ok} requests ({ok / seconds:.0f}/s, target {target / seconds:.0f}/s), "
            f"{errors} failed ({ratio:.2%}), {len(traffic.crashes)} workers crashed",
        )
    )

    flows = med(late, "flows") - med(middle, "flows")
    growth = statistics.median(map(other, late)) - statistics.median(map(other, middle))
    allowed = RSS_SLACK + RSS_PER_FLOW * max(flows, 0)
    slope = _slope([s["flows"] for s in middle + late], [other(s) for s in middle + late])
    shares = [
        f"{name} {(med(late, key) - med(middle, key)) / MiB:+.1f} MiB"
        for name, key in (("GUI", "gui_rss"), ("engine", "engine_rss"))
        if all(key in s for s in middle + late)
    ]
    peak = max(s["rss"] for s in during if s["rss"] is not None)
    checks.append(
        Check(
            "rss levels off",
            growth <= allowed,
            f"median RSS of both processes less counted bodies, late - middle: "
            f"{growth / MiB:+.1f} MiB for {flows:+.0f} flows"
            + (f" ({', '.join(shares)} of RSS)" if shares else "")
            + f", allowed {allowed / MiB:.1f} MiB ({RSS_SLACK / MiB:.0f} MiB + "
            f"{RSS_PER_FLOW / KiB:.0f} KiB/flow); slope {slope / KiB:.1f} KiB/flow; "
            f"RSS max {peak / MiB:.0f} MiB",
        )
    )

    limit = app_config.get("body_memory_limit") or body_limit_for(config)
    held = (final or {}).get("bodies_held")
    counted = [s["body_bytes"] for s in late if s["body_bytes"] is not None]
    if limit is None:
        checks.append(Check("bodies bounded", None, "no body memory limit to check against"))
    else:
        worst = max([*counted, held or 0])
        checks.append(
            Check(
                "bodies bounded",
                worst <= limit + BODY_SLACK,
                f"the store's body_bytes: at most {worst / MiB:.1f} MiB, "
                f"limit {limit / MiB:.0f} MiB",
            )
        )
    dropped = (final or {}).get("bodies_dropped")
    if dropped is not None:
        # With a session file, bodies over the limit leave memory for it
        # instead of being dropped: the same policy at work.
        dropped += (final or {}).get("bodies_on_disk", 0)
    moved = sum(s.bytes_in + s.bytes_out for s in traffic.stats.values())
    if dropped is None:
        checks.append(Check("drops counted", None, "no final count from the engine"))
    elif limit is None or moved <= 2 * limit:
        checks.append(Check("drops counted", None, "too few bodies to fill the limit twice"))
    else:
        checks.append(
            Check(
                "drops counted",
                dropped > 0,
                f"{dropped} bodies dropped or moved to the session file by policy, "
                f"{moved / MiB:.0f} MiB of traffic",
            )
        )

    checks.append(_flows_capped(final, app_config))

    for key, slack in STABLE:
        values = [s[key] for s in during if s.get(key) is not None and s[key] >= 0]
        if not values:
            continue
        delta = med(late, key) - med(middle, key)
        checks.append(
            Check(
                f"{key} stable",
                delta <= slack,
                f"median late - middle {delta:+.0f} (allowed {slack}), "
                f"range {min(values)}-{max(values)}",
            )
        )
    checks.append(
        Check(
            "drain",
            bool(drain.get("drained")),
            f"after {drain.get('seconds')} s: "
            + ", ".join(f"{key} {drain.get(key)} (idle {baseline.get(key)})" for key in DRAIN_KEYS),
        )
    )

    gui = [lag for s in during for lag in s["gui_lag_ms"]]
    engine = [lag for s in during for lag in s["engine_lag_ms"]]
    stuck = sum(1 for s in during if not s.get("engine_ok", True))
    checks.append(
        Check(
            "loop lag",
            _pct(gui, 0.99) <= LAG_P99_LIMIT * 1e3
            and _pct(engine, 0.99) <= LAG_P99_LIMIT * 1e3
            and stuck <= 0.01 * len(during),
            f"GUI p50/p99/max {_pct(gui, 0.5):.1f}/{_pct(gui, 0.99):.1f}/{max(gui, default=0):.1f}"
            f" ms, engine p50/p99/max {_pct(engine, 0.5):.1f}/{_pct(engine, 0.99):.1f}/"
            f"{max(engine, default=0):.1f} ms, the engine did not answer "
            f"{stuck} of {len(during)} probes within {ENGINE_TIMEOUT:g} s",
        )
    )
    return checks


def _slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares dy/dx (0 when x does not vary)."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def report_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for name, lane in result["lanes"].items():
        lines.append(
            f"  {name:12} {lane['ok']:7d} ok {lane['errors']:4d} failed"
            f" {lane['connections']:6d} connections {lane['late']:5d} late"
            f" {lane['bytes_in'] / MiB:9.1f} MiB in"
            + (f"  {lane['messages'][0]}" if lane["messages"] else "")
        )
    for check in result["checks"]:
        mark = {True: "ok  ", False: "FAIL", None: "n/a "}[check["ok"]]
        lines.append(f"{mark} {check['name']}: {check['detail']}")
    return lines


def run_soak(config: SoakConfig, out: TextIO | None = sys.stdout) -> dict[str, Any]:
    """Run one soak; the result (``verdict``, ``checks``, ``samples``...)."""
    soak = Soak(config, out)
    result = asyncio.run(soak.run())
    for line in report_lines(result):
        soak.print(line)
    failed = [c["name"] for c in result["checks"] if c["ok"] is False]
    soak.print(
        f"soak {result['verdict']}: {config.seconds:.0f} s, "
        f"{(result['final'] or {}).get('flows', '?')} flows"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return result


def _body_limit_arg(text: str) -> int | str:
    return text if text in ("auto", "app") else int(float(text) * MiB)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--app"]:
        return app_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="traffic duration")
    parser.add_argument("--json", metavar="PATH", help="write the result here")
    parser.add_argument("--rate", type=float, default=200.0, help="small requests a second")
    parser.add_argument("--large-rate", type=float, default=3.0, help="large downloads a second")
    parser.add_argument(
        "--fault-rate", type=float, default=2.0, help="cancelled downloads and cut bodies a second"
    )
    parser.add_argument(
        "--body-memory-limit",
        type=_body_limit_arg,
        default="auto",
        metavar="MIB|app|auto",
        help="the app's body memory limit for the run: 'app' keeps its default, 'auto' "
        "(the default) keeps it when the warm-up fills it twice over, else uses 32 MiB",
    )
    parser.add_argument(
        "--body-capture-limit", type=float, metavar="MIB", help="bytes of each body kept"
    )
    parser.add_argument("--every", type=float, help="seconds between table rows")
    parser.add_argument("--rss-ceiling", type=float, metavar="MIB", help="stop early above this")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--patch",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE in the app and call its apply() first (to plant a leak)",
    )
    args = parser.parse_args(argv)
    config = SoakConfig(
        seconds=args.seconds,
        rate=args.rate,
        large_rate=args.large_rate,
        fault_rate=args.fault_rate,
        body_memory_limit=args.body_memory_limit,
        body_capture_limit=(
            None if args.body_capture_limit is None else int(args.body_capture_limit * MiB)
        ),
        every=args.every,
        rss_ceiling=None if args.rss_ceiling is None else int(args.rss_ceiling * MiB),
        seed=args.seed,
        patches=args.patch,
    )
    result = run_soak(config)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
