"""A ``ClientSide`` that hands everything to another one: the base of the
client sides that change one thing about a flow's client (its request
body served from memory, its bytes paced) and leave the rest as it is."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import h11

from inspector.proxy.context import EngineContext, TunnelContext
from inspector.proxy.exchange import ClientSide
from inspector.proxy.stream import ByteStream, Stream


class ClientWrapper:
    def __init__(self, client: ClientSide) -> None:
        self._client = client
        self.ctx: EngineContext = client.ctx
        self.tunnel: TunnelContext | None = client.tunnel

    @property
    def peername(self) -> tuple[str, int]:
        return self._client.peername

    def finish_request_nowait(self) -> bool:
        return self._client.finish_request_nowait()

    async def next_body_event(self, timeout: float) -> h11.Event:
        return await self._client.next_body_event(timeout)

    @property
    def body_unread(self) -> bool:
        return self._client.body_unread

    async def wait_readable(self) -> None:
        await self._client.wait_readable()

    def send_informational(self, event: h11.InformationalResponse) -> bytes | None:
        return self._client.send_informational(event)

    def start_response(self, event: h11.Response) -> bytes:
        return self._client.start_response(event)

    def frame(self, event: h11.Data | h11.EndOfMessage) -> bytes:
        return self._client.frame(event)

    async def send(self, data: bytes) -> None:
        await self._client.send(data)

    def hangup(self, callback: Callable[[], None]) -> AbstractContextManager[bool]:
        return self._client.hangup(callback)

    def upgraded(self) -> tuple[ByteStream, bytes]:
        return self._client.upgraded()

    async def take_over(self) -> Stream:
        return await self._client.take_over()

    async def serve_inner(self, stream: ByteStream, tunnel: TunnelContext) -> None:
        await self._client.serve_inner(stream, tunnel)
