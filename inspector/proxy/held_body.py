"""A request body read ahead, before the request goes upstream: rules and
breakpoints judge and edit a request whole, then it is sent from memory.

``read_request_body`` reads it up to the capture limit (telling a
``100-continue`` client to go ahead); ``Buffered`` is the ``ClientSide``
that serves it again, from memory first, then whatever of it is still to
come from the client.
"""

from __future__ import annotations

import h11

from inspector.core.flow import Flow
from inspector.core.http_rules import find_header
from inspector.proxy.client_wrapper import ClientWrapper
from inspector.proxy.exchange import ClientSide


async def read_request_body(client: ClientSide, flow: Flow) -> tuple[list[bytes], bool]:
    """The request body, up to the capture limit: (chunks, whole)."""
    settings = client.ctx.settings
    if not client.body_unread:
        return [], True
    expect = find_header(flow.request.headers, b"expect")
    if expect is not None and expect.lower() == b"100-continue":
        data = client.send_informational(h11.InformationalResponse(status_code=100, headers=[]))
        if data:
            await client.send(data)
        # The body is read here now; the upstream is not asked to wait for it.
        flow.request.headers = [(n, v) for n, v in flow.request.headers if n.lower() != b"expect"]
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await client.next_body_event(settings.client_idle_timeout)
        if isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
            size += len(event.data)
            if size > settings.body_capture_limit:
                return chunks, False
        elif isinstance(event, h11.EndOfMessage):
            return chunks, True


class Buffered(ClientWrapper):
    """The client, with its request body (or the start of it) already
    read: served from memory first, then from the client."""

    def __init__(self, client: ClientSide, chunks: list[bytes], complete: bool) -> None:
        super().__init__(client)
        self._chunks = [c for c in chunks if c]
        self._complete = complete

    def finish_request_nowait(self) -> bool:
        return self._complete and not self._chunks

    async def next_body_event(self, timeout: float) -> h11.Event:
        if self._chunks:
            return h11.Data(data=self._chunks.pop(0))
        if self._complete:
            return h11.EndOfMessage()
        return await self._client.next_body_event(timeout)

    @property
    def body_unread(self) -> bool:
        return bool(self._chunks) or (not self._complete and self._client.body_unread)

    async def wait_readable(self) -> None:
        if self._chunks or self._complete:
            return
        await self._client.wait_readable()
