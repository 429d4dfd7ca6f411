"""What forwarding and tunnels see of the client's connection.

``ClientSide`` is the narrow interface ``forward.py`` and ``tunnel.py`` use
instead of reaching into the client connection's parser and stream: read
the rest of the request, answer (1xx, the response head, body frames),
send bytes, notice the client hanging up, and for a tunnel take the raw
stream over. ``client.ClientConnection`` implements it; tests may give a
double. Nothing here imports the client connection, so the modules that
use this import none of each other.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

import h11

from inspector.proxy.context import EngineContext, TunnelContext
from inspector.proxy.stream import ByteStream, Stream


class ClientSide(Protocol):
    ctx: EngineContext
    tunnel: TunnelContext | None
    """Set for the HTTP spoken inside a CONNECT tunnel."""

    @property
    def peername(self) -> tuple[str, int]: ...

    # The request

    def finish_request_nowait(self) -> bool:
        """Consume the rest of the request if it is already here; True when
        the request is complete."""
        ...

    async def next_body_event(self, timeout: float) -> h11.Event:
        """The next request body event (data, end of message). Raises
        ClientGone, or ClientError on a malformed body or a silent client."""
        ...

    @property
    def body_unread(self) -> bool:
        """The request body has not been read (yet, or ever)."""
        ...

    async def wait_readable(self) -> None:
        """Return once the client sent something (or closed)."""
        ...

    # The answer

    def send_informational(self, event: h11.InformationalResponse) -> bytes | None:
        """The bytes of a 1xx answer, or None when the client cannot take
        one (HTTP/1.0)."""
        ...

    def start_response(self, event: h11.Response) -> bytes:
        """The bytes of the response head (h11.LocalProtocolError when it
        cannot be sent as it is)."""
        ...

    def frame(self, event: h11.Data | h11.EndOfMessage) -> bytes:
        """The bytes of a piece of the response body, or of its end."""
        ...

    async def send(self, data: bytes) -> None:
        """Write to the client, waiting for room; ClientGone if it left."""
        ...

    def hangup(self, callback: Callable[[], None]) -> AbstractContextManager[bool]:
        """While inside, ``callback`` runs if the client hangs up. Yields
        False when the client is already gone (nothing is watched)."""
        ...

    def upgraded(self) -> tuple[ByteStream, bytes]:
        """After a 101 went out: the client's stream (TLS inside an
        intercepted tunnel) and the bytes it sent after the request that
        the parser already read."""
        ...

    # Tunnels

    async def take_over(self) -> Stream:
        """Tell the client the tunnel is established and hand over the raw
        stream, with whatever it sent after the CONNECT put back in front.
        Raises ClientGone."""
        ...

    async def serve_inner(self, stream: ByteStream, tunnel: TunnelContext) -> None:
        """Serve the HTTP spoken inside a tunnel, on ``stream``."""
        ...
