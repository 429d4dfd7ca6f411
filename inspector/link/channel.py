"""A message channel over one connected stream socket (asyncio protocol).

Both ends of the engine protocol use it: bytes in are cut into messages by
``core.protocol.FrameReader`` and handed to ``on_message`` in order;
``send`` frames a message and writes it. A frame that breaks the protocol
closes the channel, with the reason logged and kept in ``close_reason``:
a bad peer costs its own connection, never the process.

Writing never waits: the protocol's own credit window bounds what the
engine sends, and ``write_buffer`` says how much is waiting in the kernel's
stead, for whoever wants to hold back further.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from inspector.core.protocol import FrameReader, Message, ProtocolError, encode

log = logging.getLogger(__name__)


class ChannelClosed(ConnectionError):
    """The channel is closed; nothing more can be sent."""


class FrameChannel(asyncio.Protocol):
    def __init__(self, on_message: Callable[[Message], None], name: str = "channel") -> None:
        self._on_message = on_message
        self.name = name
        self._reader = FrameReader()
        self._transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        """Resolves with the reason once the channel is closed, for whatever reason."""
        self.close_reason = ""

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._reader.feed(data)
        except ProtocolError as exc:
            self.close(f"protocol error: {exc}")
            return
        for message in messages:
            if self.closed.done():
                return
            try:
                self._on_message(message)
            except ProtocolError as exc:
                self.close(f"protocol error: {exc}")
                return

    def eof_received(self) -> bool:
        self._finish("the other end closed the channel")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(f"connection lost: {exc}" if exc else "the other end closed the channel")
        self._transport = None

    # Sending and closing

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self.closed.done()

    @property
    def write_buffer(self) -> int:
        transport = self._transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def send(self, message: Message) -> None:
        transport = self._transport
        if transport is None or self.closed.done():
            raise ChannelClosed(self.close_reason or "the channel is closed")
        transport.write(encode(message))

    def close(self, reason: str = "closed") -> None:
        """Close now (what was written is still flushed)."""
        first = not self.closed.done()
        self._finish(reason)
        if first and reason.startswith("protocol error"):
            log.warning("%s: %s; closing it", self.name, reason)
        if self._transport is not None:
            self._transport.close()

    def _finish(self, reason: str) -> None:
        if not self.closed.done():
            self.close_reason = reason
            self.closed.set_result(reason)


async def open_channel(
    sock: socket.socket, on_message: Callable[[Message], None], name: str = "channel"
) -> FrameChannel:
    """A channel over the connected stream socket ``sock`` (which it takes over)."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    channel = FrameChannel(on_message, name)
    await loop.connect_accepted_socket(lambda: channel, sock)
    return channel
