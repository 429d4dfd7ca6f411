"""The engine's end of the protocol: commands in, batches and replies out.

One ``EngineService`` owns the engine's state (the store, the relay, the
CA, the listening server) and is the only code that changes it, all on the
engine's loop: commands from the window (start, stop, configure, clear,
delete) run here in the order they arrive, so nothing mutates the store
from anywhere else. Reads (a flow's details, a body range) are answered at
once, without a task.

Batches go out under a credit window: at most ``CREDIT`` unacknowledged
batches at a time, at most one per ``flush_interval``. A window that is
slow, or stopped outright, stops acknowledging; the engine then sends
nothing and the relay coalesces (DESIGN.md, "The relay"), so the engine
neither waits on the window nor buffers for it without bound.

The window's end closing (it quit, crashed or was killed) ends the
service: it stops listening and returns from ``run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from inspector.core import protocol, wire
from inspector.core.events import CriticalEvent, Event, FlowEvent, LowEvent
from inspector.core.flow import authority
from inspector.core.hostmatch import HostPatternError, HostPatterns
from inspector.core.naive_relay import NaiveRelay
from inspector.core.protocol import Message, ProtocolError, field
from inspector.core.relay import LowAggregate, Relay
from inspector.core.rules_file import write_rules
from inspector.core.settings import ProxySettings, RelaySettings, check_settings
from inspector.core.store import FlowStore
from inspector.link.channel import ChannelClosed, FrameChannel
from inspector.proxy.batches import DEFAULT_BUDGET, BatchBuilder
from inspector.proxy.breakpoints import Breakpoints
from inspector.proxy.compose import FlowSend
from inspector.proxy.context import ServerContexts
from inspector.proxy.diagnostics import LagMonitor, census, process_figures
from inspector.proxy.errors import ListenError
from inspector.proxy.flow_list import FlowList
from inspector.proxy.flow_reads import FlowReads
from inspector.proxy.replay import FlowReplay
from inspector.proxy.search import FlowSearch
from inspector.proxy.server import ProxyServer
from inspector.proxy.session_reader import SessionReader
from inspector.proxy.session_writer import SessionWriter
from inspector.proxy.tasks import TaskSet

log = logging.getLogger(__name__)

CREDIT = 1
"""Batches the window may have unacknowledged. One: the window acknowledges
after applying a batch and pacing itself, so the engine's next batch comes
exactly when the window is ready for it; meanwhile the relay coalesces."""
LISTEN_FIELDS = ("listen_host", "listen_port", "allow_remote")
"""Settings that only a new listening socket can apply."""

CLIENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
"""What ``listen_tagged`` takes as a client name (a filter word, a column)."""

Handler = Callable[[dict[str, Any]], Any]
Reply = Callable[[Any, str | None], None]
"""Takes a request's result, or the error text that refused it."""


