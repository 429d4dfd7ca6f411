"""An engine serving one client over a socketpair, in this process: the
service an engine process runs, the client a window uses, and every batch
the client receives, decoded and applied to a row mirror as the window
applies it. Whether the client acknowledges batches is up to the test."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from inspector.core.certs import CertStore
from inspector.core.mirror import RowMirror
from inspector.core.naive_relay import NaiveRelay
from inspector.core.protocol import Message
from inspector.core.relay import Relay, RelayLimits
from inspector.core.rowbatch import RowBatch, batch_from_wire
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.core.summary import row_of, summarize
from inspector.link.channel import open_channel
from inspector.link.client import EngineClient
from inspector.proxy.batches import DEFAULT_BUDGET
from inspector.proxy.service import EngineService

SECRET = "0123456789abcdef" * 4
TIMEOUT = 30.0
"""Generous: the machine running the suite may be slow and busy."""


async def until(check: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {timeout:g} s: {what or 'condition'}")
        await asyncio.sleep(0.005)


@dataclass
class EnginePair:
    service: EngineService
    acking: bool = True
    client: EngineClient = field(init=False)
    batches: list[RowBatch] = field(default_factory=list)
    mirror: RowMirror = field(default_factory=RowMirror)
    acked: int = 0
    """The highest batch seq acknowledged."""
    cleared_through: int = 0

    @property
    def store(self) -> FlowStore:
        return self.service.store

    @property
    def unacked(self) -> int:
        """Batches received and not acknowledged."""
        return sum(1 for batch in self.batches if batch.seq > self.acked)

    async def request(self, op: str, **args: Any) -> Any:
        return await self.client.request(op, **args)

    async def start(self) -> int:
        """Start the proxy; returns its port."""
        result = await self.request("start")
        return int(result["address"].rsplit(":", 1)[1])

    def ack(self) -> None:
        """Acknowledge every batch received so far."""
        if self.batches and self.batches[-1].seq > self.acked:
            self.acked = self.batches[-1].seq
            self.client.ack(self.acked)

    def on_batch(self, message: Message) -> None:
        batch = batch_from_wire(message)
        self.batches.append(batch)
        self.apply(batch)
        if self.acking:
            self.ack()

    def apply(self, batch: RowBatch) -> None:
        """As the window applies a batch: what left first, then the rows."""
        mirror = self.mirror
        if batch.cleared_through > self.cleared_through:
            self.cleared_through = batch.cleared_through
            mirror.forget_through(batch.cleared_through)
        for flow_id in batch.deleted:
            mirror.remove(flow_id)
        if batch.dropped_through >= mirror.first_id:
            mirror.forget_through(batch.dropped_through)
        mirror.apply(batch.rows, batch.through)

    def expected(self) -> dict[int, Any]:
        """Every flow in the store as its row would show it now."""
        return {flow.id: row_of(summarize(flow)) for flow in self.store}

    def shown(self) -> dict[int, Any]:
        return {row.id: row for row in self.mirror.rows()}

    async def caught_up(self, timeout: float = TIMEOUT) -> None:
        """Wait until every flow is finished and the mirror shows each
        one's final row, and nothing else."""

        def done() -> bool:
            flows = list(self.store)
            return all(f.finished for f in flows) and self.shown() == self.expected()

        await until(done, timeout, "the mirror shows the store")


@contextlib.asynccontextmanager
async def engine_pair(
    *,
    acking: bool = True,
    budget: int = DEFAULT_BUDGET,
    flush_interval: float = 0.01,
    naive: bool = False,
    limits: RelayLimits | None = None,
    certs: CertStore | None = None,
    **settings: Any,
) -> AsyncIterator[EnginePair]:
    store = FlowStore()
    relay: Relay | NaiveRelay = (
        NaiveRelay(limits or RelayLimits()) if naive else Relay(limits or RelayLimits())
    )
    proxy = ProxySettings(listen_host="127.0.0.1", listen_port=0)
    for name, value in settings.items():
        setattr(proxy, name, value)
    service = EngineService(
        store, relay, proxy, certs, flush_interval=flush_interval, budget=budget
    )
    pair = EnginePair(service, acking)
    window_end, engine_end = socket.socketpair()
    channel = await open_channel(engine_end, service.handle, "window channel")
    serving = asyncio.get_running_loop().create_task(service.run(channel, SECRET))
    pair.client = EngineClient(pair.on_batch, name="test")
    try:
        await pair.client.connect(window_end, SECRET)
        yield pair
    finally:
        pair.client.close()
        await asyncio.wait_for(serving, TIMEOUT)
