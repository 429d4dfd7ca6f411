"""The ``throttle`` action: a flow's bytes paced to a bandwidth each way,
with backpressure.

``Throttled`` wraps the flow's ``ClientSide``: what goes down to the
client (``send``) and the request body as it is read from the client
(``next_body_event``, which is what goes up) pass through a ``Pacer``,
one per direction, that lets a slice of bytes go only when the rate allows.
The exchange's own task waits, so the flow slows down end to end (the
upstream, unread, waits too) and no other flow is touched. Latency is
added once per exchange, before the request goes upstream, as Charles
does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import h11

from inspector.core.rule_actions import Throttle
from inspector.proxy.client_wrapper import ClientWrapper
from inspector.proxy.exchange import ClientSide

SLICE_SECONDS = 0.02
"""Bytes go in slices worth this long at the rate, so pacing stays smooth."""
MIN_SLICE = 512


class Pacer:
    """Lets ``rate`` bytes a second through, a slice at a time."""

    def __init__(self, kbps: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = kbps * 1000 / 8
        self.slice = max(MIN_SLICE, int(self.rate * SLICE_SECONDS))
        self._clock = clock
        self._next = clock()
        self.waited = 0.0
        """Seconds spent holding bytes back (proxy time, ``core.timing``)."""

    def pieces(self, data: bytes) -> list[bytes]:
        view = memoryview(data)
        return [bytes(view[i : i + self.slice]) for i in range(0, len(data), self.slice)]

    async def take(self, size: int) -> None:
        """Wait until ``size`` more bytes may go. A wake-up that came late
        (a busy loop) is made up for, by at most one slice's time, so the
        rate holds without bursting after an idle spell."""
        now = self._clock()
        start = max(now - SLICE_SECONDS, self._next)
        self._next = start + size / self.rate
        if start > now:
            self.waited += start - now
            await asyncio.sleep(start - now)


class Throttled(ClientWrapper):
    """The client side of a throttled flow."""

    def __init__(self, client: ClientSide, action: Throttle) -> None:
        super().__init__(client)
        self.action = action
        self._down = Pacer(action.down_kbps) if action.down_kbps else None
        self._up = Pacer(action.up_kbps) if action.up_kbps else None

    @property
    def paced(self) -> float:
        """Seconds the pacing held bytes back, both ways."""
        return sum(p.waited for p in (self._down, self._up) if p is not None)

    async def latency(self) -> None:
        if self.action.latency_ms:
            await asyncio.sleep(self.action.latency_ms / 1000)

    async def send(self, data: bytes) -> None:
        pacer = self._down
        if pacer is None:
            await self._client.send(data)
            return
        for piece in pacer.pieces(data):
            await pacer.take(len(piece))
            await self._client.send(piece)

    async def next_body_event(self, timeout: float) -> h11.Event:
        event = await self._client.next_body_event(timeout)
        if self._up is not None and isinstance(event, h11.Data):
            await self._up.take(len(event.data))
        return event