class EngineService:
    def __init__(
        self,
        store: FlowStore,
        relay: Relay | NaiveRelay,
        settings: ProxySettings,
        certs: ServerContexts | None = None,
        *,
        flush_interval: float = 0.033,
        budget: int = DEFAULT_BUDGET,
        ca: dict[str, Any] | None = None,
        writer: SessionWriter | None = None,
        reader: SessionReader | None = None,
    ) -> None:
        self.store = store
        self.writer = writer
        """Records finished flows to the session file, when there is one."""
        self.reader = reader
        """A session opened to look at: its flows, and no listening."""
        self.bodies: SessionWriter | SessionReader | None = writer or reader
        """Where bodies that left memory are read back from."""
        if writer is not None:
            writer.attach(store)
        self.relay = relay
        self.settings = settings
        self.certs = certs
        self.ca = ca or {}
        """What the window shows of the CA (path, PEM, fingerprint, or an error)."""
        self.flush_interval = flush_interval
        self.batches = BatchBuilder(store, relay, budget)
        self.breakpoints = Breakpoints(relay)
        """The rules (breakpoints included), kept across stops and starts."""
        self.breakpoints.on_change = self.rules_changed
        self._server: ProxyServer | None = None
        self.tasks = TaskSet()
        self.channel: FrameChannel | None = None
        self._credit = CREDIT
        self._credit_back = asyncio.Event()
        self._stopping = False
        self._handlers: dict[str, Handler] = {
            "ping": lambda args: {"time": time.time()},
            "status": self._status,
            "start": self._start,
            "stop": self._stop,
            "configure": self._configure,
            "clear": self._clear,
            "delete": self._delete,
            **FlowReads(self).handlers,
            "search": FlowSearch(self.store),
            "flows": FlowList(self),
            "replay": FlowReplay(self),
            "send": FlowSend(self),
            "shutdown": self._shutdown,
            "diagnostics": self._diagnostics,
            "listen_tagged": self._listen_tagged,
            **self.breakpoints.handlers,
        }
        self.lag = LagMonitor()
        self.tagged: dict[str, int] = {}
        """Launched clients' names and their tagged ports, opened again on
        the same ports when the proxy starts again."""

    def rules_changed(self) -> None:
        """The session file keeps the rules in effect."""
        if self.writer is not None:
            self.writer.set_meta("rules", write_rules(self.breakpoints.rules.to_wire()))

    @property
    def server(self) -> ProxyServer | None:
        return self._server

    @server.setter
    def server(self, server: ProxyServer | None) -> None:
        """The listening server; its flows meet this engine's breakpoints."""
        self._server = server
        if server is not None:
            server.ctx.breakpoints = self.breakpoints

    # Running

    def hello(self, secret: str) -> Message:
        """The first message on a new channel."""
        return {
            "t": "hello",
            "v": protocol.VERSION,
            "secret": secret,
            "pid": os.getpid(),
            "ca": self.ca,
            "first_id": self.store.last_id + 1,
            "session": str(self.writer.path) if self.writer is not None else None,
            "opened": str(self.reader.path) if self.reader is not None else None,
        }

    async def run(self, channel: FrameChannel, secret: str) -> None:
        """Serve ``channel`` until it closes; then stop listening."""
        self.channel = channel
        self._send(self.hello(secret))
        if isinstance(self.relay, NaiveRelay):
            self.relay.set_callback(self._send_event)
        pump = self.tasks.spawn(self._pump(), name="batches")
        if self.writer is not None:
            try:
                await self.writer.start()
            except OSError as exc:
                log.error("not recording to %s: %s", self.writer.path, exc)
                self.writer.failed = str(exc)
        if self.reader is not None:
            self.tasks.spawn(self.reader.load(self.store), name="session load")
        lag = self.tasks.spawn(self.lag.run(), name="lag-monitor")
        try:
            await channel.closed
        finally:
            pump.cancel()
            lag.cancel()
            if isinstance(self.relay, NaiveRelay):
                self.relay.set_callback(None)
            await self.close()

    async def close(self) -> None:
        """Stop listening and end every task (the engine is going away)."""
        self._stopping = True
        server, self.server = self.server, None
        if server is not None:
            await server.stop()
        await self.tasks.cancel_all(timeout=1.0)
        if self.writer is not None:
            await self.writer.close()
        if self.reader is not None:
            await self.reader.close()

    def handle(self, message: Message) -> None:
        """A message from the window (the channel's ``on_message``)."""
        kind = message["t"]
        if kind == "ack":
            field(message, "seq", int)
            self._credit = min(self._credit + 1, CREDIT)
            self._credit_back.set()
        elif kind == "req":
            self._request(message)
        else:
            raise ProtocolError(f"unexpected message {kind!r}")

    def _request(self, message: Message) -> None:
        request_id = field(message, "id", int)
        self.answer(message, lambda result, error: self._reply(request_id, result, error))

    def answer(self, message: Message, reply: Reply, denied: frozenset[str] = frozenset()) -> None:
        """Run the request ``message`` and give its outcome to ``reply``
        (now, or once the command is done). Ops in ``denied`` are refused:
        what a control client may not do."""
        op, args = message.get("op"), message.get("args", {})
        # With an id it can be answered: a wrong field gets an error reply
        # (docs/protocol.md), only an unanswerable message closes the channel.
        if not isinstance(op, str):
            reply(None, "a request needs 'op' as str")
            return
        if not isinstance(args, dict):
            reply(None, f"'{op}' arguments are not a map")
            return
        handler = self._handlers.get(op)
        if handler is None:
            reply(None, f"unknown request {op!r}")
            return
        if op in denied:
            reply(None, f"'{op}' is not allowed on a control connection")
            return
        try:
            result = handler(args)
        except (ProtocolError, ValueError, LookupError) as exc:
            reply(None, str(exc))
            return
        if isinstance(result, Awaitable):
            self.tasks.spawn(self._finish(reply, op, result), name=f"request-{op}")
        else:
            reply(result, None)

    async def _finish(self, reply: Reply, op: str, pending: Awaitable[Any]) -> None:
        try:
            result = await pending
        except (ListenError, ProtocolError, ValueError, LookupError) as exc:
            reply(None, str(exc))
        except Exception as exc:
            log.exception("request %s failed", op)
            reply(None, f"internal error: {exc!r}")
        else:
            reply(result, None)

    def _reply(self, request_id: int, result: Any = None, error: str | None = None) -> None:
        message: Message = {"t": "reply", "id": request_id, "ok": error is None}
        if error is None:
            message["result"] = result
        else:
            message["error"] = error
        self._send(message)

    def _send(self, message: Message) -> None:
        channel = self.channel
        if channel is not None and channel.is_open:
            with contextlib.suppress(ChannelClosed):
                channel.send(message)

    # Batches

    async def _pump(self) -> None:
        builder = self.batches
        while True:
            await asyncio.sleep(self.flush_interval)
            while self._credit <= 0:
                self._credit_back.clear()
                await self._credit_back.wait()
            if builder.due:
                self._credit -= 1
                self._send(builder.build())

    def _send_event(self, event: Event) -> None:
        """The naive relay's callback: every event goes out as it happens,
        credit or not (the benchmark's "before" picture)."""
        message: Message = {
            "t": "batch",
            "critical": [],
            "low": [],
            "resync": False,
            "deleted": [],
            "cleared_through": 0,
            "dropped_through": self.store.dropped_through,
        }
        if isinstance(event, CriticalEvent):
            message["critical"] = [wire.critical_to_wire(event)]
        elif isinstance(event, LowEvent):
            message["low"] = [
                wire.aggregate_to_wire(LowAggregate(event.kind, event.key, 1, event, 0))
            ]
        flow_id = event.flow_id if isinstance(event, FlowEvent) else 0
        self._send(self.batches.single(message, flow_id))

    # Requests

    def _status(self, args: dict[str, Any]) -> dict[str, Any]:
        server = self.server
        return {
            "listening": server is not None and server.running,
            "address": authority(*server.address) if server is not None and server.running else "",
            "connections": server.connection_count if server is not None else 0,
            "last_id": self.store.last_id,
            **self.batches.store_counters(),
        }

    async def _start(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.reader is not None:
            raise ValueError("a session opened from a file does not listen")
        if self.server is None:
            server = ProxyServer(
                self.settings,
                self.store,
                self.relay,
                certs=self.certs,
                ignore=_patterns(self.settings.ignore_hosts),
            )
            server.ctx.breakpoints = self.breakpoints
            if self.writer is not None:
                server.ctx.recorder.on_settled = self.writer.settled
            await server.start()
            self.server = server
            await self._reopen_tagged(server)
        return {"address": authority(*self.server.address)}

    async def _reopen_tagged(self, server: ProxyServer) -> None:
        """The launched clients' ports again, so a browser left running
        across a stop (or a new listen address) finds its proxy back."""
        for name, port in list(self.tagged.items()):
            try:
                await server.listen_tagged(name, port)
            except ListenError as exc:
                log.warning("client %s: %s", name, exc)
                del self.tagged[name]

    async def _listen_tagged(self, args: dict[str, Any]) -> dict[str, Any]:
        """A port of its own for the launched client ``name``: flows that
        arrive on it are tagged with the name (``Flow.client_name``)."""
        name = field(args, "name", str, "listen_tagged")
        if not CLIENT_NAME.fullmatch(name):
            raise ValueError(f"a client name is 1 to 32 letters, digits, '.', '_' or '-': {name!r}")
        server = self.server
        if server is None or not server.running:
            raise ValueError("the proxy is not running")
        try:
            address = await server.listen_tagged(name, self.tagged.get(name, 0))
        except ListenError:
            if not self.tagged.get(name):
                raise
            address = await server.listen_tagged(name)  # its old port was taken
        self.tagged[name] = address[1]
        return {"address": authority(*address)}

    async def _stop(self, args: dict[str, Any]) -> dict[str, Any]:
        server, self.server = self.server, None
        if server is not None:
            await server.stop()
        return {}

    def _configure(self, args: dict[str, Any]) -> Awaitable[dict[str, Any]] | dict[str, Any]:
        """Apply settings as a whole: only a change of the listening address
        restarts the listener; everything else applies to the next request,
        tunnel or connection, with open connections left alone."""
        new = wire.settings_from_wire(ProxySettings, args.get("proxy", {}))
        relay = wire.settings_from_wire(RelaySettings, args.get("relay", {}))
        ignore = _patterns(new.ignore_hosts)
        # A refused configure changes nothing: what can refuse runs first.
        check_settings(new, relay)
        if isinstance(self.relay, Relay):
            self.relay.set_capacity(relay.capacity)
        old = self.settings
        restart = self.server is not None and any(
            getattr(old, name) != getattr(new, name) for name in LISTEN_FIELDS
        )
        tls_changed = (old.insecure_upstream, old.upstream_ca_file) != (
            new.insecure_upstream,
            new.upstream_ca_file,
        )
        for name in ProxySettings.__dataclass_fields__:
            setattr(old, name, getattr(new, name))
        self.store.body_memory_limit = new.body_memory_limit
        self.store.ws_memory_limit = new.ws_memory_limit
        self.store.set_max_flows(new.max_flows)
        if self.writer is not None:
            self.writer.set_limit(new.session_max_bytes)
        self.flush_interval = relay.flush_interval_ms / 1000
        server = self.server
        if server is not None:
            server.ctx.ignore = ignore
            if tls_changed:
                server.ctx.pool.reset_tls()
        if restart:
            return self._restart()
        return {"address": authority(*server.address) if server is not None else ""}

    async def _restart(self) -> dict[str, Any]:
        await self._stop({})
        return await self._start({})

    def _clear(self, args: dict[str, Any]) -> dict[str, Any]:
        self.store.clear()
        self.batches.cleared()
        if self.writer is not None:
            self.tasks.spawn(self.writer.clear(self.store.last_id), name="session clear")
        return {"cleared_through": self.store.last_id}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        ids = field(args, "ids", (list, tuple), "delete")
        if not all(type(i) is int for i in ids):
            raise ProtocolError("'delete' takes a list of flow ids")
        deleted = [flow_id for flow_id in ids if self.store.delete(flow_id)]
        self.batches.deleted(deleted)
        if self.writer is not None:
            self.tasks.spawn(self.writer.delete(list(ids)), name="session delete")
        return {"deleted": deleted}

    def _diagnostics(self, args: dict[str, Any]) -> dict[str, Any]:
        """The engine process and loop as they are now; with ``census``,
        every flow counted too (a full pass over the store)."""
        result = {
            **process_figures(),
            "tasks": len(asyncio.all_tasks()),
            "loop_lag_ms": self.lag.take(),
            "relay_depth": self.relay.depth,
            **self.batches.store_counters(),
        }
        if args.get("census"):
            result["census"] = census(self.store)
        return result

    async def _shutdown(self, args: dict[str, Any]) -> dict[str, Any]:
        await self._stop({})
        channel = self.channel
        if channel is not None:
            # After this reply goes out: the window waits for it.
            asyncio.get_running_loop().call_soon(channel.close, "shut down on request")
        return {}


def _patterns(text: str) -> HostPatterns:
    try:
        return HostPatterns.parse(text)
    except HostPatternError as exc:
        raise ValueError(f"invalid ignored hosts: {exc}") from None
