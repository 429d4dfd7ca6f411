"""Composition root without Qt: the engine on a plain asyncio loop.

Events go through the same relay the desktop app uses, drained here every
``DRAIN_INTERVAL`` seconds: finished flows are printed one line each, and
with ``--stats`` the relay's metrics are printed once per interval. With
``--relay naive`` every event is handled the moment it is emitted, on the
request path, as the benchmark baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from inspector.core import gcpolicy
from inspector.core.ca import CAError
from inspector.core.certs import CertStore
from inspector.core.config import config_dir
from inspector.core.events import Event, FlowFailed, FlowFinished
from inspector.core.filter import FlowFilter
from inspector.core.flow import authority
from inspector.core.format import flow_line
from inspector.core.hostmatch import HostPatterns
from inspector.core.memory import pin_mmap_threshold
from inspector.core.naive_relay import NaiveRelay
from inspector.core.relay import Batch, Relay, RelayLimits
from inspector.core.relay_metrics import RelayStats
from inspector.core.rules_file import warnings
from inspector.core.session import SessionError
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.proxy.control import ControlServer
from inspector.proxy.errors import ListenError
from inspector.proxy.server import ProxyServer
from inspector.proxy.service import EngineService
from inspector.proxy.session_writer import SessionWriter

DRAIN_INTERVAL = 0.1


def stats_line(stats: RelayStats, store: FlowStore | None = None) -> str:
    """``stats depth=N hwm=N emitted=N delivered=N coalesced=N dropped=N
    flush_p99_ms=X lag_ms=Y`` followed by more fields; with ``store``, the
    flows held and those dropped at the cap last."""
    held = f" flows={len(store)} flows_dropped={store.flows_dropped}" if store is not None else ""
    classes = (stats.critical, stats.flow, stats.low)
    return (
        f"stats depth={stats.depth} hwm={stats.high_water}"
        f" emitted={sum(c.emitted for c in classes)}"
        f" delivered={sum(c.delivered for c in classes)}"
        f" coalesced={sum(c.coalesced for c in classes)}"
        f" dropped={sum(c.dropped for c in classes)}"
        f" flush_p99_ms={stats.flush_p99 * 1000:.2f} lag_ms={stats.lag_last * 1000:.1f}"
        f" eps={stats.events_per_second:.0f} resyncs={stats.resyncs}"
        f" flow_dropped={stats.flow.dropped} low_dropped={stats.low.dropped}"
        f"{held}"
    )


class FlowPrinter:
    """Prints each finished flow once, from relay batches or single events."""

    def __init__(
        self, store: FlowStore, out: TextIO, quiet: bool, only: FlowFilter | None = None
    ) -> None:
        self.store = store
        self.out = out
        self.quiet = quiet
        self.only = only
        """Print only the flows this matches (``--filter``)."""
        self._printed: set[int] = set()
        self._scan_from = 1
        """No flow below this id is left unprinted and unfinished."""

    def apply(self, batch: Batch) -> None:
        if batch.resync:
            ids: list[int] = [f.id for f in self.store.range(self._scan_from, self.store.last_id)]
        else:
            ids = list(batch.changed_ids)
        self._print(ids)

    def on_event(self, event: Event) -> None:
        """Naive relay callback: handle one event now, on the request path."""
        if isinstance(event, FlowFinished | FlowFailed):
            self._print([event.flow_id])

    def _print(self, ids: list[int]) -> None:
        lines = []
        for flow_id in ids:
            if flow_id in self._printed:
                continue
            flow = self.store.get(flow_id)
            if flow is None or not flow.finished:
                continue
            self._printed.add(flow_id)
            if not self.quiet and (self.only is None or self.only.matches_flow(flow)):
                lines.append(flow_line(flow))
        if lines:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
        self._advance()

    def _advance(self) -> None:
        # Keep the printed set small: forget ids below the lowest flow that
        # is still in flight (or unprinted).
        last = self.store.last_id
        while self._scan_from <= last:
            flow = self.store.get(self._scan_from)
            if flow is not None and self._scan_from not in self._printed:
                break
            self._printed.discard(self._scan_from)
            self._scan_from += 1


async def run(
    settings: ProxySettings,
    quiet: bool = False,
    out: TextIO = sys.stdout,
    stats_interval: float | None = None,
    relay_kind: str = "coalescing",
    confdir: Path | None = None,
    relay_capacity: int | None = None,
    session_path: Path | None = None,
    only: FlowFilter | None = None,
    control: Path | None = None,
    rules: list[dict[str, Any]] | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM; return the process exit status.
    Control clients reach the engine at ``control`` (default: this
    process's socket in the control directory)."""
    gcpolicy.install()
    pin_mmap_threshold()
    writer: SessionWriter | None = None
    if session_path is not None:
        try:
            writer = SessionWriter.open(session_path, settings.session_max_bytes)
        except (SessionError, OSError) as exc:
            print(f"inspector: --session: {exc}", file=sys.stderr)
            return 2
    certs = load_certs(settings, confdir or config_dir())
    # A session continued keeps its flows: new ids come after its last.
    first_id = writer.last_id if writer is not None else 0
    store = FlowStore(settings.body_memory_limit, settings.max_flows, start_after=first_id)
    store.ws_memory_limit = settings.ws_memory_limit
    printer = FlowPrinter(store, out, quiet, only)
    limits = RelayLimits()
    if relay_capacity is not None:
        limits = RelayLimits(max_pending_flow_ids=relay_capacity)
    relay: Relay | NaiveRelay = (
        NaiveRelay(limits, printer.on_event) if relay_kind == "naive" else Relay(limits)
    )
    server = ProxyServer(
        settings, store, relay, certs=certs, ignore=HostPatterns.parse(settings.ignore_hosts)
    )
    # The service answers control clients; it never serves a window here,
    # so it sends no batches and leaves the relay to the printer.
    # What control clients learn of the CA in the hello (``inspector launch``
    # trusts it in the clients it starts), as the app's engine says it.
    ca = (
        {
            "path": str(certs.ca_cert_path),
            "pem": certs.ca_cert_pem().decode("ascii"),
            "fingerprint": certs.ca_fingerprint(),
        }
        if certs is not None
        else {}
    )
    service = EngineService(store, relay, settings, certs, writer=writer, ca=ca)
    if rules:
        service.breakpoints.rules.replace(rules)
        service.rules_changed()
        for line in warnings(service.breakpoints.rules.to_wire()):
            print(f"inspector: warning: {line}", file=sys.stderr)
    if writer is not None:
        server.ctx.recorder.on_settled = writer.settled
        try:
            await writer.start()
        except OSError as exc:
            print(f"inspector: --session: cannot start its writer: {exc}", file=sys.stderr)
            return 2
    if settings.insecure_upstream:
        print(
            "inspector: warning: upstream certificates are not verified (--insecure-upstream)",
            file=sys.stderr,
        )
    try:
        host, port = await server.start()
    except ListenError as exc:
        print(f"inspector: {exc}", file=sys.stderr)
        if writer is not None:
            await writer.close()
        return 2
    service.server = server
    print(f"listening on {authority(host, port)}", file=out, flush=True)
    controls = ControlServer(service, control)
    controls.start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    next_stats = loop.time() + stats_interval if stats_interval else None
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), DRAIN_INTERVAL)
            if isinstance(relay, Relay):
                _drain(relay, printer)
            if next_stats is not None and loop.time() >= next_stats:
                print(stats_line(relay.snapshot(), store), file=out, flush=True)
                next_stats += stats_interval or 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await controls.close()
        # Stops listening (the server a control client started, too), ends
        # the requests in flight and closes the session writer.
        await service.close()
        if isinstance(relay, Relay):
            while not (batch := relay.drain()).empty:
                printer.apply(batch)
        if certs is not None:
            certs.close()
        if writer is not None and writer.failed:
            print(f"inspector: the session file: {writer.failed}", file=sys.stderr)
    return 0


def load_certs(settings: ProxySettings, confdir: Path) -> CertStore | None:
    """The CA for interception (created on first start), or None when
    interception is off or the CA is unusable (said on stderr: HTTPS then
    passes through undecrypted, nothing else changes)."""
    if not settings.intercept_tls:
        return None
    try:
        return CertStore.load_or_create(confdir)
    except CAError as exc:
        print(f"inspector: {exc}; HTTPS will pass through undecrypted", file=sys.stderr)
        return None


def _drain(relay: Relay, printer: FlowPrinter) -> None:
    started = time.perf_counter()
    batch = relay.drain()
    if batch.empty:
        return
    printer.apply(batch)
    relay.record_flush(time.perf_counter() - started)
