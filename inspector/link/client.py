"""The one client of the engine protocol: the window, the tests and scripts
all drive an engine through ``EngineClient``.

``connect`` takes over a connected socket, waits for the engine's
``hello`` and checks its protocol version and, when one is given, the
secret the engine was started with (compared in constant time).
``request`` sends a command or a read and awaits its reply (an
``EngineError`` carries a refusal). Batches go to ``on_batch`` in the order
they arrive; each must be acknowledged with ``ack`` before the engine sends
more than its credit window. Qt-free: it runs on any asyncio loop, qasync's
included.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import socket
from collections.abc import Callable
from typing import Any

from inspector.core import protocol
from inspector.core.protocol import Message, ProtocolError, field
from inspector.link.channel import ChannelClosed, FrameChannel, open_channel

HELLO_TIMEOUT = 15.0
"""A new engine must say hello within this long (it loads the CA first)."""


class EngineError(Exception):
    """The engine refused a request; the message says why."""


class EngineClient:
    def __init__(
        self, on_batch: Callable[[Message], None] | None = None, name: str = "engine"
    ) -> None:
        self.on_batch = on_batch
        self.name = name
        self.hello: Message = {}
        self._channel: FrameChannel | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._hello: asyncio.Future[Message] | None = None

    async def connect(
        self, sock: socket.socket, secret: str | None = None, timeout: float = HELLO_TIMEOUT
    ) -> Message:
        """Take over ``sock`` and wait for the engine's hello; returns it.
        Raises ProtocolError (wrong version or secret, no hello in time)."""
        self._hello = asyncio.get_running_loop().create_future()
        self._channel = await open_channel(sock, self._on_message, f"{self.name} channel")
        self._channel.closed.add_done_callback(self._on_closed)
        try:
            hello = await asyncio.wait_for(asyncio.shield(self._hello), timeout)
        except TimeoutError:
            self.close("no hello from the engine")
            raise ProtocolError(f"the engine said nothing within {timeout:g} s") from None
        except ChannelClosed as exc:
            raise ProtocolError(f"the engine closed the channel: {exc}") from None
        if hello.get("v") != protocol.VERSION:
            self.close("protocol version mismatch")
            raise ProtocolError(
                f"the engine speaks protocol {hello.get('v')!r}, this window {protocol.VERSION}"
            )
        if secret is not None:
            offered = hello.get("secret")
            if not isinstance(offered, str) or not hmac.compare_digest(
                offered.encode(), secret.encode()
            ):
                self.close("wrong secret")
                raise ProtocolError("the engine did not present the expected secret")
        self.hello = hello
        return hello

    @property
    def connected(self) -> bool:
        return self._channel is not None and self._channel.is_open

    @property
    def closed(self) -> asyncio.Future[str]:
        """Resolves with the reason once the channel is closed."""
        if self._channel is None:
            raise RuntimeError("not connected")
        return self._channel.closed

    @property
    def close_reason(self) -> str:
        return self._channel.close_reason if self._channel is not None else ""

    async def request(self, op: str, **args: Any) -> Any:
        """Send request ``op`` and return its result. Raises EngineError when
        the engine refuses it, ChannelClosed when the channel closes first."""
        channel = self._channel
        if channel is None:
            raise ChannelClosed("not connected")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            channel.send({"t": "req", "id": request_id, "op": op, "args": args})
            return await future
        finally:
            self._pending.pop(request_id, None)

    def ack(self, seq: int) -> None:
        """Acknowledge batch ``seq``: the engine may send another."""
        if self._channel is not None and self._channel.is_open:
            with contextlib.suppress(ChannelClosed):
                self._channel.send({"t": "ack", "seq": seq})

    def close(self, reason: str = "closed by the client") -> None:
        if self._channel is not None:
            self._channel.close(reason)

    # Incoming

    def _on_message(self, message: Message) -> None:
        kind = message["t"]
        if kind == "reply":
            request_id = field(message, "id", int)
            future = self._pending.get(request_id)
            if future is None or future.done():
                return  # the caller gave up waiting (cancelled)
            if message.get("ok") is True:
                future.set_result(message.get("result"))
            else:
                future.set_exception(EngineError(str(message.get("error", "refused"))))
        elif kind == "batch":
            field(message, "seq", int)
            if self.on_batch is not None:
                self.on_batch(message)
        elif kind == "hello":
            if self._hello is not None and not self._hello.done():
                self._hello.set_result(message)
        else:
            raise ProtocolError(f"unexpected message {kind!r}")

    def _on_closed(self, closed: asyncio.Future[str]) -> None:
        reason = closed.result()
        error = ChannelClosed(reason)
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(error)
            self._hello.exception()  # retrieved: nobody may be waiting any more
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ChannelClosed(reason))
        self._pending.clear()
